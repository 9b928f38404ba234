"""Plain (deterministic) autoencoder: the VAE's networks trained on reconstruction alone.

The loss is the VAE's without the KL term and with a point-mass posterior: -log p(x | z = enc(x)),
which is the VAE's -ELBO at beta = 0 as the encoder's sigma -> 0. Nothing shapes the distribution
of the codes, so decoding z ~ N(0, I) (what a VAE does) lands where no code was ever placed. The
usual fix, also measured here, samples from a Gaussian fitted to the encoded training codes
(``after_training``), a second sampler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from genlab.config import param
from genlab.data.tensors import to_unit
from genlab.models.autoencoder import Autoencoder
from genlab.models.base import Loss, Phase


@dataclass(frozen=True)
class AEConfig:
    likelihood: Literal["bernoulli", "gaussian"] = param(
        "bernoulli", "reconstruction loss -log p(x|z): bernoulli (cross-entropy) or gaussian with std ae.sigma (MSE)")
    sigma: float = param(0.1, "std of the gaussian likelihood (pixels in [0, 1])", positive=True)
    steps: int = param(4000, "training steps (0 = train.steps); train.steps still caps it, so a smoke run stays short",
                       min=0)


class AE(Autoencoder):
    """Deterministic encoder z = enc(x), decoder p(x|z); samplers: N(0, I) and a Gaussian fitted to the codes."""

    phases = (Phase("ae", ("encoder", "decoder")),)

    def __init__(self, cfg: AEConfig, model, shape, num_classes, steps):
        super().__init__(cfg, model, shape, num_classes, steps)
        self.register_buffer("code_mean", torch.zeros(self.z))
        self.register_buffer("code_chol", torch.eye(self.z))  # Cholesky factor of the fitted covariance

    def loss(self, phase, x, y):
        loss = self.reconstruction_nll(x).mean()
        return Loss(loss, {"loss": loss.detach()})

    @torch.no_grad()
    def after_training(self, images):
        """Fit N(m, S) to the codes of every training image: m = mean, S = sample covariance (+1e-6 I)."""
        codes = torch.cat([self.code(to_unit(b.to(self.device))) for b in images.split(1000)])
        self.code_mean.copy_(codes.mean(0))
        cov = torch.cov(codes.T).reshape(self.z, self.z) + 1e-6 * torch.eye(self.z, device=codes.device)
        self.code_chol.copy_(torch.linalg.cholesky(cov))

    def fitted_codes(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z = m + L eps with L L^T = S: draws from the Gaussian fitted to the training codes."""
        eps = torch.randn(n, self.z, generator=generator, device=self.device)
        return self.code_mean + eps @ self.code_chol.T

    @torch.no_grad()
    def sample_fitted(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.decode_mean(self.fitted_codes(n, generator))

    def samplers(self):
        return {"prior": self.sample, "fitted_gaussian": self.sample_fitted}


# what genlab.models.registry looks up by the family name
Config, Model = AEConfig, AE
