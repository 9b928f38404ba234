"""Observation models p(x|z) of the decoders: Bernoulli (cross-entropy) or a Gaussian of fixed std on pixels."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def log_likelihood(x: torch.Tensor, out: torch.Tensor, kind: str, sigma: float,
                   mask: torch.Tensor | None = None) -> torch.Tensor:
    """log p(x|z) per image, summed over pixels (those where ``mask`` is 1, if given: a conditional model's
    missing part); ``out`` is the decoder output (logits / pre-sigmoid mean)."""
    if kind == "bernoulli":
        per_pixel = -F.binary_cross_entropy_with_logits(out, x.expand_as(out), reduction="none")
    else:
        per_pixel = -(x - torch.sigmoid(out)).pow(2) / (2 * sigma**2) - 0.5 * math.log(2 * math.pi * sigma**2)
    if mask is not None:
        per_pixel = per_pixel * mask
    return per_pixel.flatten(-3).sum(-1)
