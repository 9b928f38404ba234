"""A blur number: the variance of the Laplacian (Pech-Pacheco et al. 2000), the classic focus measure."""

from __future__ import annotations

import torch
import torch.nn.functional as F

_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


@torch.no_grad()
def laplacian_variance(images: torch.Tensor, batch_size: int = 2000) -> float:
    """Mean over images (uint8 or [0, 1]) of the variance of their 3×3 Laplacian response (per channel).

    Blurry images (a VAE's pixel-likelihood means) have weak edges and score low; real digits
    set the reference. Computed on [0, 1] intensities.
    """
    total = 0.0
    for b in images.split(batch_size):
        x = b.float() / 255 if b.dtype == torch.uint8 else b.float()
        c = x.shape[1]
        kernel = _LAPLACIAN.to(x.device).expand(c, 1, 3, 3)
        total += float(F.conv2d(x, kernel, groups=c).flatten(2).var(dim=2).mean(dim=1).sum())
    return total / len(images)
