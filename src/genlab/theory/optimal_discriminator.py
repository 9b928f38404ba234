"""Train a discriminator alone between two fixed densities and compare it with the analytic D*."""

from __future__ import annotations

import torch
from torch import nn

from genlab.nn.adversarial import discriminator_loss, generator_loss
from genlab.nn.stacks import mlp
from genlab.theory.densities import Mixture1D, optimal_discriminator


def train_discriminator(p: Mixture1D, q: Mixture1D, steps: int, seed: int, batch: int = 512, h: int = 64,
                        lr: float = 1e-3) -> nn.Module:
    """Maximise E_p[log D] + E_q[log(1 - D)] over D (an MLP on x) with fresh samples every step."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    disc = mlp([1, h, h, 1], act=nn.LeakyReLU)
    opt = torch.optim.Adam(disc.parameters(), lr=lr)
    for _ in range(steps):
        real = p.sample(batch, g).float().unsqueeze(1)
        fake = q.sample(batch, g).float().unsqueeze(1)
        loss = discriminator_loss(disc(real).squeeze(1), disc(fake).squeeze(1), "non-saturating")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return disc


@torch.no_grad()
def discriminator_curve(disc: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(disc(x.float().unsqueeze(1)).squeeze(1)).double()


def mass_mask(p: Mixture1D, q: Mixture1D, x: torch.Tensor, threshold: float) -> torch.Tensor:
    """Grid points where either density is above ``threshold``."""
    return torch.maximum(p.pdf(x), q.pdf(x)) > threshold


def dstar_error(p: Mixture1D, q: Mixture1D, steps: int, seed: int, threshold: float = 0.01,
                grid: torch.Tensor | None = None) -> tuple[float, dict]:
    """max |D(x) - D*(x)| over the grid points with mass, and the curves for plotting."""
    x = grid if grid is not None else torch.linspace(-6, 6, 2001, dtype=torch.float64)
    disc = train_discriminator(p, q, steps, seed)
    d, dstar = discriminator_curve(disc, x), optimal_discriminator(p, q, x)
    mask = mass_mask(p, q, x, threshold)
    err = float((d - dstar).abs()[mask].max())
    return err, {"x": x, "d": d, "dstar": dstar, "p": p.pdf(x), "q": q.pdf(x), "mask": mask}


def saturation_gradients(seed: int, h: int = 64, z_dim: int = 2, rejection_logit: float = -10.0) -> dict:
    """Generator gradient norms under both losses when D confidently rejects the fakes.

    A random MLP generator and discriminator on 1-D data; D's output bias is shifted so that its
    mean logit on fakes is ``rejection_logit`` (D(G(z)) ~ sigmoid(-10) ~ 5e-5).
    """
    torch.manual_seed(seed)
    gen = mlp([z_dim, h, h, 1], act=nn.LeakyReLU)
    disc = mlp([1, h, h, 1], act=nn.LeakyReLU)
    z = torch.randn(1024, z_dim)
    with torch.no_grad():
        disc[-1].bias += rejection_logit - disc(gen(z)).mean()
    with torch.no_grad():
        out = {"d_of_fake_mean": float(torch.sigmoid(disc(gen(z))).mean())}
    for kind in ("saturating", "non-saturating"):
        gen.zero_grad(set_to_none=True)
        generator_loss(disc(gen(z)).squeeze(1), kind).backward()
        norm = torch.sqrt(sum(p.grad.pow(2).sum() for p in gen.parameters()))
        out[f"grad_norm_{kind.replace('-', '')}"] = float(norm)
    out["grad_ratio_saturating_over_nonsaturating"] = out["grad_norm_saturating"] / out["grad_norm_nonsaturating"]
    return out

