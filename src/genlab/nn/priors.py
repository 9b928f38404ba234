"""Latent priors p(z) for the adversarial autoencoder (Makhzani et al. 2015, sections 2-4).

Only samples are needed: the AAE matches the aggregated posterior to p(z) with a discriminator,
so any distribution one can sample from is a valid prior. Each prior can also draw from the
component of a given class (``labels``), which the label-supervised AAE uses to place every class
on its own part of the prior (their section 2.3, Figure 4).

- ``gaussian``: N(0, I).
- ``mixture``: 10 Gaussians in the first two dimensions with centres on a circle of radius 4,
  each elongated along its radius (std 1) and narrow across it (std 0.25), like the paper's
  Figure 4 (their exact widths are not given); other dimensions N(0, 1).
- ``swiss_roll``: the 2-D swiss roll of their Figure 4, cut into 10 consecutive arcs, one per
  class; other dimensions N(0, 1).
"""

from __future__ import annotations

import math

import torch

PRIORS = ("gaussian", "mixture", "swiss_roll")
COMPONENTS = 10


def sample_prior(kind: str, n: int, z: int, generator: torch.Generator | None = None,
                 device: torch.device | str = "cpu", labels: torch.Tensor | None = None) -> torch.Tensor:
    """``n`` draws from prior ``kind`` in ``z`` dimensions; with ``labels`` (0-9), from those classes' components."""
    out = torch.randn(n, z, generator=generator, device=device)
    if kind == "gaussian":
        return out
    if z < 2:
        raise ValueError(f"the {kind} prior is 2-D and needs a latent size >= 2 (got {z})")
    if labels is None:
        labels = torch.randint(0, COMPONENTS, (n,), generator=generator, device=device)
    labels = labels.to(device).float()
    if kind == "mixture":
        angle = 2 * math.pi * labels / COMPONENTS
        radial, across = 4.0 + 1.0 * out[:, 0], 0.25 * out[:, 1]
        out[:, 0] = radial * torch.cos(angle) - across * torch.sin(angle)
        out[:, 1] = radial * torch.sin(angle) + across * torch.cos(angle)
        return out
    if kind == "swiss_roll":
        u = (labels + torch.rand(n, generator=generator, device=device)) / COMPONENTS  # arc k covers u in [k, k+1)/10
        theta = 1.5 * math.pi * (1 + 2 * u)
        out[:, 0] = theta * torch.cos(theta) / 3 + 0.1 * out[:, 0]
        out[:, 1] = theta * torch.sin(theta) / 3 + 0.1 * out[:, 1]
        return out
    raise ValueError(f"unknown prior {kind!r}; choose one of {', '.join(PRIORS)}")
