"""Encoder/decoder pair on the shared stacks: the one source of the networks of AE, VAE, AAE and VAE-GAN.

The encoder maps an image to ``stats * z`` numbers (1: a deterministic code; 2: the mean and
log-variance of a Gaussian q(z|x)); the decoder maps a code to the pre-sigmoid mean of p(x|z).
Every model built on it has the encoder capability (:class:`genlab.metrics.latent.Encoder`): it can
reconstruct, encode test images for the latent-space metrics and decode straight lines between codes.
"""

from __future__ import annotations

import torch

from genlab.models.base import GenerativeModel
from genlab.nn.observation import log_likelihood
from genlab.nn.stacks import ImageToVector, VectorToImage


class Autoencoder(GenerativeModel):
    """Encoder ``model.h``-wide with ``stats * z`` outputs, decoder z -> image logits; prior N(0, I)."""

    def __init__(self, cfg, model, shape, num_classes, steps, z: int = 0, h: int = 0, stats: int = 1):
        super().__init__(cfg, model, shape, num_classes, steps)
        self.z, self.h = z or model.z, h or model.h
        self.encoder = ImageToVector(model.arch, shape, self.h, stats * self.z)
        self.decoder = VectorToImage(model.arch, shape, self.h, self.z)

    def code(self, x: torch.Tensor) -> torch.Tensor:
        """The code of ``x`` used for reconstruction and the latent metrics (posterior mean for a VAE)."""
        return self.encoder(x)

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        """Mean of p(x|z) in [0, 1] (the Bernoulli probabilities, or the Gaussian mean)."""
        return torch.sigmoid(self.decoder(z))

    def prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` draws from p(z) = N(0, I) (models with another prior override this)."""
        return torch.randn(n, self.z, generator=generator, device=self.device)

    @torch.no_grad()
    def sample(self, n, generator=None):
        return self.decode_mean(self.prior(n, generator))

    def log_px_given_z(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) (K×N) of the decoder's pixel likelihood (``cfg.likelihood``) for codes z of shape K×N×z."""
        out = self.decoder(z.flatten(0, 1)).unflatten(0, z.shape[:2])
        return log_likelihood(x, out, self.cfg.likelihood, self.cfg.sigma)

    def reconstruction_nll(self, x: torch.Tensor) -> torch.Tensor:
        """-log p(x | z = code(x)) per image (nats): the loss of the deterministic autoencoders."""
        return -log_likelihood(x, self.decoder(self.code(x)), self.cfg.likelihood, self.cfg.sigma)
