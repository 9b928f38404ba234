"""Equalized learning rate (Karras et al. 2018, section 4.1).

Weights are initialized from N(0, 1) and multiplied at run time by the per-layer He constant
c = gain / sqrt(fan_in) (He et al. 2015), so the effective weight is w·c. Why not just initialize
with std c? Adam and RMSProp normalize each parameter's update by its own running gradient
scale, so a step moves every parameter by about the lr whatever its magnitude: a layer whose
weights are small (large fan-in) then learns relatively faster than one with large weights.
With the constant outside the parameter, every parameter has unit scale and the same relative
learning speed; the forward pass is the same as He initialization at step 0.

``equalized=False`` gives the ordinary layer with the same effective initialization (weights drawn
with std c, no run-time scaling), so the technique can be switched off for an ablation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

RELU_GAIN = math.sqrt(2.0)  # He et al. 2015 gain for (leaky) ReLU layers; 1 for linear outputs


class _Equalized(nn.Module):
    def _init(self, shape: tuple[int, ...], fan_in: int, gain: float, equalized: bool) -> None:
        c = gain / math.sqrt(fan_in)
        self.scale = c if equalized else 1.0  # run-time multiplier of the stored weight
        self.weight = nn.Parameter(torch.randn(shape) * (1.0 if equalized else c))
        self.bias = nn.Parameter(torch.zeros(shape[0]))

    @property
    def effective_weight(self) -> torch.Tensor:
        """w · c: the weight the layer actually applies."""
        return self.weight * self.scale


class EqualizedLinear(_Equalized):
    """y = x (w·c)^T + b with w ~ N(0, 1) and c = gain / sqrt(in_features)."""

    def __init__(self, in_features: int, out_features: int, gain: float = RELU_GAIN, equalized: bool = True):
        super().__init__()
        self._init((out_features, in_features), in_features, gain, equalized)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.effective_weight, self.bias)


class EqualizedConv2d(_Equalized):
    """Same-padded k×k convolution with w ~ N(0, 1) and c = gain / sqrt(in_channels · k²)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, gain: float = RELU_GAIN,
                 equalized: bool = True):
        super().__init__()
        self._init((out_channels, in_channels, kernel_size, kernel_size), in_channels * kernel_size ** 2, gain,
                   equalized)
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.effective_weight, self.bias, padding=self.padding)
