"""Diagonal Gaussians of the latent-variable models: sampling by reparameterization, KL to N(0, I), log-density."""

from __future__ import annotations

import math

import torch


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I) (Kingma & Welling 2014, eq. 4 / section 2.4).

    Drawing z ~ q(z|x) directly is not differentiable in the parameters of q: the sample is a
    random function of them with no path for the gradient. Writing it as a deterministic,
    differentiable transform of parameter-free noise eps moves the randomness out of the graph,
    so d z / d mu = 1 and d z / d sigma = eps, and E_q[f(z)] = E_eps[f(mu + sigma * eps)] can be
    differentiated under the expectation with low variance.
    """
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma²) || N(0, I)) per row = ½ Σ_j (mu_j² + sigma_j² - 1 - log sigma_j²) (K&W 2014, App. B)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag exp(logvar)) summed over the last dimension."""
    return -0.5 * (((z - mu) ** 2) / logvar.exp() + logvar + math.log(2 * math.pi)).sum(-1)
