"""Train a named model from params: build it and its optimization, resume or start, fit, write the model file."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

import torch

from genlab import memory, provenance
from genlab.config import ConfigError, Params, TrainConfig, as_dict, shaping_keys
from genlab.device import configure, cpu_cores, seed_everything, select_device
from genlab.data.batches import InMemoryBatches
from genlab.data.prepare import load_split, read_manifest
from genlab.io import checked, read_checked, require_types, save_torch, sha256, write_json
from genlab.models.base import GenerativeModel
from genlab.models.file import read_model_file
from genlab.models.registry import ModelSpec, as_spec, build_model, family_module, model_keys
from genlab.nn.stacks import count_parameters
from genlab.training import distributed
from genlab.training.checkpoint import fingerprint
from genlab.training.loop import Grows, fit
from genlab.training.optimization import Optimization
from genlab.training.precision import autocast_dtype, prepare_model

log = logging.getLogger(__name__)

#: the layout of checkpoints (weights, optimizers and lr schedules by phase); part of every fingerprint
CHECKPOINT_FORMAT = 2
STATE = "state.pt"  # beside model.pt: the training state a run that continues this one starts from


@runtime_checkable
class FitsAfterTraining(Protocol):
    """A model that fits something to the training data once training ends (the AE's Gaussian over its codes)."""

    def after_training(self, images: torch.Tensor) -> None: ...


def model_steps(cfg, train: TrainConfig) -> int:
    """A model's step count: its own ``steps`` when set (a budget for the default pipeline), capped by
    ``train.steps`` so that ``-S train.steps=20`` still turns every model into a smoke run."""
    own = getattr(cfg, "steps", 0)
    return min(own, train.steps) if own else train.steps


def batch_sizes(model: GenerativeModel, train: TrainConfig) -> set[int]:
    """Every global minibatch size of the run: the growth schedule's, or ``train.batch_size``."""
    if isinstance(model, Grows):
        return {seg.batch_size for seg in model.schedule.segments}
    return {train.batch_size}


def code(family: str) -> dict:
    """The code a model of ``family`` trains with (the ``train`` stage's process with the family's module), as
    {digest, files}: a checkpoint resumes only under the code that wrote it, and ``data/specs`` holds it so that
    DVC retrains a model when its own code changes, and no other."""
    return provenance.describe_code(provenance.stage_closure("train", family_module(family)))



@dataclass
class TrainingRun:
    """A model built from params with its optimization, ready for :func:`fit`: what ``train`` runs and ``bench``
    times."""

    name: str
    cfg: object  # the model's own params section
    model: GenerativeModel
    optimization: Optimization
    batches: InMemoryBatches
    train: TrainConfig
    fingerprint: str
    images: torch.Tensor
    num_classes: int
    device: torch.device
    world: distributed.World = distributed.World()
    begin: dict | None = None  # where a run that continues another starts: {"step", "images", "rng"}
    dataset: str = ""  # the prepared data's name (its manifest's "dataset")


def continue_run(model: GenerativeModel, optimization: Optimization, family: str, name: str,
                 start: Path) -> tuple[dict, str]:
    """Load the trained run in folder ``start`` (its model.pt and state.pt) into ``model`` and ``optimization``;
    a growing model's schedule then starts where that run's ended. Returns (begin, digest of the two files)."""
    fix = f"retrain it (dvc repro train@{start.name})"
    previous, state = read_model_file(start / "model.pt"), read_checked(start / STATE, "state", fix)
    if previous["family"] != family:
        raise ConfigError(f"models.{name}.start: {start} holds a {previous['family']}, not a {family}; start from a "
                          f"{family}")
    with checked(start / STATE, fix):
        require_types(state, {"optimization": dict, "step": int, "images": int})
        model.load_state_dict(previous["weights"])
        optimization.continue_from(state["optimization"])
    if isinstance(model, Grows):
        if state["last_level"] != model.first_level - 1:
            raise ConfigError(f"models.{name}.start: {start} trained up to {4 * 2 ** state['last_level']}x"
                              f"{4 * 2 ** state['last_level']}, but this phase grows to {4 * 2 ** model.first_level}; "
                              "start from the phase just below")
        model.continue_growth(state["step"], state["images"])
    return ({"step": state["step"], "images": state["images"], "rng": state["rng"]},
            sha256({"model": sha256(start / "model.pt"), "state": sha256(start / STATE)}))


def setup_run(spec: ModelSpec | str, params: Params, prepared: Path, start: Path | None = None) -> TrainingRun:
    """Select and configure the device, load the training split, seed, build model ``name``, its optimization
    and its batches; with ``start`` (a trained model's folder), continue that run.

    Under torchrun this process joins the data-parallel group first (its GPU is ``cuda:LOCAL_RANK``), starts
    from rank 0's weights and draws its own noise: rank 0 continues the single-process stream, rank r > 0
    is reseeded with seed + r after the networks are built."""
    world = distributed.world_from_env()
    device = select_device(params.device, world.local_rank, world.local_size)
    configure(device, world.local_size)
    distributed.init(world, device, params.train.dist_timeout)
    manifest = read_manifest(prepared)
    images, labels = load_split(prepared, "train")
    seed_everything(params.seed)
    spec = as_spec(params, spec)
    name, cfg, family = spec.name, spec.config, spec.family
    steps = model_steps(cfg, params.train)
    check_machine(spec, params, images.shape[1:], manifest["num_classes"], images.nbytes + labels.nbytes, device)
    model = build_model(family, cfg, params.model, images.shape[1:], manifest["num_classes"], steps).to(device)
    prepare_model(model, params.train)
    optimization = Optimization(model, replace(params.train, steps=steps))
    begin, start_digest = continue_run(model, optimization, family, name, start) if start else (None, None)
    # a model with its own schedule (pggan) ends where its schedule does
    train = replace(params.train, steps=model.schedule.total_steps if isinstance(model, Grows) else steps)
    if world.size > 1:
        check_data_parallel(batch_sizes(model, train), world.size)
        distributed.broadcast_module(model)
        if world.rank > 0:
            torch.manual_seed(params.seed + world.rank)
    # What must match to resume: everything that shapes the weights (the code included), but not the cadences,
    # nor how the same maths is laid out and compiled, nor (with a constant lr) the step count, so raising
    # train.steps continues a finished run. Precision counts as the resolved autocast dtype, and only when it is
    # not fp32; clipping and the process count only when they are on.
    ignored = tuple(k for k in as_dict(train) if k not in shaping_keys(TrainConfig)) + ("precision", "nproc", "nnodes", "on_nonfinite", "max_grad_norm") + (
        ("steps",) if train.lr_schedule == "constant" else ())
    run = {"name": name, "seed": params.seed, "cfg": {k: v for k, v in as_dict(cfg).items() if k not in ignored},
           "model": {k: getattr(params.model, k) for k in model_keys(spec)}, "train": {k: v for k, v in as_dict(train).items() if k not in ignored},
           "data": manifest["splits"]["train"]["images_sha256"], "device": device.type,
           "format": CHECKPOINT_FORMAT, "code": code(family)["digest"]}
    dtype = autocast_dtype(train, device)
    if dtype is not None:
        run["autocast"] = str(dtype)
    if train.max_grad_norm > 0:
        run["max_grad_norm"] = train.max_grad_norm
    if world.size > 1:
        run["processes"] = world.size
    if isinstance(model, Grows):
        run["schedule"] = model.schedule.describe()
    if start_digest is not None:
        run["start"] = start_digest
    batches = InMemoryBatches(images, labels, train.batch_size, params.seed, device, world.rank, world.size)
    return TrainingRun(name, cfg, model, optimization, batches, train, fingerprint(run), images,
                       manifest["num_classes"], device, world, begin, manifest["dataset"])


def check_phases(params: Params, spec: ModelSpec | str) -> None:
    """The phases of a growing family (models whose config has a ``resolution``) must each start from the phase
    just below and grow 4x4 up to the data's side (``data.resolution``, padded up to a power of two): one line naming
    the model and the fix otherwise."""
    spec = as_spec(params, spec)
    name, entry, cfg = spec.name, params.entry(spec.name), spec.config
    if not getattr(cfg, "resolution", 0):
        return
    side = max(4, 1 << (params.data.resolution - 1).bit_length())
    phases = {n: params.model_config(n).resolution for n, e in params.models.items() if e.family == entry.family}
    if max(phases.values()) != side:
        raise ConfigError(f"models: the {entry.family} phases grow to {max(phases.values())}x{max(phases.values())}, but "
                          f"the data are {side}x{side} (data.resolution {params.data.resolution}); give the phases "
                          f"resolutions 4, 8, ..., {side}")
    below = next((n for n, r in phases.items() if r == cfg.resolution // 2), None)
    if cfg.resolution == 4 and entry.previous is None:
        return
    if below is None or entry.previous != below:
        raise ConfigError(f"models.{name}.start: a {cfg.resolution}x{cfg.resolution} phase starts from the "
                          f"{cfg.resolution // 2}x{cfg.resolution // 2} one; set start: models/{below or '<that phase>'}")


def check_machine(spec: ModelSpec | str, params: Params, shape, num_classes: int, data: int, device: torch.device,
                  processes: int = 1) -> None:
    """Before anything is built: refuse (one line) a run whose ``processes`` outnumber the GPUs or whose memory
    (estimated from the params, :mod:`genlab.memory`) exceeds what ``device`` has free; ``data``: bytes of the
    training split."""
    spec = as_spec(params, spec)
    memory.check_processes(processes, device, cpu_cores())

    def build(p: Params) -> GenerativeModel:
        cfg = p.model_config(spec.name)
        return build_model(spec.family, cfg, p.model, shape, num_classes, model_steps(cfg, p.train))

    memory.check_training(build, params, spec.name, data, device, processes)


def check_launch(spec: ModelSpec, params: Params, prepared: Path) -> None:
    """:func:`check_machine` for the ``train.nproc`` processes torchrun is about to start (from the manifest)."""
    manifest = read_manifest(prepared)
    n, *shape = manifest["splits"]["train"]["shape"]
    check_machine(spec, params, shape, manifest["num_classes"], n * (math.prod(shape) + 8), select_device(params.device),
                  params.train.nproc)


def check_data_parallel(sizes, processes: int) -> None:
    """Every global batch size of the run must split evenly over the processes."""
    for size in sorted(sizes):
        if size % processes:
            raise ConfigError(f"train.nproc: {processes} processes cannot split a batch of {size} images evenly; "
                              f"use batch sizes divisible by {processes} (train.batch_size, or the model's own)")


def growth_summary(model: GenerativeModel, history: list[dict]) -> dict:
    """For a growing model, train.json's ``grows`` (the resolution this run reached; ``final`` when it is the
    data's) and ``phases``: steps, images and wall time of every segment of its schedule (times from the logged
    ``train_seconds``, to the nearest logged step)."""
    if not isinstance(model, Grows):
        return {}
    first = model.schedule.start_step

    def clock(step: int) -> float | None:  # train_seconds at the first logged step >= step
        return 0.0 if step <= first else next((r.get("train_seconds") for r in history if r["step"] >= step), None)

    phases = []
    for seg in model.schedule.describe():
        t0, t1 = clock(seg["start"]), clock(seg["start"] + seg["steps"])
        phases.append({**seg, "seconds": None if t0 is None or t1 is None else round(t1 - t0, 1)})
    last = model.schedule.segments[-1]
    return {"grows": {"resolution": last.resolution, "final": model.schedule.last == model.schedule.levels - 1},
            "phases": phases}


def train_model(spec: ModelSpec | str, params: Params, prepared: Path, out_dir: Path, ckpt_dir: Path, live_dir: Path,
                on_step: Callable[[int], None] | None = None, start: Path | None = None) -> dict:
    """Train model ``name`` on the prepared data, from scratch or continuing the trained run in folder ``start``;
    writes ``out_dir/model.pt`` (what evaluation loads), ``out_dir/state.pt`` (what a continuing run starts
    from) and ``out_dir/train.json`` (under torchrun: the first process of each machine)."""
    spec = as_spec(params, spec)
    name = spec.name
    r = setup_run(spec, params, prepared, start)
    model, train, device, images = r.model, r.train, r.device, r.images
    summary = fit(model, r.optimization, r.batches, train, ckpt_dir, live_dir, r.fingerprint, name, on_step, r.world,
                  r.begin)
    # Leave the group only after a finished run: a process that fails exits at once, and torchrun then stops the
    # others (waiting at a barrier here would hang them inside their next all-reduce).
    distributed.finish()
    family = spec.family
    meta = {"model": name, "family": family, "dataset": r.dataset, "steps": summary["steps"],
            "images_seen": summary["images_seen"],
            "width": getattr(model, "h", None), "z": getattr(model, "z", None),  # hidden width and latent size
            "train_seconds": round(summary["train_seconds"], 2), "parameters": count_parameters(model),
            "device": str(device), "precision": str(autocast_dtype(train, device) or "fp32").removeprefix("torch."),
            "tf32": device.type == "cuda" and torch.backends.cuda.matmul.allow_tf32}
    if r.world.size > 1:
        meta["processes"] = r.world.size
    if summary["skipped_updates"]:
        meta["skipped_updates"] = summary["skipped_updates"]
    if not r.world.is_main:
        return meta
    if isinstance(model, FitsAfterTraining):
        model.after_training(images)
    meta.update(growth_summary(model, summary["history"]))
    save_torch(out_dir / "model.pt", {
        "name": name, "family": family, "cfg": as_dict(r.cfg), "model": as_dict(params.model), "train": as_dict(train),
        "steps": model.steps, "shape": list(images.shape[1:]), "num_classes": r.num_classes,
        "weights": model.state_dict(), "meta": meta}, kind="model")
    state = {"optimization": r.optimization.state_dict(), "rng": summary["rng"], "step": summary["steps"],
             "images": summary["images_seen"]}
    if isinstance(model, Grows):
        state["last_level"] = model.last_level
    save_torch(out_dir / STATE, state, kind="state")
    write_json(out_dir / "train.json", meta)
    return meta
