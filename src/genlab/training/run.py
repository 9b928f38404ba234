"""Train a named model from params: build it, resume or start, fit, write the final model file."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import torch

from genlab.config import ConfigError, ModelConfig, Params, TrainConfig, as_dict, parse_section
from genlab.data.batches import InMemoryBatches
from genlab.data.prepare import load_split, read_manifest
from genlab.io import load_torch, save_torch, write_json
from genlab.models import MODELS
from genlab.models.base import GenerativeModel
from genlab.nn.stacks import count_parameters
from genlab.training import device as devices
from genlab.training import distributed
from genlab.training.checkpoint import fingerprint
from genlab.training.loop import fit
from genlab.training.seed import seed_everything

log = logging.getLogger(__name__)


def build_model(name: str, cfg, model: ModelConfig, train: TrainConfig, shape, num_classes: int) -> GenerativeModel:
    return MODELS[name].build(cfg, model, train, tuple(shape), num_classes)


def model_steps(cfg, train: TrainConfig) -> int:
    """A model's step count: its own ``steps`` when set (a budget for the default pipeline), capped by
    ``train.steps`` so that ``-S train.steps=20`` still turns every model into a smoke run."""
    own = getattr(cfg, "steps", 0)
    return min(own, train.steps) if own else train.steps


@dataclass
class TrainingRun:
    """A model built from params, ready for :func:`fit`: what ``train`` runs and ``bench`` times."""

    name: str
    cfg: object  # the model's own params section
    model: GenerativeModel
    batches: InMemoryBatches
    train: TrainConfig
    fingerprint: str
    images: torch.Tensor
    num_classes: int
    device: torch.device
    world: distributed.World = distributed.World()


def setup_run(name: str, params: Params, prepared: Path) -> TrainingRun:
    """Select and configure the device, load the training split, seed, build model ``name`` and its batches.

    Under torchrun this process joins the data-parallel group first (its GPU is ``cuda:LOCAL_RANK``), starts
    from rank 0's weights and draws its own noise: rank 0 continues the single-process stream, rank r > 0
    is reseeded with seed + r after the networks are built."""
    world = distributed.world_from_env()
    device = devices.select_device(params.device, world)
    devices.configure(device, world)
    distributed.init(world, device)
    manifest = read_manifest(prepared)
    images, labels = load_split(prepared, "train")
    seed_everything(params.seed)
    cfg = params.model_config(name)
    train = replace(params.train, steps=model_steps(cfg, params.train))
    model = build_model(name, cfg, params.model, train, images.shape[1:], manifest["num_classes"]).to(device)
    devices.prepare_model(model, params.train)
    train = replace(train, steps=model.total_steps)  # a model with its own schedule (pggan) may need fewer
    if world.size > 1:
        check_data_parallel(model.batch_sizes(), world.size)
        distributed.broadcast_module(model)
        if world.rank > 0:
            torch.manual_seed(params.seed + world.rank)
    # What must match to resume: everything that shapes the weights, but not the cadences, nor how the same
    # maths is laid out and compiled, nor (with a constant lr) the step count, so raising train.steps continues
    # a finished run. Precision counts as the resolved autocast dtype, and only when it is not fp32; clipping
    # and the process count only when they are on (so checkpoints from before these keys still resume).
    ignored = ("log_every", "checkpoint_every", "compile", "channels_last", "precision", "nproc", "on_nonfinite",
               "max_grad_norm") + (("steps",) if train.lr_schedule == "constant" else ())
    run = {"name": name, "seed": params.seed, "cfg": {k: v for k, v in as_dict(cfg).items() if k not in ignored},
           "model": as_dict(params.model), "train": {k: v for k, v in as_dict(train).items() if k not in ignored},
           "data": manifest["splits"]["train"]["images_sha256"], "device": device.type}
    dtype = devices.autocast_dtype(train, device)
    if dtype is not None:
        run["autocast"] = str(dtype)
    if train.max_grad_norm > 0:
        run["max_grad_norm"] = train.max_grad_norm
    if world.size > 1:
        run["processes"] = world.size
    if model.schedule_key() is not None:
        run["schedule"] = model.schedule_key()
    batches = InMemoryBatches(images, labels, train.batch_size, params.seed, device, world.rank, world.size)
    return TrainingRun(name, cfg, model, batches, train, fingerprint(run), images, manifest["num_classes"], device,
                       world)


def check_data_parallel(batch_sizes, processes: int) -> None:
    """Every global batch size of the run must split evenly over the processes."""
    for size in sorted(batch_sizes):
        if size % processes:
            raise ConfigError(f"train.nproc: {processes} processes cannot split a batch of {size} images evenly; "
                              f"use batch sizes divisible by {processes} (train.batch_size, or the model's own)")


def train_model(name: str, params: Params, prepared: Path, out_dir: Path, ckpt_dir: Path, live_dir: Path,
                on_step: Callable[[int], None] | None = None) -> dict:
    """Train model ``name`` on the prepared data; writes ``out_dir/model.pt`` and ``out_dir/train.json``
    (rank 0 only, under torchrun)."""
    r = setup_run(name, params, prepared)
    model, train, device, images = r.model, r.train, r.device, r.images
    summary = fit(model, r.batches, train, ckpt_dir, live_dir, r.fingerprint, name, on_step, r.world)
    # Leave the group only after a finished run: a process that fails exits at once, and torchrun then stops the
    # others (waiting at a barrier here would hang them inside their next all-reduce).
    distributed.finish()
    meta = {"model": name, "steps": summary["steps"], "images_seen": summary["images_seen"],
            "train_seconds": round(summary["train_seconds"], 2), "parameters": count_parameters(model),
            "device": str(device)}
    if r.world.size > 1:
        meta["processes"] = r.world.size
    if summary["skipped_updates"]:
        meta["skipped_updates"] = summary["skipped_updates"]
    if not r.world.is_main:
        return meta
    model.after_training(images)
    meta.update(model.run_summary(summary["history"]))
    save_torch(out_dir / "model.pt", {
        "name": name, "cfg": as_dict(r.cfg), "model": as_dict(params.model),
        "train": as_dict(train), "shape": list(images.shape[1:]), "num_classes": r.num_classes,
        "weights": model.state_dict(), "meta": meta})
    write_json(out_dir / "train.json", meta)
    return meta


def load_model(path: Path, device: torch.device) -> tuple[GenerativeModel, dict]:
    """Rebuild a trained model from its ``model.pt`` (weights-only load) -> (model in eval mode, meta)."""
    ck = load_torch(path)
    name = ck["name"]
    cfg = parse_section(MODELS[name].config, ck["cfg"], name)
    model = build_model(name, cfg, parse_section(ModelConfig, ck["model"], "model"),
                        parse_section(TrainConfig, ck["train"], "train"), ck["shape"], ck["num_classes"])
    model.load_state_dict(ck["weights"])
    return model.to(device).eval(), ck["meta"]
