"""Likelihood metrics of models with a pixel likelihood: the test ELBO and the importance-weighted bound nll_iw."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from genlab.nn.likelihood import importance_log_likelihood


@runtime_checkable
class ELBO(Protocol):
    """A VAE: the two terms of its evidence lower bound."""

    def elbo_terms(self, x: torch.Tensor, generator: torch.Generator | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """(log p(x|z), KL(q(z|x) || p(z))) per image, with one reparameterized z each."""


@runtime_checkable
class PixelLikelihood(Protocol):
    """A latent-variable model with a density on pixels, p(x) = ∫ p(x|z) p(z) dz, p(z) = N(0, I), and a proposal."""

    def proposal(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Mean and log-variance of a Gaussian proposal q(z|x), or None where p(x) is not defined for this model's
        settings (e.g. a prior whose density is not computed)."""

    def log_px_given_z(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) (K×N) for codes z of shape K×N×z."""


@torch.no_grad()
def average_elbo(model: ELBO, images: torch.Tensor, generator: torch.Generator, batch_size: int = 500) -> float:
    """The ELBO (nats per image, one z sample) averaged over ``images`` in [0, 1]."""
    total = sum(float((rec - kl).sum()) for rec, kl in (model.elbo_terms(x, generator)
                                                        for x in images.split(batch_size)))
    return total / len(images)


@torch.no_grad()
def nll_iw(model: PixelLikelihood, images: torch.Tensor, samples: int, generator: torch.Generator | None,
           batch_size: int = 50) -> dict[str, float]:
    """``nll_iw``: -log (1/K) Σ_k p(x, z_k) / q(z_k|x), z_k ~ q(z|x), averaged over ``images`` (nats per
    image; Burda et al. 2016 eq. 8): an upper bound on -log p(x) in expectation that tightens as K grows
    (K = 1 is -ELBO). Empty where the model's proposal is None."""
    total = 0.0
    for x in images.split(batch_size):
        q = model.proposal(x)
        if q is None:
            return {}
        ll = importance_log_likelihood(lambda z: model.log_px_given_z(x, z), *q, samples, generator)
        total -= float(ll.sum())
    return {"nll_iw": total / len(images), "iw_samples": samples, "iw_images": len(images)}
