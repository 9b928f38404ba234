"""1-D Gaussian mixtures with exact densities, the optimal discriminator and the Jensen-Shannon divergence.

Goodfellow et al. 2014, Proposition 1: for a fixed G the optimal discriminator is
    D*(x) = p_data(x) / (p_data(x) + p_g(x)),
and Theorem 1: at D*, the value of the game is
    V(D*, G) = E_p_data[log D*(x)] + E_p_g[log(1 - D*(x))] = -log 4 + 2 JSD(p_data || p_g).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Mixture1D:
    """Σ_k w_k N(mu_k, sd_k²) on the real line."""

    weights: tuple[float, ...]
    means: tuple[float, ...]
    sds: tuple[float, ...]

    def pdf(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(x, dtype=torch.float64)
        for w, m, s in zip(self.weights, self.means, self.sds):
            out += w * torch.exp(-0.5 * ((x.double() - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
        return out

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        k = torch.multinomial(torch.tensor(self.weights, dtype=torch.float64), n, replacement=True, generator=generator)
        means = torch.tensor(self.means, dtype=torch.float64)[k]
        sds = torch.tensor(self.sds, dtype=torch.float64)[k]
        return means + sds * torch.randn(n, generator=generator, dtype=torch.float64)

    def support(self, k: float = 12.0) -> tuple[float, float]:
        """An interval holding all but a negligible (< 1e-30) share of the mass: means ± k sds."""
        return (min(m - k * s for m, s in zip(self.means, self.sds)),
                max(m + k * s for m, s in zip(self.means, self.sds)))

    def describe(self) -> str:
        return " + ".join(f"{w:g}·N({m:g}, {s:g}²)" for w, m, s in zip(self.weights, self.means, self.sds))


def gaussian(mean: float, sd: float) -> Mixture1D:
    return Mixture1D((1.0,), (mean,), (sd,))


def optimal_discriminator(p: Mixture1D, q: Mixture1D, x: torch.Tensor) -> torch.Tensor:
    """D*(x) = p(x) / (p(x) + q(x)) (Proposition 1); 1/2 where both densities vanish."""
    a, b = p.pdf(x), q.pdf(x)
    total = a + b
    return torch.where(total > 0, a / total.clamp_min(1e-300), torch.full_like(total, 0.5))


def jsd_quadrature(p: Mixture1D, q: Mixture1D, n: int = 600_001) -> float:
    """JSD(p || q) = ½ KL(p || m) + ½ KL(q || m), m = (p + q)/2, in nats, by the trapezoidal rule
    over an interval covering both supports."""
    (a_lo, a_hi), (b_lo, b_hi) = p.support(), q.support()
    x = torch.linspace(min(a_lo, b_lo), max(a_hi, b_hi), n, dtype=torch.float64)
    a, b = p.pdf(x), q.pdf(x)
    m = 0.5 * (a + b)

    def kl_term(f):
        return torch.where(f > 0, f * torch.log(f / m.clamp_min(1e-300)), torch.zeros_like(f))

    return float(torch.trapezoid(0.5 * kl_term(a) + 0.5 * kl_term(b), x))


def value_at_optimum_mc(p: Mixture1D, q: Mixture1D, n: int, generator: torch.Generator) -> float:
    """V(D*, G) = E_p[log D*] + E_q[log(1 - D*)], estimated by Monte Carlo with ``n`` samples of each."""
    xp, xq = p.sample(n, generator), q.sample(n, generator)
    eps = 1e-300
    log_d = torch.log(optimal_discriminator(p, q, xp).clamp_min(eps)).mean()
    log_1md = torch.log((1 - optimal_discriminator(p, q, xq)).clamp_min(eps)).mean()
    return float(log_d + log_1md)
