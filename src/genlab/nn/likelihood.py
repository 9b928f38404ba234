"""Importance-sampled log-likelihoods of latent-variable models.

For a model p(x, z) = p(z) p(x|z) and any proposal q(z) that covers the posterior,

    log p(x) = log E_q[p(x, z) / q(z)] ≈ log (1/S) Σ_s p(x, z_s) / q(z_s),   z_s ~ q,      (Burda et al. 2016, eq. 8)

a consistent estimate whose expectation is a lower bound that tightens as S grows (S = 1 is the ELBO).
The conditional VAE uses it with x -> x2 and p(x2, z | x1) (Sohn et al. 2015, eq. 6's CLL estimate).
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from genlab.nn.gaussian import log_normal, reparameterize


def log_mean_exp(x: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """log (1/S) Σ exp(x) along ``dim``, computed stably."""
    return torch.logsumexp(x, dim=dim) - math.log(x.shape[dim])


@torch.no_grad()
def importance_log_likelihood(log_lik: Callable[[torch.Tensor], torch.Tensor], mu: torch.Tensor,
                              logvar: torch.Tensor, samples: int, generator: torch.Generator | None = None,
                              prior: bool = True, chunk: int = 50) -> torch.Tensor:
    """log p(x) per row (N) with the Gaussian proposal q = N(mu, exp(logvar)) (N×z) and ``samples`` draws.

    ``log_lik(z)`` gives log p(x|z) for z of shape K×N×z (K draws per row), returning K×N. With
    ``prior`` the weights are p(x|z) p(z) / q(z) for p(z) = N(0, I); without it they are p(x|z): plain
    Monte Carlo of ∫ p(x|z) q(z) dz, for a model whose latent distribution *is* q (e.g. a cVAE with
    recognition q(z|x1), whose predictive is ∫ p(x2|x1, z) q(z|x1) dz).
    """
    zeros = torch.zeros_like(mu)
    logs = []
    for k in range(0, samples, chunk):
        n = min(chunk, samples - k)
        z = reparameterize(mu.expand(n, *mu.shape), logvar.expand(n, *logvar.shape), generator)
        lw = log_lik(z)
        if prior:
            lw = lw + log_normal(z, zeros, zeros) - log_normal(z, mu, logvar)
        logs.append(lw)
    return log_mean_exp(torch.cat(logs), dim=0)
