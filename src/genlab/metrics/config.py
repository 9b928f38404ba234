"""The params sections of the judge (``classifier``) and of evaluation (``eval``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from genlab.config import param


@dataclass(frozen=True)
class ClassifierConfig:
    judge: Literal["shipped", "train"] = param(
        "shipped", "shipped: genlab's fixed judge of the prepared test split when it ships one (MNIST; stacked MNIST "
        "reads each channel with it), hash-checked, else one trained with the keys below; train: always train one")
    steps: int = param(10000, "training steps of the domain classifier", positive=True)
    batch_size: int = param(128, "batch size", positive=True)
    lr: float = param(3.0e-3, "peak Adam learning rate of a one-cycle schedule", positive=True)
    width: int = param(32, "channels of the first conv layer (the second has twice as many)", positive=True)
    features: int = param(128, "size of the penultimate feature vector used for FID/KID/PR", positive=True)
    shift: int = param(2, "translation augmentation: each training image moves by up to this many pixels", min=0)
    seed: int = param(0, "seed of the classifier's initialization and batches (not the global seed: sweeping seed "
                         "retrains the models, not their judge)", min=0)


@dataclass(frozen=True)
class EvalConfig:
    n_samples: int = param(10000, "generated samples per model (FID is biased by n: compare at equal n)", positive=True)
    batch_size: int = param(500, "samples per generation / feature-extraction batch", positive=True)
    kid_subset_size: int = param(1000, "KID subset size (clipped to the sample count)", positive=True)
    grid: int = param(8, "sample grid side (grid x grid images)", positive=True)
    gap_samples: int = param(2000, "test codes and prior draws compared by latent_prior_gap (MMD²)", min=2)
    interp_pairs: int = param(500, "test-image pairs whose decoded paths give interp_confident", positive=True)
    iw_samples: int = param(200, "K, importance samples per test image for nll_iw and the cVAE's ncll", positive=True)
    iw_images: int = param(0, "test images (the first ones) for nll_iw and ncll; 0 = all on CUDA, 1000 on the CPU",
                           min=0)
    mode_samples: int = param(25600, "samples whose modes are counted for a stacked-MNIST model (the papers' 25,600)",
                              positive=True)
    extractor: Literal["auto", "domain", "inception", "both"] = param(
        "auto", "feature extractor for FID/KID/PR/IS: the domain classifier, the standard Inception v3 (keys end in "
        "_inception), or both; auto = both on CUDA, domain on the CPU (Inception costs ~0.2 s per image there)")
    inception_weights: str = param("", "Inception weights file (torch-fidelity's inception-v3-compat state dict); "
                                   "empty = torch-fidelity's download, else the offline conversion (see README)")

    def iw_subset(self, device_type: str, n_test: int) -> int:
        """How many test images get importance-sampled likelihoods on this device."""
        return min(self.iw_images or (n_test if device_type == "cuda" else 1000), n_test)
