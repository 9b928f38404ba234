"""Variational autoencoder (Kingma & Welling 2014), with the beta weight of Higgins et al. 2017.

Encoder q(z|x) = N(mu(x), diag sigma²(x)), prior p(z) = N(0, I), decoder p(x|z) Bernoulli (logits)
or Gaussian with fixed std. Trained by maximising the ELBO

    ELBO(x) = E_q(z|x)[log p(x|z)] - KL(q(z|x) || p(z))        (Kingma & Welling 2014, eq. 3)

with one reparameterized sample of z per image (:func:`genlab.nn.gaussian.reparameterize`) and the KL
in closed form (their Appendix B).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from genlab.config import param
from genlab.models.autoencoder import Autoencoder
from genlab.models.base import Loss, Phase
from genlab.nn.gaussian import gaussian_kl, reparameterize
from genlab.nn.observation import log_likelihood


@dataclass(frozen=True)
class VAEConfig:
    beta: float = param(1.0, "weight of the KL term (1 = the ELBO; beta-VAE otherwise)", min=0.0)
    likelihood: Literal["bernoulli", "gaussian"] = param(
        "bernoulli", "decoder p(x|z): bernoulli on pixel intensities, or gaussian with std vae.sigma")
    sigma: float = param(0.1, "std of the gaussian likelihood (pixels in [0, 1])", positive=True)
    h: int = param(0, "width of encoder and decoder (0 = model.h)", min=0)
    steps: int = param(0, "training steps (0 = train.steps); train.steps still caps it", min=0)


class VAE(Autoencoder):
    """Gaussian-encoder VAE on the shared MLP / conv stacks (``model.arch``, ``model.h``, ``model.z``)."""

    phases = (Phase("vae", ("encoder", "decoder")),)

    def __init__(self, cfg: VAEConfig, model, shape, num_classes, steps, h: int = 0):
        super().__init__(cfg, model, shape, num_classes, steps, h=h or cfg.h, stats=2)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|x)."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def code(self, x):
        return self.encode(x)[0]

    def proposal(self, x):
        """q(z|x) itself: nll_iw is the IWAE bound (Burda et al. 2016)."""
        return self.encode(x)

    def elbo_terms(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """(log p(x|z), KL(q(z|x) || p(z))) per image, with one reparameterized z each."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, generator)
        rec = log_likelihood(x, self.decoder(z), self.cfg.likelihood, self.cfg.sigma)
        return rec, gaussian_kl(mu, logvar)

    def loss(self, phase, x, y):
        rec, kl = self.elbo_terms(x)
        loss = -(rec - self.cfg.beta * kl).mean()
        return Loss(loss, {"loss": loss.detach(), "rec": -rec.detach().mean(), "kl": kl.detach().mean()})


# what genlab.models.registry looks up by the family name
Config, Model = VAEConfig, VAE
