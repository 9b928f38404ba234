"""Progressive GAN (Karras et al. 2018, "Progressive Growing of GANs for Improved Quality, Stability, and
Variation").

G and D grow together from 4×4 to the data's resolution (:mod:`genlab.nn.progressive`), following
:class:`~genlab.nn.growth.GrowthSchedule`, whose clock the training loop runs: every new level fades in
(α from 0 to 1), then stabilizes. Real images are shown at the current resolution (2×2 average pooling from the data) and,
during a fade, blended exactly as G's output is: (1 - α) · upsample(downsample(x)) + α · x.

The paper's techniques, each a switch for ablations: minibatch standard deviation in D
(``pggan.mbstd``), equalized learning rate (``pggan.equalized_lr``), pixelwise feature normalization
in G (``pggan.pixel_norm``) and the fade-in itself (``pggan.fade_in``; off: new blocks enter at
α = 1). Loss: WGAN-GP with the ε-drift term ε·E[D(x)²] (section A.1: λ = 10, ε = 0.001), or the
non-saturating loss; Adam with β1 = 0, β2 = 0.99 (lr: see ``pggan.lr``), its state reset by the loop
whenever a level is added (as in the paper's code), and an EMA of G's weights for sampling. Its half-life is set
in images (``pggan.ema_kimg``, as StyleGAN's code does): the paper's 0.999 per step spans ~11k images, longer
than a whole phase of the short CPU schedule, so the average would still hold the fresh blocks' random initial
weights when the phase ends.

A run trains every level (``pggan.resolution: 0``) or one, a phase of the pipeline (``resolution: 8`` trains
the 8×8 level), which continues the phase before it from its weights, optimizer states, EMA, RNG and schedule
position (:func:`genlab.training.run.setup_run`); a phase samples at its own level, upsampled to the data's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from genlab.config import ConfigError, param
from genlab.models.base import EMA, GenerativeModel, Loss, Phase
from genlab.nn.adversarial import discriminator_loss, generator_loss, gradient_penalty
from genlab.nn.ema import ema_copy
from genlab.nn.growth import GrowthSchedule
from genlab.nn.progressive import (ProgressiveDiscriminator, ProgressiveGenerator, downsample, fade,
                                   level_resolution, num_levels, upsample)

LOSSES = {"wgan-gp": "wasserstein", "non-saturating": "non-saturating"}


@dataclass(frozen=True)
class PGGANConfig:
    z: int = param(128, "latent size (the paper: 512)", positive=True)
    fmap_base: int = param(512, "feature maps at level r: min(fmap_base / r, fmap_max) (the paper: 8192)",
                           positive=True)
    fmap_max: int = param(32, "cap on feature maps per layer (the paper: 512)", positive=True)
    kimg_fade: float = param(6.0, "thousands of images over which each new level fades in (the paper: 600)",
                             positive=True)
    kimg_stable: float = param(6.0, "thousands of images of stabilization per level (the paper: 600)",
                               positive=True)
    batch_sizes: tuple[int, ...] = param((16,), "batch size per level from 4x4 up; the last repeats "
                                         "(the paper: 16 up to 128x128)", positive=True)
    loss: Literal["wgan-gp", "non-saturating"] = param("wgan-gp", "the paper's WGAN-GP, or non-saturating")
    gp_weight: float = param(10.0, "gradient penalty weight λ (0 = off; also applies to non-saturating)", min=0.0)
    drift: float = param(1.0e-3, "ε of the drift term ε·E[D(x)²] keeping the critic near 0 (wgan-gp)", min=0.0)
    lr: float = param(5.0e-3, "Adam lr of G and D (the paper: 1.0e-3, for 600k images per phase)", positive=True)
    beta1: float = param(0.0, "Adam beta1 (the paper: 0)", min=0.0, max=1.0)
    beta2: float = param(0.99, "Adam beta2 (the paper: 0.99)", min=0.0, max=1.0)
    ema_kimg: float = param(1.0, "half-life in thousands of images of the EMA of G's weights used for sampling "
                            "(0 = off; the paper's 0.999 per step at batch 16 is ~11)", min=0.0)
    mbstd: bool = param(True, "minibatch standard deviation map in D's last block", switch=True)
    mbstd_group: int = param(4, "group size of the minibatch standard deviation", positive=True)
    equalized_lr: bool = param(True, "equalized learning rate (N(0,1) weights scaled by the He constant at run time)", switch=True)
    pixel_norm: bool = param(True, "pixelwise feature vector normalization after every conv of G", switch=True)
    fade_in: bool = param(True, "fade new levels in (false: they enter at α = 1)", switch=True)
    resolution: int = param(0, "the level a run trains, by its side (4, 8, ...), continuing the phase before; 0 = "
                               "every level in one run (the pipeline trains one phase per entry of models)", min=0)

    def check(self, prefix: str) -> None:
        if self.resolution and (self.resolution < 4 or self.resolution & (self.resolution - 1)):
            raise ConfigError(f"{prefix}.resolution: {self.resolution} is not a level; use 0 (all) or 4, 8, 16, ...")
        if self.mbstd and any(b % self.mbstd_group for b in self.batch_sizes):
            raise ConfigError(f"{prefix}.batch_sizes: {list(self.batch_sizes)} must be multiples of "
                              f"{prefix}.mbstd_group ({self.mbstd_group}) when {prefix}.mbstd is true")


class PGGAN(GenerativeModel):
    """Progressively grown G and D with the growth schedule; ``train.steps`` caps (and shrinks) the schedule."""

    def __init__(self, cfg: PGGANConfig, model, shape, num_classes, steps):
        super().__init__(cfg, model, shape, num_classes, steps)
        channels, resolution = shape[0], shape[1]
        if shape[1] != shape[2]:
            raise ConfigError(f"pggan: needs square images, got {shape[1]}x{shape[2]}; set data.resolution")
        # Growing doubles from 4x4: a side that is not a power of two (MNIST's 28) is padded with black to
        # the next one (32) for training, and samples are cropped back to the data's size.
        self.grow_resolution = max(4, 1 << (resolution - 1).bit_length())
        self.pad = self.grow_resolution - resolution
        self.levels = num_levels(self.grow_resolution)
        self.z = cfg.z
        self.generator = ProgressiveGenerator(cfg.z, channels, self.levels, cfg.fmap_base, cfg.fmap_max,
                                              cfg.equalized_lr, cfg.pixel_norm)
        self.discriminator = ProgressiveDiscriminator(channels, self.levels, cfg.fmap_base, cfg.fmap_max,
                                                      cfg.equalized_lr, cfg.mbstd, cfg.mbstd_group)
        self.generator_ema = ema_copy(self.generator) if cfg.ema_kimg > 0 else None
        if cfg.resolution > self.grow_resolution:
            raise ConfigError(f"pggan.resolution: {cfg.resolution} is above the data's {self.grow_resolution} "
                              f"(data.resolution {resolution}); grow at most to {self.grow_resolution}")
        level = num_levels(cfg.resolution) - 1 if cfg.resolution else None
        self.first_level, self.last_level = (level, level) if level is not None else (0, self.levels - 1)
        self.schedule = self._schedule((0, 0))
        betas = (cfg.beta1, cfg.beta2)
        self.phases = (Phase("d", ("discriminator",), cfg.lr, betas), Phase("g", ("generator",), cfg.lr, betas))
        self.ema = EMA("generator", "generator_ema", half_life_images=cfg.ema_kimg * 1000) if cfg.ema_kimg > 0 else None
        self.differentiates_twice = cfg.gp_weight > 0
        self.level, self.alpha = self.first_level, 1.0

    def _schedule(self, start: tuple[int, int]) -> GrowthSchedule:
        cfg = self.cfg
        return GrowthSchedule(self.levels, cfg.kimg_fade, cfg.kimg_stable, cfg.batch_sizes, self.steps, cfg.fade_in,
                              self.first_level, self.last_level, start)

    def continue_growth(self, step: int, images: int) -> None:
        """Start this run's levels where the phase before ended: at its step, with its images shown."""
        self.schedule = self._schedule((step, images))

    def set_growth(self, level: int, alpha: float) -> None:
        """The loop's growth clock: train at ``level`` with fade-in weight ``alpha``."""
        self.level, self.alpha = level, alpha

    # ------------------------------------------------------------------ training
    def real_at_level(self, x: torch.Tensor) -> torch.Tensor:
        """Data images in [-1, 1] at the current resolution, blended across a fade exactly like G's output."""
        if self.pad:
            a = self.pad // 2
            x = F.pad(x, (a, self.pad - a, a, self.pad - a))
        real = downsample(x * 2 - 1, x.shape[-1] // level_resolution(self.level))
        if self.level > 0 and self.alpha < 1.0:
            real = fade(upsample(downsample(real)), real, self.alpha)
        return real

    def loss(self, phase, x, y):
        level, alpha, cfg, kind = self.level, self.alpha, self.cfg, LOSSES[self.cfg.loss]
        g, d = self.generator, self.discriminator
        n = x.shape[0]
        critic = lambda images: d(images, level, alpha)  # noqa: E731
        if phase == "g":
            loss_g = generator_loss(critic(g(torch.randn(n, g.z, device=x.device), level, alpha)), kind)
            return Loss(loss_g, {"loss_g": loss_g.detach()})
        real = self.real_at_level(x)
        fake = g(torch.randn(n, g.z, device=x.device), level, alpha)  # G is frozen by the loop: no graph
        d_real, d_fake = critic(real), critic(fake)
        loss_d = discriminator_loss(d_real, d_fake, kind)
        logs = {"loss_d": loss_d.detach()}
        if cfg.gp_weight > 0:
            gp = gradient_penalty(critic, real, fake)
            loss_d = loss_d + cfg.gp_weight * gp
            logs["gradient_penalty"] = gp.detach()
        if cfg.loss == "wgan-gp" and cfg.drift > 0:
            loss_d = loss_d + cfg.drift * d_real.pow(2).mean()
        logs.update({"d_real": d_real.detach().mean(), "d_fake": d_fake.detach().mean()})
        return Loss(loss_d, logs)

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample(self, n, generator=None):
        """``n`` images in [0, 1] from the EMA generator at the run's last level (α = 1), nearest-upsampled to the
        training resolution and cropped to the data's."""
        gen = self.generator_ema if self.generator_ema is not None else self.generator
        z = torch.randn(n, gen.z, generator=generator, device=self.device)
        img = ((gen(z, self.last_level) + 1) / 2).clamp(0, 1)
        img = F.interpolate(img, size=(self.grow_resolution,) * 2, mode="nearest")
        a, side = self.pad // 2, self.shape[1]
        return img[..., a:a + side, a:a + side]


# what genlab.models.registry looks up by the family name
Config, Model = PGGANConfig, PGGAN


def reads_model(cfg: PGGANConfig) -> tuple[str, ...]:
    """The shared ``model`` keys this family reads: none (its sizes are its own section's)."""
    return ()
