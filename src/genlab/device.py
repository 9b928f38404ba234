"""Device selection from the ``device`` param (``auto`` picks CUDA whenever it is present), per-process settings,
and seeding: what every stage that computes starts with."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from genlab.config import ConfigError


def select_device(name: str = "auto", local_rank: int = 0, local_size: int = 1) -> torch.device:
    """Map ``auto | cpu | cuda | cuda:N | mps`` onto an available :class:`torch.device`; one of ``local_size``
    data-parallel processes on this machine on CUDA gets its own GPU, ``cuda:local_rank``."""
    if local_size > 1 and (name == "auto" or name.startswith("cuda")) and torch.cuda.is_available():
        if local_size > torch.cuda.device_count():
            raise ConfigError(f"train.nproc: {local_size} processes on this machine but only "
                              f"{torch.cuda.device_count()} CUDA device(s); use at most one process per GPU")
        return torch.device("cuda", local_rank)
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


def configure(device: torch.device, local_size: int = 1) -> None:
    """Per-process performance settings for ``device``: every CPU core this process may use (its share when
    ``local_size`` processes run on the machine); on CUDA cuDNN autotuning and TF32 matmuls."""
    if device.type == "cpu":
        torch.set_num_threads(max(1, cpu_cores() // local_size))
    if device.type == "cuda":
        if device.index is not None:
            torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def cpu_cores() -> int:
    """CPU cores this process may run on (its affinity mask, e.g. a container's share), not the host's count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices): every random number of a run flows from ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
