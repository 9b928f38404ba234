"""Generative adversarial network (Goodfellow et al. 2014) with the non-saturating, saturating (minimax),
hinge and least-squares losses, ``gan.d_steps`` discriminator updates per generator update, and an
exponential moving average of G's weights for sampling.

``arch: mlp`` is the classic MNIST GAN (LeakyReLU hidden layers, dropout in D, a logit whose
sigmoid is D's probability); ``arch: conv`` is DCGAN-style (Radford et al. 2016: stride-2 convs
with LeakyReLU in D, transposed convs in G). Images are scaled to [-1, 1] for D; G ends in tanh.

Packing (``gan.pack: m``, PacGAN, Lin et al. 2018): D judges m samples at once, concatenated along the channels,
real packs against packs of m generated samples, so a generator that drops modes produces packs D can tell from
data. A step's minibatch of n images makes n/m packs (the same images per step as m = 1, where PacGAN's code
draws m times as many); m = 1 is the plain GAN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from genlab.config import ConfigError, param
from genlab.models.base import EMA, GenerativeModel, Loss, Phase
from genlab.nn.adversarial import discriminator_loss, generator_loss
from genlab.nn.ema import ema_copy
from genlab.nn.minibatch_stddev import MinibatchStddev
from genlab.nn.stacks import ImageToVector, Shape, VectorToImage


@dataclass(frozen=True)
class GANConfig:
    h: int = param(512, "width of G and D (MLP units / conv base channels); 0 = model.h", min=0)
    z: int = param(64, "latent size of G; 0 = model.z", min=0)
    loss: Literal["non-saturating", "saturating", "hinge", "least-squares"] = param(
        "non-saturating", "generator/discriminator loss pair (see genlab.nn.adversarial)")
    d_steps: int = param(1, "discriminator updates per generator update", positive=True)
    lr: float = param(5.0e-4, "Adam lr of both networks (replaces train.lr: GANs want a smaller one)", positive=True)
    beta1: float = param(0.5, "Adam beta1 of both networks (replaces train.beta1; 0.5 as in DCGAN)", min=0.0, max=1.0)
    beta2: float = param(0.999, "Adam beta2 of both networks", min=0.0, max=1.0)
    ema: float = param(0.999, "decay of the EMA of G's weights used for sampling (0 = sample from G itself)",
                       min=0.0, max=1.0)
    dropout: float = param(0.3, "dropout in D's hidden layers", min=0.0, max=0.9)
    mbstd: bool = param(False, "minibatch-stddev feature before D's last layer (Karras et al. 2018)")
    mbstd_group: int = param(4, "group size of the minibatch-stddev statistic", positive=True)
    pack: int = param(1, "samples D judges at once, concatenated (PacGAN's m; 1 = the plain GAN); the batch size must "
                         "divide by it", positive=True)
    steps: int = param(6000, "training steps (0 = train.steps); train.steps still caps it", min=0)


class Generator(nn.Module):
    """G(z): the shared vector-to-image stack, squashed by tanh into [-1, 1] for images."""

    def __init__(self, arch: str, shape: Shape, h: int, z: int, squash: bool = True):
        super().__init__()
        self.z = z
        self.net = VectorToImage(arch, shape, h, z, act=lambda: nn.LeakyReLU(0.2))
        self.squash = squash

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.net(z)
        return torch.tanh(out) if self.squash else out


class Discriminator(nn.Module):
    """D(x) -> logit: the shared image-to-vector stack (LeakyReLU, dropout), optional minibatch stddev, linear head."""

    def __init__(self, arch: str, shape: Shape, h: int, dropout: float = 0.0, mbstd: bool = False,
                 mbstd_group: int = 4):
        super().__init__()
        self.body = nn.Sequential(ImageToVector(arch, shape, h, h, act=lambda: nn.LeakyReLU(0.2), dropout=dropout),
                                  nn.LeakyReLU(0.2))
        self.mbstd = MinibatchStddev(mbstd_group) if mbstd else nn.Identity()
        self.head = nn.Linear(h + int(mbstd), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.mbstd(self.body(x))).squeeze(1)

    @property
    def num_layers(self) -> int:
        """Hidden layers (activations) of the body: the choices of :meth:`features_and_logit`'s ``layer``."""
        return sum(isinstance(m, nn.LeakyReLU) for m in self.body.modules())

    def features_and_logit(self, x: torch.Tensor, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(activation of hidden layer ``layer`` (1-based, flattened), logit): one pass through D.

        The body is a plain chain of layers, so running its leaf modules in order is its forward.
        """
        if not 1 <= layer <= self.num_layers:
            raise ValueError(f"layer must be in 1..{self.num_layers}, got {layer}")
        seen, feat = 0, None
        for m in self.body.modules():
            if next(m.children(), None) is not None:
                continue  # a container: its leaves come next
            x = m(x)
            if isinstance(m, nn.LeakyReLU):
                seen += 1
                if seen == layer:
                    feat = x.flatten(1)
        return feat, self.head(self.mbstd(x)).squeeze(1)


class GAN(GenerativeModel):
    """G and D on the shared stacks (``model.arch``, ``model.h``, ``model.z``); each step ``gan.d_steps`` updates
    of D, then one of G (Goodfellow et al. 2014, Algorithm 1)."""

    def __init__(self, cfg: GANConfig, model, shape, num_classes, steps):
        super().__init__(cfg, model, shape, num_classes, steps)
        self.h, self.z = cfg.h or model.h, cfg.z or model.z
        self.generator = Generator(model.arch, shape, self.h, self.z)
        c, height, width = shape
        self.discriminator = Discriminator(model.arch, (c * cfg.pack, height, width), self.h, cfg.dropout, cfg.mbstd,
                                           cfg.mbstd_group)
        self.generator_ema = ema_copy(self.generator) if cfg.ema > 0 else None
        self.ema = EMA("generator", "generator_ema", cfg.ema) if cfg.ema > 0 else None
        betas = (cfg.beta1, cfg.beta2)
        self.phases = (Phase("d", ("discriminator",), cfg.lr, betas, repeats=cfg.d_steps),
                       Phase("g", ("generator",), cfg.lr, betas))

    def packs(self, images: torch.Tensor) -> torch.Tensor:
        """n images -> n/m packs of m, concatenated along the channels (m = ``gan.pack``; unchanged for m = 1)."""
        m = self.cfg.pack
        if m == 1:
            return images
        n, c, h, w = images.shape
        if n % m:
            raise ConfigError(f"gan.pack: a batch of {n} images does not split into packs of {m}; use a batch size "
                              f"divisible by {m}")
        return images.reshape(n // m, m * c, h, w)

    def loss(self, phase, x, y):
        real, n, gen = x * 2 - 1, x.shape[0], self.generator
        if phase == "d":  # G is frozen by the loop: its samples carry no graph
            fake = gen(torch.randn(n, gen.z, device=x.device))
            real_logits, fake_logits = self.discriminator(self.packs(real)), self.discriminator(self.packs(fake))
            loss_d = discriminator_loss(real_logits, fake_logits, self.cfg.loss)
            return Loss(loss_d, {"loss_d": loss_d.detach(), "d_real": torch.sigmoid(real_logits.detach()).mean(),
                                 "d_fake": torch.sigmoid(fake_logits.detach()).mean()})
        loss_g = generator_loss(self.discriminator(self.packs(gen(torch.randn(n, gen.z, device=x.device)))),
                                self.cfg.loss)
        return Loss(loss_g, {"loss_g": loss_g.detach()})

    @torch.no_grad()
    def sample(self, n, generator=None):
        g = self.generator_ema if self.generator_ema is not None else self.generator
        z = torch.randn(n, g.z, generator=generator, device=self.device)
        return (g(z) + 1) / 2


# what genlab.models.registry looks up by the family name
Config, Model = GANConfig, GAN
