"""The params section of the gradient-estimator study (``estimators``)."""

from __future__ import annotations

from dataclasses import dataclass

from genlab.config import param


@dataclass(frozen=True)
class EstimatorsConfig:
    images: int = param(8, "test images in the minibatch whose ELBO gradient is estimated", positive=True)
    n: tuple[int, ...] = param((1, 4, 16, 64), "samples per estimate (the variance is measured at each)", positive=True)
    reps: int = param(200, "repeated estimates at the largest n (a pool of reps x max(n) draws per image)", min=2)
    pilot: int = param(1024, "separate draws per image that estimate the control variate's a*", min=2)
    reference: int = param(4096, "reparameterized draws per image for the reference gradient", positive=True)
