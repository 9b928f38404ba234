"""Time one model at its params: training images/s, FLOPs per trained image, MFU, peak memory, eval samples/s.

Each model runs in a fresh process (:func:`bench_all`), so peak RSS on the CPU is that model's own and one
model's allocations cannot slow the next. The timed steps are the *last* ``warmup + steps`` of the model's
schedule, so a growing model (Progressive GAN) is timed at its final resolution.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import resource
import time
from dataclasses import replace
from pathlib import Path

import torch

from genlab.bench.flops import count_flops, matmul_flops_per_s, synchronize
from genlab.config import Params
from genlab.device import cpu_cores
from genlab.training.precision import autocast, autocast_dtype
from genlab.training.loop import run_step


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory so far: CUDA's max_memory_allocated on a GPU, else this process's peak RSS."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def time_training(run, warmup: int, steps: int) -> dict:
    """images/s over ``steps`` optimizer steps after ``warmup`` untimed ones, and FLOPs per trained image."""
    model, batches, device = run.model, run.batches, run.device
    start = max(0, run.train.steps - warmup - steps)
    precision = autocast(run.train, device)
    model.train()

    def one(step: int) -> int:
        return run_step(model, run.optimization, batches, step, precision)[0]

    sizes: list[int] = []
    flops = count_flops(lambda: sizes.append(one(start)))  # the first warm-up step, counted
    for s in range(start + 1, start + warmup):
        one(s)
    synchronize(device)
    images, t0 = 0, time.perf_counter()
    for s in range(start + warmup, start + warmup + steps):
        images += one(s)
    synchronize(device)
    seconds = time.perf_counter() - t0
    return {"train_images_per_s": images / seconds, "train_step_ms": 1000 * seconds / steps,
            "train_flops_per_image": flops / sizes[0], "timed_steps": steps, "batch_size": sizes[0]}


def time_evaluation(run, scoring, images: torch.Tensor, labels: torch.Tensor, n: int, batch_size: int,
                    seed: int) -> dict:
    """samples/s of generation + domain feature extraction + FID/KID/PR/IS for ``n`` samples (reference cached)."""
    from genlab.data.tensors import to_unit
    from genlab.metrics.evaluate import samplers_of
    from genlab.metrics.scoring import generate

    model, device = run.model, run.device
    model.eval()
    sampler = next(iter(samplers_of(model, to_unit(images.to(device)), labels.to(device)).values()))
    synchronize(device)
    t0 = time.perf_counter()
    fake = generate(sampler, n, batch_size, seed, device)
    scoring(fake, domain_only=True)
    seconds = time.perf_counter() - t0
    return {"eval_samples_per_s": n / seconds, "eval_seconds": seconds, "eval_samples": n}


def bench_model(name: str, params: Params, prepared: Path, classifier: Path, steps: int, warmup: int,
                eval_samples: int, matmul_n: int = 2048) -> dict:
    """Every number of one model (run this in its own process for a clean peak RSS)."""
    from genlab.data.prepare import load_split
    from genlab.metrics.scoring import Scoring
    from genlab.nn.stacks import count_parameters
    from genlab.training.run import setup_run

    run = setup_run(name, params, prepared)
    rss_before = peak_memory_mb(run.device)
    dtype = autocast_dtype(run.train, run.device) or torch.float32  # of the training steps' matmuls
    out = {"model": name, "device": str(run.device), "parameters": count_parameters(run.model),
           "precision": "bf16" if dtype == torch.bfloat16 else "fp32", **time_training(run, warmup, steps)}
    out["peak_memory_mb"] = peak_memory_mb(run.device)
    out["train_tflops_per_s"] = out["train_images_per_s"] * out["train_flops_per_image"] / 1e12
    # MFU against the peak measured right after the timed steps (a shared machine's speed drifts between
    # models), in the dtype the matmuls ran in (bf16 under autocast, else fp32: TF32 on CUDA)
    out["matmul_tflops_per_s"] = matmul_flops_per_s(run.device, matmul_n, dtype) / 1e12
    out["mfu"] = out["train_tflops_per_s"] / out["matmul_tflops_per_s"]
    out["memory_before_train_mb"] = rss_before
    if eval_samples:
        images, labels = load_split(prepared, "test")
        ev = replace(params.eval, extractor="domain")
        scoring = Scoring(images, classifier, ev, run.device)  # the real features: computed once, then cached
        out.update(time_evaluation(run, scoring, images, labels, eval_samples, ev.batch_size, params.seed))
    return out


def bench_all(models: list[str], params: Params, prepared: Path, classifier: Path, steps: int, warmup: int,
              eval_samples: int, matmul_n: int = 2048, isolate: bool = True) -> dict:
    """The machine's matmul FLOP/s, then :func:`bench_model` for each model (each in a fresh process)."""
    from genlab.device import configure, select_device

    device = select_device(params.device)
    configure(device)
    peak = matmul_flops_per_s(device, matmul_n)
    machine = {"device": str(device), "device_name": device_name(device), "cpu_cores": cpu_cores(),
               "torch": torch.__version__, "matmul_n": matmul_n, "matmul_tflops_per_s": peak / 1e12}
    rows = []
    for name in models:
        args = (name, params, prepared, classifier, steps, warmup, eval_samples, matmul_n)
        if not isolate:
            rows.append(bench_model(*args))
            continue
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            rows.append(pool.submit(bench_model, *args).result())
    return {"machine": machine, "models": rows}


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()
