"""Adversarial autoencoder (Makhzani et al. 2015).

A deterministic encoder q(z|x) = delta(z - enc(x)) and a decoder are trained to reconstruct, while
a discriminator on the latent code tells prior samples z ~ p(z) from codes of data, i.e. from the
aggregated posterior q(z) = ∫ q(z|x) p_d(x) dx (their eq. 1). The encoder, acting as the GAN's
generator, learns to make q(z) indistinguishable from p(z); the decoder then maps the whole prior
to images, so new images are decoded prior samples. Each step has the paper's two phases
(section 2.1): the reconstruction phase updates encoder and decoder on -log p(x | enc(x)); the
regularization phase updates the discriminator, then the encoder on the generator loss.

Unlike the VAE's KL term, which pulls each q(z|x) towards p(z), only the aggregate is matched, so
p(z) can be any distribution one can sample from (``aae.prior``); with ``aae.supervised`` the
discriminator also sees the one-hot label and prior samples come from that label's component,
which puts every class on its own part of the prior (section 2.3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from genlab.config import ConfigError, param
from genlab.models.autoencoder import Autoencoder
from genlab.models.base import Loss, Phase
from genlab.nn.adversarial import discriminator_loss, generator_loss
from genlab.nn.priors import COMPONENTS, sample_prior
from genlab.nn.stacks import mlp


PROPOSAL_STD = 0.1  # std of the importance-sampling proposal around the code (see AAE.proposal)
REG_BETAS = (0.5, 0.999)  # Adam betas of the regularization phase (DCGAN's)


@dataclass(frozen=True)
class AAEConfig:
    prior: Literal["gaussian", "mixture", "swiss_roll"] = param(
        "gaussian", "p(z): gaussian N(0, I), mixture (10 Gaussians on a circle) or swiss_roll (2-D, paper Fig. 4)")
    supervised: bool = param(False, "give D the one-hot label; class k's codes go to component k (mixture/swiss_roll)")
    z: int = param(0, "latent size (0 = model.z); 2 also draws the latent scatter and the decoded manifold", min=0)
    d_h: int = param(512, "width of the latent discriminator's two hidden layers", positive=True)
    loss: Literal["non-saturating", "saturating", "hinge", "least-squares"] = param(
        "non-saturating", "adversarial loss of the regularization phase (see genlab.nn.adversarial)")
    lr_reg: float = param(5.0e-4, "Adam lr of the regularization phase (D and the encoder as generator)", positive=True)
    likelihood: Literal["bernoulli", "gaussian"] = param(
        "bernoulli", "reconstruction loss -log p(x|z): bernoulli or gaussian with std aae.sigma")
    sigma: float = param(0.1, "std of the gaussian likelihood", positive=True)
    steps: int = param(2000, "training steps (0 = train.steps); train.steps still caps it", min=0)

    def check(self, prefix: str) -> None:
        if self.supervised and self.prior == "gaussian":
            raise ConfigError(f"{prefix}.supervised: needs a prior with one component per class; "
                              f"set {prefix}.prior to mixture or swiss_roll")


class AAE(Autoencoder):
    """Encoder/decoder (the VAE's stacks, deterministic code) and a latent discriminator MLP, trained in the
    paper's phases: ``ae`` (reconstruction), then ``d`` and ``g`` (regularization)."""

    def __init__(self, cfg: AAEConfig, model, shape, num_classes, steps):
        super().__init__(cfg, model, shape, num_classes, steps, z=cfg.z)
        if cfg.prior != "gaussian" and self.z < 2:
            raise ConfigError(f"aae.prior: {cfg.prior} is 2-D; set aae.z (or model.z) to 2 or more")
        self.labels_in_d = COMPONENTS if cfg.supervised else 0
        self.latent_discriminator = mlp([self.z + self.labels_in_d, cfg.d_h, cfg.d_h, 1], lambda: nn.LeakyReLU(0.2))
        self.phases = (Phase("ae", ("encoder", "decoder")),
                       Phase("d", ("latent_discriminator",), cfg.lr_reg, REG_BETAS),
                       Phase("g", ("encoder",), cfg.lr_reg, REG_BETAS))

    def prior(self, n, generator=None, labels=None):
        return sample_prior(self.cfg.prior, n, self.z, generator, self.device, labels)

    def proposal(self, x):
        """N(enc(x), PROPOSAL_STD² I) for the Gaussian prior: the encoder is deterministic, so the proposal is a
        fixed-width Gaussian around the code and nll_iw a looser (still valid) bound than a VAE's. None for the
        mixture and swiss-roll priors, whose log-density is not computed here."""
        if self.cfg.prior != "gaussian":
            return None
        mu = self.code(x)
        return mu, torch.full_like(mu, 2 * math.log(PROPOSAL_STD))

    def discriminate(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Logit of 'z was drawn from the prior' (with the one-hot label when supervised)."""
        if self.labels_in_d:
            z = torch.cat([z, F.one_hot(y, self.labels_in_d).to(z.dtype)], dim=1)
        return self.latent_discriminator(z).squeeze(1)

    def loss(self, phase, x, y):
        if phase == "ae":  # reconstruction phase: encoder and decoder on -log p(x | enc(x))
            rec = self.reconstruction_nll(x).mean()
            return Loss(rec, {"rec": rec.detach()})
        y = y if self.labels_in_d else None
        if phase == "d":  # regularization phase, first D: tell prior draws p(z) from codes q(z) ...
            prior = self.prior(len(x), labels=y)
            loss_d = discriminator_loss(self.discriminate(prior, y), self.discriminate(self.code(x), y), self.cfg.loss)
            return Loss(loss_d, {"loss_d": loss_d.detach()})
        # ... then the encoder, as the generator, fools it
        loss_g = generator_loss(self.discriminate(self.code(x), y), self.cfg.loss)
        return Loss(loss_g, {"loss_g": loss_g.detach()})


# what genlab.models.registry looks up by the family name
Config, Model = AAEConfig, AAE
