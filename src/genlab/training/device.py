"""Device selection from the ``device`` param: ``auto`` picks CUDA whenever it is present."""

from __future__ import annotations

import contextlib
import os

import torch
from torch import nn

from genlab.config import ConfigError, TrainConfig
from genlab.training.distributed import World


def select_device(name: str = "auto", world: World = World()) -> torch.device:
    """Map ``auto | cpu | cuda | cuda:N | mps`` onto an available :class:`torch.device`; a data-parallel
    process on CUDA gets its own GPU, ``cuda:LOCAL_RANK``."""
    if world.size > 1 and (name == "auto" or name.startswith("cuda")) and torch.cuda.is_available():
        if world.local_size > torch.cuda.device_count():
            raise ConfigError(f"train.nproc: {world.local_size} processes on this machine but only "
                              f"{torch.cuda.device_count()} CUDA device(s); use at most one process per GPU")
        return torch.device("cuda", world.local_rank)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device: {name!r} requested but CUDA is not available here; use device: auto or cpu")
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device: {name!r} but only {torch.cuda.device_count()} CUDA device(s) exist")
        return device
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device: 'mps' requested but MPS is not available here; use device: auto or cpu")
    return torch.device(name)


def configure(device: torch.device, world: World = World()) -> None:
    """Per-process performance settings for ``device``: every CPU core this process may use (its share when
    several training processes run on the machine); on CUDA cuDNN autotuning and TF32 matmuls."""
    if device.type == "cpu":
        torch.set_num_threads(max(1, cpu_cores() // world.local_size))
    if device.type == "cuda":
        if device.index is not None:
            torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def cpu_cores() -> int:
    """CPU cores this process may run on (its affinity mask, e.g. a container's share), not the host's count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def autocast_dtype(train: TrainConfig, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of ``train.precision`` on ``device`` (None = fp32): auto means bf16 on CUDA only."""
    if train.precision == "fp32" or (train.precision == "auto" and device.type != "cuda"):
        return None
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError("train.precision: bf16 but this GPU has no bfloat16 support; use train.precision: fp32")
    return torch.bfloat16


def autocast(train: TrainConfig, device: torch.device):
    """Mixed precision for a training step: torch.autocast in bf16 (no loss scaling needed), or nothing."""
    dtype = autocast_dtype(train, device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def prepare_model(model: nn.Module, train: TrainConfig) -> None:
    """Apply ``train.channels_last`` and ``train.compile`` to the model's networks in place (state-dict keys
    and checkpoints unchanged)."""
    if train.channels_last:
        model.to(memory_format=torch.channels_last)
    if train.compile:
        for net in model.children():
            net.compile()
