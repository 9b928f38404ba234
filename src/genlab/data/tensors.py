"""Small tensor utilities shared by the data code: resizing, dtype conversion, binarization."""

from __future__ import annotations

import torch
import torch.nn.functional as F

BINARIZE_SEED = 0


def fit_resolution(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """Bring uint8 N×C×H×W images to ``resolution``²: zero-pad a small even gap (MNIST 28 -> 32), else resize."""
    h, w = images.shape[-2:]
    if (h, w) == (resolution, resolution):
        return images
    gap = resolution - h
    if h == w and 0 < gap <= h // 4 and gap % 2 == 0:
        return F.pad(images, (gap // 2,) * 4)
    out = []
    for chunk in images.split(1024):
        x = F.interpolate(chunk.float(), size=(resolution, resolution), mode="bilinear", antialias=True,
                          align_corners=False)
        out.append(x.round().clamp(0, 255).to(torch.uint8))
    return torch.cat(out)


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [0, 1]."""
    return images.float().div_(255.0)


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """float [0, 1] -> uint8 [0, 255] (rounded, clamped)."""
    return x.mul(255.0).round_().clamp_(0, 255).to(torch.uint8)


def binarize(images: torch.Tensor, seed: int = BINARIZE_SEED) -> torch.Tensor:
    """Stochastic binarization of uint8 images, drawn once: each pixel is 255 with probability value/255
    (Salakhutdinov & Murray 2008), from a fixed seed so that every experiment sees the same binary dataset."""
    g = torch.Generator().manual_seed(seed)
    out = [(torch.rand(chunk.shape, generator=g) * 255 < chunk.float()).to(torch.uint8) * 255
           for chunk in images.split(4096)]
    return torch.cat(out)
