"""Pixelwise feature vector normalization (Karras et al. 2018, section 4.2, eq. 2).

b_{x,y} = a_{x,y} / sqrt(1/N Σ_j (a^j_{x,y})² + ε) with N feature maps and ε = 1e-8: each pixel's
feature vector is scaled to unit mean square. Used in G after every conv, it keeps the signal
magnitudes of G and D from escalating out of control in their competition, without learned
parameters (unlike batch norm, which the paper argues is not needed for GANs with this in place).
"""

from __future__ import annotations

import torch
from torch import nn


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Normalize each position's feature vector (dim 1) to unit mean square; works on N×C×H×W and N×C."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


class PixelNorm(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pixel_norm(x)
