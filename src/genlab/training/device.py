"""Device selection from the ``device`` param: ``auto`` picks CUDA whenever it is present."""

from __future__ import annotations

import torch

from genlab.config import ConfigError


def select_device(name: str = "auto") -> torch.device:
    """Map ``auto | cpu | cuda | cuda:N | mps`` onto an available :class:`torch.device`."""
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


def configure(device: torch.device) -> None:
    """Per-process performance settings for ``device`` (cuDNN autotuning, TF32 matmuls on CUDA)."""
    if device.type == "cuda":
        if device.index is not None:
            torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
