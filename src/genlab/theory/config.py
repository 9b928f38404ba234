"""The params sections of the theory and mode-collapse stages (``theory``, ``modes``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from genlab.config import param


@dataclass(frozen=True)
class TheoryConfig:
    seeds: int = param(5, "seeds 0..n-1 of every experiment (each number is one value per seed)", positive=True)
    d_steps: int = param(2000, "steps training D alone between two fixed 1-D densities", positive=True)
    d_batch: int = param(1024, "samples of each density per step", positive=True)
    d_h: int = param(64, "width of D's two hidden layers", positive=True)
    d_lr: float = param(2.0e-3, "Adam lr of D, decayed to 0 on a cosine", positive=True)
    mass_threshold: float = param(0.01, "D vs D* is compared where either density exceeds this", positive=True)
    mc_samples: int = param(1000000, "Monte-Carlo samples per density for V(D*, G)", positive=True)


ModeVariant = Literal["gan", "saturating", "mbstd", "pacgan2", "pacgan3", "pacgan4", "wgan-gp"]


@dataclass(frozen=True)
class ModesConfig:
    seeds: int = param(5, "seeds 0..n-1 of every variant on both mixtures", positive=True)
    variants: tuple[ModeVariant, ...] = param(("gan", "saturating", "mbstd", "pacgan2", "pacgan3", "pacgan4", "wgan-gp"),
                                              "the GAN variants (see genlab.theory.modes)")
    steps: int = param(20000, "generator steps of every run (each lr decays to 0 on a cosine)", positive=True)
    batch: int = param(100, "data points per step (packs of m for PacGAN: m times the points, as in its code)",
                       positive=True)
    h: int = param(64, "width of the toy G and D (the pipeline's GAN networks)", positive=True)
    z: int = param(2, "latent size of the toy generators", positive=True)
    lr: float = param(1.0e-3, "peak Adam lr of G and D (betas 0.5, 0.999; WGAN-GP 0.5, 0.9)", positive=True)
    samples: int = param(2500, "generated points scored per run (the papers' 2,500)", positive=True)
    eval_every: int = param(2000, "steps between the points of the training curves", positive=True)
