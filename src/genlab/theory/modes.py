"""Mode collapse on the 2-D mixtures and its remedies, every seed of a variant trained as one batched model.

Variants (the pipeline's GAN networks, :mod:`genlab.models.gan`, on 2×1×1 "images"):
- ``gan``: the non-saturating loss (Goodfellow et al. 2014); ``saturating``: the minimax loss;
- ``mbstd``: minibatch standard deviation before D's last layer (Karras et al. 2018);
- ``pacgan2..4``: D judges m samples at once, concatenated (Lin et al. 2018): real packs of m data points
  against packs of m generated ones;
- ``wgan-gp``: the Wasserstein critic with gradient penalty (Gulrajani et al. 2017), 5 critic steps per G step,
  Adam β = (0.5, 0.9) as in their toy experiments.
Every step draws fresh data; each member's first weights come from its own seed.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable

import torch

from genlab.models.gan import Discriminator, Generator
from genlab.nn.adversarial import discriminator_loss, generator_loss, gradient_penalty
from genlab.theory.ensemble import Ensemble
from genlab.theory.mixtures import MIXTURES, mode_stats, sample_mixture

log = logging.getLogger(__name__)

SHAPE = (2, 1, 1)  # a 2-D point as a 2×1×1 "image": the GAN's MLP stacks flatten it


@dataclass(frozen=True)
class Variant:
    loss: str = "non-saturating"
    mbstd: bool = False
    pack: int = 1
    d_steps: int = 1
    gp_weight: float = 0.0
    betas: tuple[float, float] = (0.5, 0.999)


VARIANTS = {
    "gan": Variant(),
    "saturating": Variant(loss="saturating"),
    "mbstd": Variant(mbstd=True),
    "pacgan2": Variant(pack=2),
    "pacgan3": Variant(pack=3),
    "pacgan4": Variant(pack=4),
    "wgan-gp": Variant(loss="wasserstein", d_steps=5, gp_weight=10.0, betas=(0.5, 0.9)),
}


def _data(members: list[str], n: int, generator: torch.Generator) -> torch.Tensor:
    """S×n×2 fresh points, member s from mixture ``members[s]``."""
    return torch.stack([sample_mixture(*MIXTURES[m], n, generator) for m in members]).float()


def train_variant(variant: Variant, members: list[str], seeds: list[int], steps: int, batch: int, h: int, z: int,
                  lr: float, generator: torch.Generator, decay: bool = True,
                  on_step: Callable[[int, Ensemble], None] | None = None) -> Ensemble:
    """Train one GAN per (mixture, seed) member, all at once; returns the ensemble of generators. With ``decay``
    both lrs follow a cosine to 0 over the run (Loshchilov & Hutter 2017), which lets the samples settle;
    ``on_step(done, generators)`` is called after every step."""
    gen = Ensemble(lambda: Generator("mlp", SHAPE, h, z, squash=False), seeds)
    disc = Ensemble(lambda: Discriminator("mlp", (2 * variant.pack, 1, 1), h, mbstd=variant.mbstd), seeds)
    opt_g = torch.optim.Adam(gen.parameters(), lr=lr, betas=variant.betas, fused=True)
    opt_d = torch.optim.Adam(disc.parameters(), lr=lr, betas=variant.betas, fused=True)
    factor = (lambda t: 0.5 * (1 + math.cos(math.pi * t / steps))) if decay else (lambda t: 1.0)
    schedules = [torch.optim.lr_scheduler.LambdaLR(o, factor) for o in (opt_g, opt_d)]
    s, m = len(members), variant.pack
    kind = variant.loss

    def packs(points: torch.Tensor) -> torch.Tensor:  # S×(batch·m)×2 -> S×batch×2m×1×1
        return points.reshape(s, batch, 2 * m, 1, 1)

    def fake() -> torch.Tensor:
        return gen(torch.randn(s, batch * m, z, generator=generator)).reshape(s, batch * m, 2)

    for step in range(steps):
        for _ in range(variant.d_steps):
            real = packs(_data(members, batch * m, generator))
            with torch.no_grad():
                fakes = packs(fake())
            d_real, d_fake = disc(real), disc(fakes)
            loss_d = discriminator_loss(d_real, d_fake, kind) * s  # the mean over members' means, times S
            if variant.gp_weight:
                critic = lambda x: disc(x.reshape(s, batch, 2 * m, 1, 1)).reshape(-1)  # noqa: E731
                loss_d = loss_d + variant.gp_weight * s * gradient_penalty(
                    critic, real.reshape(s * batch, -1), fakes.reshape(s * batch, -1), generator)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        disc.requires_grad_(False)  # G's step: gradients through D, not of D's weights
        loss_g = generator_loss(disc(packs(fake())), kind) * s
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        disc.requires_grad_(True)
        for sched in schedules:
            sched.step()
        if on_step is not None:
            on_step(step + 1, gen)
    return gen


@torch.no_grad()
def score(gen: Ensemble, members: list[str], n: int, z: int, generator: torch.Generator) -> tuple[list[dict], torch.Tensor]:
    """Each member's mode statistics on ``n`` generated points (and the points, S×n×2)."""
    points = gen(torch.randn(len(members), n, z, generator=generator)).reshape(len(members), n, 2).double()
    return [mode_stats(p, *MIXTURES[m]) for p, m in zip(points, members)], points


def run_variant(name: str, cfg) -> tuple[dict, list[dict], dict[str, torch.Tensor]]:
    """One variant on both mixtures with ``cfg.seeds`` seeds, on one thread: (per-mixture per-seed scores and
    their summaries, the training curve, seed 0's generated points per mixture). Its random streams depend only
    on the variant's name, so the result is the same whichever process runs it."""
    from genlab.stats import summary

    torch.set_num_threads(1)  # a batched toy run: one thread beats two on these small matrices
    seeds = list(range(cfg.seeds))
    members = [m for m in MIXTURES for _ in seeds]
    generator = torch.Generator().manual_seed(1000 + list(VARIANTS).index(name))
    trace: list[dict] = []

    def record(done: int, gen: Ensemble) -> None:
        if done % cfg.eval_every == 0 or done == cfg.steps:
            stats, _ = score(gen, members, 500, cfg.z, torch.Generator().manual_seed(done))
            trace.append({"step": done, **{m: {k: sum(r[k] for r, mm in zip(stats, members) if mm == m) / len(seeds)
                                               for k in ("modes", "high_quality")} for m in MIXTURES}})

    gen = train_variant(VARIANTS[name], members, seeds * len(MIXTURES), cfg.steps, cfg.batch, cfg.h, cfg.z, cfg.lr,
                        generator, on_step=record)
    stats, pts = score(gen, members, cfg.samples, cfg.z, torch.Generator().manual_seed(1))
    result, points = {}, {}
    for mixture in MIXTURES:
        rows = [r for r, m in zip(stats, members) if m == mixture]
        result[mixture] = {k: [r[k] for r in rows] for k in rows[0]}
        result[mixture]["summary"] = {k: {**summary(v), "stderr": _stderr(v)} for k, v in result[mixture].items()}
        result[mixture]["modes_total"] = len(MIXTURES[mixture][0])
        points[mixture] = pts[members.index(mixture)]
    return result, trace, points


def run_modes(cfg, grid_dir, workers: int = 1) -> dict:
    """Every variant of ``cfg.variants`` on both mixtures with ``cfg.seeds`` seeds each, ``workers`` variants at a
    time in separate processes: per-seed scores, their summaries, training curves, and the figures
    (``modes.png``: seed 0's points; ``curves.png``)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from genlab.theory.plots import plot_mode_curves, plot_modes

    out: dict = {"params": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__}, "protocol": PROTOCOL,
                 "variants": {}, "published": PUBLISHED}
    names = list(cfg.variants)
    if workers > 1 and len(names) > 1:
        # the longest first (WGAN-GP's 5 critic steps cost ~5x a step of the others), so the workers end together
        order = sorted(names, key=lambda n: -VARIANTS[n].d_steps)
        with ProcessPoolExecutor(min(workers, len(names)), mp_context=get_context("spawn")) as pool:
            by_name = dict(zip(order, pool.map(run_variant, order, [cfg] * len(order))))
        done = [by_name[n] for n in names]
    else:
        threads = torch.get_num_threads()
        try:
            done = [run_variant(name, cfg) for name in names]
        finally:
            torch.set_num_threads(threads)
    points, curves = {}, {}
    for name, (result, trace, pts) in zip(names, done):
        out["variants"][name] = {**result, "curve": trace}
        curves[name] = trace
        points.update({(mixture, name): p for mixture, p in pts.items()})
        log.info("%s: ring %s modes, %s HQ; grid %s modes, %s HQ", name,
                 result["ring"]["modes"], [round(v, 3) for v in result["ring"]["high_quality"]],
                 result["grid"]["modes"], [round(v, 3) for v in result["grid"]["high_quality"]])
    plot_modes(points, MIXTURES, grid_dir / "modes.png")
    plot_mode_curves(curves, grid_dir / "curves.png")
    return out


def _stderr(values: list[float]) -> float | None:
    n = len(values)
    if n < 2:
        return None
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


PROTOCOL = ("2,500 generated points per run; a point is high quality within 3 std of its nearest mode; a mode is "
            "covered with at least one high-quality point (PacGAN's code), or with at least 20 (strict); reverse KL: "
            "KL(q || uniform) of the high-quality points' mode histogram")

# Published rows (mean over 10 trials; ± standard error where the paper gives it): PacGAN (Lin et al. 2018,
# Table 1) and VEEGAN (Srivastava et al. 2017, Table 1). Reference only: their networks and budgets differ.
PUBLISHED = {
    "PacGAN Table 1": {
        "gan": {"ring": {"modes": 6.3, "modes_se": 0.5, "high_quality": 0.982, "reverse_kl": 0.45},
                "grid": {"modes": 17.3, "modes_se": 0.8, "high_quality": 0.948, "reverse_kl": 0.70}},
        "pacgan2": {"ring": {"modes": 7.9, "modes_se": 0.1, "high_quality": 0.956},
                    "grid": {"modes": 23.8, "modes_se": 0.7, "high_quality": 0.913}},
        "pacgan3": {"ring": {"modes": 7.8, "high_quality": 0.977}, "grid": {"modes": 24.6, "high_quality": 0.942}},
        "pacgan4": {"ring": {"modes": 7.8, "high_quality": 0.959, "reverse_kl": 0.07},
                    "grid": {"modes": 24.8, "high_quality": 0.936, "reverse_kl": 0.04}},
    },
    "VEEGAN Table 1": {
        "gan": {"ring": {"modes": 1, "high_quality": 0.993}, "grid": {"modes": 3.3, "high_quality": 0.005}},
        "unrolled GAN": {"ring": {"modes": 7.6, "high_quality": 0.356}, "grid": {"modes": 23.6, "high_quality": 0.16}},
        "veegan": {"ring": {"modes": 8, "high_quality": 0.529}, "grid": {"modes": 24.6, "high_quality": 0.40}},
    },
}
