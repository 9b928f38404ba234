"""Mode collapse on 2-D Gaussian mixtures, measured as in VEEGAN / PacGAN / Unrolled GAN.

Ring: 8 Gaussians on a circle of radius 2, std 0.02. Grid: 25 Gaussians at {-4, -2, 0, 2, 4}², std 0.05.
A generated point is *high quality* when it lies within 3 std of its nearest centre; a mode is
*covered* when at least ``min_count`` high-quality points (20 of 2500, as in PacGAN) fall on it.
"""

from __future__ import annotations

import math

import torch

from genlab.models.gan import Discriminator, Generator
from genlab.nn.adversarial import discriminator_loss, generator_loss

SHAPE = (2, 1, 1)  # a 2-D point as a 2×1×1 "image": the GAN's MLP stacks flatten it


def ring_centres(k: int = 8, radius: float = 2.0) -> torch.Tensor:
    angles = torch.arange(k, dtype=torch.float64) * 2 * math.pi / k
    return torch.stack([radius * angles.cos(), radius * angles.sin()], 1)


def grid_centres(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    ticks = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    return torch.cartesian_prod(ticks, ticks)


MIXTURES = {"ring": (ring_centres(), 0.02), "grid": (grid_centres(), 0.05)}


def sample_mixture(centres: torch.Tensor, std: float, n: int, generator: torch.Generator) -> torch.Tensor:
    idx = torch.randint(len(centres), (n,), generator=generator)
    return centres[idx] + std * torch.randn(n, 2, generator=generator, dtype=torch.float64)


def mode_stats(points: torch.Tensor, centres: torch.Tensor, std: float, min_count: int = 20) -> dict:
    """(modes covered, share of high-quality points) for generated ``points``."""
    dist = torch.cdist(points.double(), centres.double())
    nearest, which = dist.min(1)
    hq = nearest < 3 * std
    counts = torch.bincount(which[hq], minlength=len(centres))
    return {"modes": int((counts >= min_count).sum()), "high_quality": float(hq.double().mean())}


def train_toy_gan(centres: torch.Tensor, std: float, loss: str, mbstd: bool, steps: int, seed: int,
                  batch: int = 256, h: int = 128, z: int = 2, lr: float = 1e-3) -> Generator:
    """The pipeline's GAN networks on a 2-D mixture, each step one update of D, then one of G (Goodfellow et al.
    2014, Algorithm 1), with fresh data drawn every step."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    gen = Generator("mlp", SHAPE, h, z, squash=False)
    disc = Discriminator("mlp", SHAPE, h, dropout=0.0, mbstd=mbstd)
    opt_g = torch.optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
    for _ in range(steps):
        real = sample_mixture(centres, std, batch, g).float().view(batch, *SHAPE)
        with torch.no_grad():
            fake = gen(torch.randn(batch, z))
        loss_d = discriminator_loss(disc(real), disc(fake), loss)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        disc.requires_grad_(False)  # G's update needs gradients through D, not of D's weights
        loss_g = generator_loss(disc(gen(torch.randn(batch, z))), loss)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        disc.requires_grad_(True)
    return gen


@torch.no_grad()
def generate_points(gen: Generator, n: int, seed: int) -> torch.Tensor:
    z = torch.randn(n, gen.z, generator=torch.Generator().manual_seed(seed))
    return gen(z).view(n, 2).double()
