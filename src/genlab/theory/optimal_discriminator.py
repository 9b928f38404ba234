"""Train discriminators alone between two fixed densities and compare them with the analytic D*; and the generator's
gradient under both losses when D rejects the fakes."""

from __future__ import annotations

import math

import torch
from torch import nn

from genlab.nn.adversarial import discriminator_loss, generator_loss
from genlab.nn.stacks import mlp
from genlab.theory.densities import Mixture1D, optimal_discriminator
from genlab.theory.ensemble import Ensemble


def draw(mixtures: list[Mixture1D], n: int, generator: torch.Generator) -> torch.Tensor:
    """S×n×1 fresh samples, row s from ``mixtures[s]``; the rows of one density are drawn in one call."""
    out = torch.empty(len(mixtures), n, dtype=torch.float64)
    for mixture in dict.fromkeys(mixtures):
        rows = [s for s, m in enumerate(mixtures) if m == mixture]
        out[rows] = mixture.sample(len(rows) * n, generator).view(len(rows), n)
    return out.float().unsqueeze(2)


def train_discriminators(pairs: list[tuple[Mixture1D, Mixture1D]], seeds: list[int], steps: int, batch: int, h: int,
                         lr: float) -> Ensemble:
    """For each (p, q) pair and seed (member s: ``pairs[s]``, ``seeds[s]``), maximise E_p[log D] + E_q[log(1 - D)]
    over an MLP D with fresh samples every step, all members at once; Adam's lr decays to 0 on a cosine (the last
    steps settle D near its optimum instead of jittering around it). Member s's first weights come from
    ``seeds[s]``; the samples of all members come from one stream seeded by ``seeds[0]``."""
    disc = Ensemble(lambda: mlp([1, h, h, 1], act=nn.LeakyReLU), seeds)
    opt = torch.optim.Adam(disc.parameters(), lr=lr, fused=True)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1 + math.cos(math.pi * t / steps)))
    generator = torch.Generator().manual_seed(seeds[0])
    real_of, fake_of = [p for p, _ in pairs], [q for _, q in pairs]
    for _ in range(steps):
        real, fake = draw(real_of, batch, generator), draw(fake_of, batch, generator)
        loss = discriminator_loss(disc(real), disc(fake), "non-saturating") * len(seeds)  # each member's own mean
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return disc


def mass_mask(p: Mixture1D, q: Mixture1D, x: torch.Tensor, threshold: float) -> torch.Tensor:
    """Grid points where either density is above ``threshold``."""
    return torch.maximum(p.pdf(x), q.pdf(x)) > threshold


@torch.no_grad()
def dstar_errors(pairs: list[tuple[Mixture1D, Mixture1D]], seeds: list[int], steps: int, threshold: float = 0.01,
                 batch: int = 512, h: int = 64, lr: float = 1e-3) -> tuple[list[float], list[dict]]:
    """Per member, max |D(x) - D*(x)| over the grid points with mass, and the curves for plotting."""
    x = torch.linspace(-6, 6, 2001, dtype=torch.float64)
    with torch.enable_grad():
        disc = train_discriminators(pairs, seeds, steps, batch, h, lr)
    d_all = torch.sigmoid(disc(x.float().view(1, -1, 1).expand(len(seeds), -1, -1)).squeeze(2)).double()
    errors, curves = [], []
    for (p, q), d in zip(pairs, d_all):
        dstar, mask = optimal_discriminator(p, q, x), mass_mask(p, q, x, threshold)
        errors.append(float((d - dstar).abs()[mask].max()))
        curves.append({"x": x, "d": d, "dstar": dstar, "p": p.pdf(x), "q": q.pdf(x), "mask": mask})
    return errors, curves


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

