"""Exponential moving average of a network's weights, used for sampling (Karras et al. 2018; Yazıcı et al. 2019)."""

from __future__ import annotations

import copy

import torch
from torch import nn


def ema_copy(net: nn.Module) -> nn.Module:
    """A frozen copy of ``net`` that :func:`ema_update` keeps as the running average."""
    shadow = copy.deepcopy(net)
    shadow.requires_grad_(False)
    return shadow


@torch.no_grad()
def ema_update(shadow: nn.Module, net: nn.Module, decay: float) -> None:
    """shadow <- decay * shadow + (1 - decay) * net, for parameters; buffers are copied."""
    for s, p in zip(shadow.parameters(), net.parameters()):
        s.lerp_(p, 1.0 - decay)
    for s, b in zip(shadow.buffers(), net.buffers()):
        s.copy_(b)
