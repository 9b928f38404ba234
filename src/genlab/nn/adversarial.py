"""Adversarial losses computed from discriminator logits (numerically stable: softplus, never log(sigmoid)).

With D(x) = sigmoid(l(x)): -log D = softplus(-l) and -log(1 - D) = softplus(l).

Discriminator (Goodfellow et al. 2014, eq. 1): maximise E_data[log D(x)] + E_z[log(1 - D(G(z)))],
i.e. minimise softplus(-l_real) + softplus(l_fake).

Generator losses (``kind``):
- ``saturating`` (the minimax game itself): minimise log(1 - D(G(z))) = -softplus(l_fake).
  Its gradient w.r.t. the logit is -sigmoid(l_fake) = -D(G(z)): when D confidently rejects the
  fakes (D(G(z)) -> 0, as early in training) the gradient vanishes and G stops learning.
- ``non-saturating`` (Goodfellow et al. 2014, section 3): minimise -log D(G(z)) = softplus(-l_fake).
  Same fixed point, but the gradient -(1 - D(G(z))) -> -1 exactly where the saturating one dies.
- ``hinge`` (Lim & Ye 2017; Miyato et al. 2018): D minimises relu(1 - l_real) + relu(1 + l_fake),
  G minimises -l_fake.
- ``least-squares`` (Mao et al. 2017, LSGAN with a-b-c = 0-1-1): D minimises ½(l_real - 1)² + ½ l_fake²,
  G minimises ½(l_fake - 1)², on the raw outputs.
- ``wasserstein`` (Arjovsky et al. 2017): the critic minimises l_fake - l_real, G minimises -l_fake;
  it needs a Lipschitz constraint, here the gradient penalty below (WGAN-GP, Gulrajani et al. 2017).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

GAN_LOSSES = ("non-saturating", "saturating", "hinge", "least-squares", "wasserstein")


def discriminator_loss(real: torch.Tensor, fake: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean discriminator loss from the logits of real and generated samples."""
    if kind in ("non-saturating", "saturating"):
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    if kind == "least-squares":
        return 0.5 * ((real - 1.0).pow(2).mean() + fake.pow(2).mean())
    if kind == "wasserstein":
        return fake.mean() - real.mean()
    raise ValueError(f"unknown GAN loss {kind!r}; choose one of {', '.join(GAN_LOSSES)}")


def generator_loss(fake: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean generator loss from the discriminator's logits on generated samples."""
    if kind == "non-saturating":
        return F.softplus(-fake).mean()
    if kind == "saturating":
        return -F.softplus(fake).mean()
    if kind == "hinge":
        return -fake.mean()
    if kind == "least-squares":
        return 0.5 * (fake - 1.0).pow(2).mean()
    if kind == "wasserstein":
        return -fake.mean()
    raise ValueError(f"unknown GAN loss {kind!r}; choose one of {', '.join(GAN_LOSSES)}")


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017, eq. 3): E[(||∇_x̂ D(x̂)||₂ - 1)²] at x̂ = real + u (fake - real),
    u ~ U(0, 1) per sample. ``critic`` maps images to one value each; the graph is kept for backward."""
    u = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, generator=generator)
    x_hat = torch.lerp(real.detach(), fake.detach(), u).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1.0).pow(2).mean()
