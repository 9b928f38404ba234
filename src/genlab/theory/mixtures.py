"""The 2-D mode-collapse benchmarks and their scoring, as in PacGAN (Lin et al. 2018, section 5.1; settings of
their public code) and VEEGAN (Srivastava et al. 2017).

Ring: 8 Gaussians on the unit circle, std 0.01. Grid: 25 Gaussians at {-4, -2, 0, 2, 4}², std 0.05. A generated
point is *high quality* when it lies within 3 std of its nearest mode. A mode is *covered* when at least one
high-quality point falls on it (PacGAN's code: ``mode_coverage`` counts the modes with a non-zero count), and,
the stricter second column, when at least 20 of them do. The reverse KL is KL(q || uniform) of the histogram q
of the high-quality points over the modes (0 = every mode equally often; log K = one mode only).
"""

from __future__ import annotations

import math

import torch

STRICT = 20  # high-quality points a mode needs under the stricter rule


def ring_centres(k: int = 8, radius: float = 1.0) -> torch.Tensor:
    angles = torch.arange(k, dtype=torch.float64) * 2 * math.pi / k
    return torch.stack([radius * angles.cos(), radius * angles.sin()], 1)


def grid_centres(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    ticks = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    return torch.cartesian_prod(ticks, ticks)


MIXTURES = {"ring": (ring_centres(), 0.01), "grid": (grid_centres(), 0.05)}


def sample_mixture(centres: torch.Tensor, std: float, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` points of the mixture: a uniformly chosen centre plus N(0, std² I)."""
    idx = torch.randint(len(centres), (n,), generator=generator)
    return centres[idx] + std * torch.randn(n, 2, generator=generator, dtype=torch.float64)


def mode_stats(points: torch.Tensor, centres: torch.Tensor, std: float) -> dict:
    """Modes covered (PacGAN's rule, and the strict one), the high-quality share and the reverse KL of ``points``."""
    dist = torch.cdist(points.double(), centres.double())
    nearest, which = dist.min(1)
    hq = nearest < 3 * std
    counts = torch.bincount(which[hq], minlength=len(centres)).double()
    q = counts / counts.sum().clamp_min(1)
    kl = float((q[q > 0] * (q[q > 0] * len(centres)).log()).sum()) if counts.sum() else math.log(len(centres))
    return {"modes": int((counts >= 1).sum()), "modes_strict": int((counts >= STRICT).sum()),
            "high_quality": float(hq.double().mean()), "reverse_kl": kl}
