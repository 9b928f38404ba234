"""Monte-Carlo gradient estimators of ∇_φ E_q(z;φ)[f(z)] for a diagonal Gaussian q = N(mu, diag exp(logvar)).

All three are written per sample as the gradient with respect to q's parameters (mu, logvar); the
gradient with respect to network weights that produce (mu, logvar) is J^T times it (chain rule).

- Reparameterization (Kingma & Welling 2014): z = mu + sigma·eps, so
  ∇_mu f = f'(z) and ∇_logvar f = f'(z) · eps · sigma / 2.
- Score function / REINFORCE (Williams 1992): ∇_φ E_q[f] = E_q[f(z) ∇_φ log q(z)] with
  ∇_mu log q = eps / sigma and ∇_logvar log q = (eps² - 1) / 2. Needs only values of f.
- Score function with a control variate: g = ∇_φ log q has E_q[g] = 0, so
  f̂ = f·g - a·(g - E[g]) = (f - a)·g is unbiased for any a, and its variance is smallest at
  a* = cov(f·g, g) / var(g), where var f̂ / var(f·g) = 1 - corr(f·g, g)²   (the optimal baseline).
"""

from __future__ import annotations

import torch


def reparam_terms(df_dz: torch.Tensor, eps: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-sample reparameterization gradients with respect to (mu, logvar): ...×2z."""
    return torch.cat([df_dz, df_dz * eps * (0.5 * logvar).exp() * 0.5], -1)


def score(eps: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """∇_(mu, logvar) log N(z; mu, sigma²) at z = mu + sigma·eps: (eps / sigma, (eps² - 1) / 2), ...×2z."""
    return torch.cat([eps * (-0.5 * logvar).exp(), 0.5 * (eps**2 - 1)], -1)


def score_terms(f: torch.Tensor, eps: torch.Tensor, logvar: torch.Tensor, baseline: torch.Tensor | float = 0.0
                ) -> torch.Tensor:
    """Per-sample score-function gradients (f - baseline)·∇ log q; baseline 0 is plain REINFORCE."""
    return (f - baseline).unsqueeze(-1) * score(eps, logvar)


def optimal_a(h: torch.Tensor, g: torch.Tensor, metric: torch.Tensor | None = None) -> torch.Tensor:
    """a* = cov(h, g) / var(g) over the samples (dim 0) of vector estimates h and control variates g (S×d).

    For vectors, "variance" is the total variance under the inner product ``metric`` (d×d, default the
    identity): a* = tr(M cov(h, g)) / tr(M cov(g, g)) minimises tr(M cov(h - a g)) over a scalar a.
    """
    hc, gc = h - h.mean(0), g - g.mean(0)
    m = torch.eye(h.shape[-1], dtype=h.dtype, device=h.device) if metric is None else metric
    return ((hc @ m) * gc).sum() / ((gc @ m) * gc).sum()


def variance_ratio_predicted(h: torch.Tensor, g: torch.Tensor, metric: torch.Tensor | None = None) -> torch.Tensor:
    """1 - corr(h, g)²: the variance left by the optimal control variate, from the same samples (S×d)."""
    hc, gc = h - h.mean(0), g - g.mean(0)
    m = torch.eye(h.shape[-1], dtype=h.dtype, device=h.device) if metric is None else metric
    c_hg, c_gg, c_hh = ((hc @ m) * gc).sum(), ((gc @ m) * gc).sum(), ((hc @ m) * hc).sum()
    return 1 - c_hg**2 / (c_gg * c_hh)


def total_variance(estimates: torch.Tensor, metric: torch.Tensor | None = None) -> torch.Tensor:
    """tr(M cov) of repeated vector estimates (R×d): the expected squared distance from their mean."""
    c = estimates - estimates.mean(0)
    m = torch.eye(c.shape[-1], dtype=c.dtype, device=c.device) if metric is None else metric
    return ((c @ m) * c).sum() / (len(c) - 1)
