"""Image grids written with torchvision (atomically)."""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.utils import save_image

from genlab.io import atomic_path


def save_grid(images: torch.Tensor, path: Path, nrow: int, pad: int = 2) -> None:
    """Save images in [0, 1] (N×C×H×W) as one PNG grid of ``nrow`` per row."""
    with atomic_path(path) as tmp:
        save_image(images.detach().float().cpu().clamp(0, 1), tmp, nrow=nrow, padding=pad, pad_value=1.0, format="png")


def interleave_rows(a: torch.Tensor, b: torch.Tensor, nrow: int) -> torch.Tensor:
    """Rows of ``a`` and ``b`` alternating (originals above their reconstructions)."""
    rows = []
    for i in range(0, len(a), nrow):
        rows += [a[i:i + nrow], b[i:i + nrow]]
    return torch.cat(rows)
