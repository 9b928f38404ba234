"""Training arithmetic and layout: bf16 autocast (``train.precision``), ``train.compile``, ``train.channels_last``."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from genlab.config import ConfigError, TrainConfig


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
    if train.compile and getattr(model, "differentiates_twice", False):
        raise ConfigError("train.compile: torch.compile cannot differentiate twice, which the gradient penalty (WGAN-GP) "
                          "needs; set train.compile: false (or turn the penalty off)")
    if train.channels_last:
        model.to(memory_format=torch.channels_last)
    if train.compile:
        for net in model.children():
            net.compile()
