"""Encoder/decoder pair on the shared stacks: the one source of the networks of AE, VAE, AAE and VAE-GAN.

The encoder maps an image to ``stats * z`` numbers (1: a deterministic code; 2: the mean and
log-variance of a Gaussian q(z|x)); the decoder maps a code to the pre-sigmoid mean of p(x|z).
Every model built on it can reconstruct, encode test images for the latent-space metrics, and
decode straight lines between codes (interpolations).
"""

from __future__ import annotations

import torch

from genlab.metrics.likelihood import importance_log_likelihood
from genlab.models.base import GenerativeModel
from genlab.nn.observation import log_likelihood
from genlab.nn.stacks import ImageToVector, VectorToImage


class Autoencoder(GenerativeModel):
    """Encoder ``model.h``-wide with ``stats * z`` outputs, decoder z -> image logits; prior N(0, I)."""

    def __init__(self, cfg, model, train, shape, num_classes, z: int = 0, h: int = 0, stats: int = 1):
        super().__init__(cfg, model, train, shape, num_classes)
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

    @torch.no_grad()
    def reconstruct(self, x):
        return self.decode_mean(self.code(x))

    @torch.no_grad()
    def interpolate(self, a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
        """Decoded straight lines z(t) = (1 - t) code(a) + t code(b), t = 0..1 in ``steps``: (pairs·steps)×C×H×W,
        each pair's path contiguous; t = 0 and 1 are the reconstructions of ``a`` and ``b``."""
        za, zb = self.code(a), self.code(b)
        t = torch.linspace(0, 1, steps, device=za.device).view(1, steps, 1)
        path = (1 - t) * za.unsqueeze(1) + t * zb.unsqueeze(1)
        return self.decode_mean(path.flatten(0, 1))

    def proposal(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Mean and log-variance of the Gaussian proposal for importance-sampling log p(x), or None where the
        model defines no pixel likelihood p(x) = ∫ p(x|z) p(z) dz (plain AE: no prior was fitted in training)."""
        return None

    def log_px_given_z(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) (K×N) for codes z of shape K×N×z."""
        out = self.decoder(z.flatten(0, 1)).unflatten(0, z.shape[:2])
        return log_likelihood(x, out, self.cfg.likelihood, self.cfg.sigma)

    @torch.no_grad()
    def nll_iw(self, images: torch.Tensor, samples: int, generator: torch.Generator | None,
               batch_size: int = 50) -> dict[str, float]:
        """``nll_iw``: -log (1/K) Σ_k p(x, z_k) / q(z_k|x), z_k ~ q(z|x), averaged over ``images`` (nats per
        image; Burda et al. 2016 eq. 8): an upper bound on -log p(x) in expectation that tightens as K grows
        (K = 1 is -ELBO). Empty where :meth:`proposal` is None."""
        total = 0.0
        for x in images.split(batch_size):
            q = self.proposal(x)
            if q is None:
                return {}
            ll = importance_log_likelihood(lambda z: self.log_px_given_z(x, z), *q, samples, generator)
            total -= float(ll.sum())
        return {"nll_iw": total / len(images), "iw_samples": samples, "iw_images": len(images)}

    @torch.no_grad()
    def evaluate(self, images, labels, generator, cfg):
        """Pixel MSE of reconstructions from the code, on the test split."""
        mse = sum(float((self.reconstruct(x) - x).pow(2).flatten(1).mean(1).sum()) for x in images.split(500))
        return {"recon_mse": mse / len(images)}
