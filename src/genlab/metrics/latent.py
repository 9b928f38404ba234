"""Latent-space numbers of models with an encoder: how far the codes of data are from the prior, how well they
reconstruct, and how smooth decoded paths between them are."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class Encoder(Protocol):
    """An autoencoder: a code for each image, a decoder, and the prior its samples come from."""

    z: int  # latent size

    def code(self, x: torch.Tensor) -> torch.Tensor:
        """The code of images ``x`` (posterior mean for a VAE)."""

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        """Mean of p(x|z) in [0, 1]."""

    def prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor: ...


@torch.no_grad()
def reconstruct(model: Encoder, x: torch.Tensor) -> torch.Tensor:
    return model.decode_mean(model.code(x))


@torch.no_grad()
def recon_mse(model: Encoder, images: torch.Tensor, batch_size: int = 500) -> float:
    """Pixel MSE of reconstructions from the code, per image, averaged over ``images`` in [0, 1]."""
    total = sum(float((reconstruct(model, x) - x).pow(2).flatten(1).mean(1).sum()) for x in images.split(batch_size))
    return total / len(images)


@torch.no_grad()
def interpolate(model: Encoder, a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """Decoded straight lines z(t) = (1 - t) code(a) + t code(b), t = 0..1 in ``steps``: (pairs·steps)×C×H×W,
    each pair's path contiguous; t = 0 and 1 are the reconstructions of ``a`` and ``b``."""
    za, zb = model.code(a), model.code(b)
    t = torch.linspace(0, 1, steps, device=za.device).view(1, steps, 1)
    path = (1 - t) * za.unsqueeze(1) + t * zb.unsqueeze(1)
    return model.decode_mean(path.flatten(0, 1))

IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def mmd2(x: torch.Tensor, y: torch.Tensor, scales: tuple[float, ...] = IMQ_SCALES) -> float:
    """Unbiased squared maximum mean discrepancy between samples ``x`` (n×d) and ``y`` (m×d).

    MMD²_u = 1/(n(n-1)) Σ_{i≠j} k(x_i, x_j) + 1/(m(m-1)) Σ_{i≠j} k(y_i, y_j) - 2/(nm) Σ_{i,j} k(x_i, y_j)
    (Gretton et al. 2012, eq. 3), with the inverse multiquadratic kernel k(a, b) = C / (C + ||a - b||²),
    C = 2 d s summed over the scales s (as in Tolstikhin et al. 2018, WAE): heavy tails, so codes far
    from the prior still count. ~0 (either sign) when x and y come from one distribution.
    """
    x, y = x.double(), y.double()
    n, m, d = len(x), len(y), x.shape[1]
    dxx, dyy, dxy = torch.cdist(x, x).pow(2), torch.cdist(y, y).pow(2), torch.cdist(x, y).pow(2)
    total = 0.0
    for s in scales:
        c = 2.0 * d * s
        kxx, kyy, kxy = c / (c + dxx), c / (c + dyy), c / (c + dxy)
        total += float((kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
                       + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1)) - 2 * kxy.mean())
    return total


def confident_share(probs: torch.Tensor, threshold: float = 0.9) -> float:
    """Share of images whose top class probability is >= ``threshold`` under the domain classifier.

    Used on the interior points of decoded interpolations: a path that stays on the data manifold
    passes through images the classifier reads as some digit, a path through holes of the latent
    space passes through blobs it cannot name. Chosen over a feature-step statistic because it has
    a fixed scale (0..1), the same meaning for every model, and a real-data reference (pixel
    cross-fades of the same pairs, in baseline.json).
    """
    return float((probs.max(dim=1).values >= threshold).double().mean())
