"""Before and after the fast paths: a model's training images/s with each one switched off, in one process.

    python benchmarks/fast_paths.py [model ...]      # after `dvc repro prepare` (needs data/prepared)

Rows, each timed over --steps steps after --steps warm-up steps, in --rounds interleaved rounds (median kept),
so a drifting machine affects every row alike:
  all fast paths        what `genlab train` runs
  - fused Adam          torch.optim.Adam(foreach=False, fused=False): one kernel launch per parameter tensor
  - no per-step sync    float() of every returned loss after every step (a host sync per step)
  - in-memory batches   a torch DataLoader over a TensorDataset of float images (the usual input path)
  - rand-mask dropout   torch.nn.Dropout instead of genlab's mask from torch.rand (models with dropout)
  - all cores           torch.set_num_threads(1)
  none (before)         every switch above off at once
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from genlab.data.tensors import to_unit
from genlab.device import cpu_cores
from genlab.metrics.config import EvalConfig
from genlab.models.registry import load
from genlab.nn.stacks import Dropout
from genlab.training.loop import run_step
from genlab.training.run import setup_run

ROOT = Path(__file__).resolve().parents[1]
SWITCHES = ("fused Adam", "no per-step sync", "in-memory batches", "rand-mask dropout", "all cores")


def build(name: str, params, off: set[str]):
    run = setup_run(name, params, ROOT / "data/prepared")
    model, opt = run.model, run.optimization
    if "fused Adam" in off:
        for key, o in opt.optimizers.items():
            groups = [{k: v for k, v in g.items() if k not in ("fused", "foreach")} for g in o.param_groups]
            opt.optimizers[key] = torch.optim.Adam(groups, foreach=False, fused=False)
    if "rand-mask dropout" in off:
        for parent in model.modules():
            for child_name, child in parent.named_children():
                if isinstance(child, Dropout):
                    setattr(parent, child_name, nn.Dropout(child.p))
    if "in-memory batches" in off:
        data = TensorDataset(to_unit(run.images), torch.zeros(len(run.images), dtype=torch.long))
        loader = DataLoader(data, batch_size=run.train.batch_size, shuffle=True, drop_last=True)

        def batches():
            while True:
                for x, y in loader:
                    yield x.to(run.device), y.to(run.device)
        source = batches()
        next_batch = lambda step: next(source)  # noqa: E731
    else:
        next_batch = None
    sync = "no per-step sync" in off
    threads = 1 if "all cores" in off else cpu_cores()
    state = {"step": 0}

    def steps(n: int) -> float:
        torch.set_num_threads(threads)
        model.train()
        t0 = time.perf_counter()
        for _ in range(n):
            if next_batch is None:  # the loop's own step: in-memory batches (and a growth clock)
                out = run_step(model, opt, run.batches, state["step"], contextlib.nullcontext())[1]
            else:
                out = opt.step(*next_batch(state["step"]))
            if sync:
                {k: float(v) for k, v in out.items()}
            state["step"] += 1
        return n * run.train.batch_size / (time.perf_counter() - t0)
    return steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", default=["vae", "gan"])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    params = load(ROOT / "params.yaml", sections={"eval": EvalConfig})
    print("| model | configuration | images/s | vs all fast paths |\n|---|---|---|---|")
    for name in args.models:
        configs = {"all fast paths": set(), **{f"- {s}": {s} for s in SWITCHES}, "none (before)": set(SWITCHES)}
        runners = {label: build(name, params, off) for label, off in configs.items()}
        for run in runners.values():
            run(args.steps)  # warm-up
        speeds = {label: [] for label in runners}
        for _ in range(args.rounds):
            for label, run in runners.items():
                speeds[label].append(run(args.steps))
        best = statistics.median(speeds["all fast paths"])
        for label, values in speeds.items():
            v = statistics.median(values)
            print(f"| {name} | {label} | {v:.0f} | {v / best:.2f} |", flush=True)
        torch.set_num_threads(cpu_cores())


if __name__ == "__main__":
    main()
