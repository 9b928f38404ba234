"""Mode coverage on stacked MNIST, the protocol of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018,
section 5.2): each channel of a generated image is read by a classifier trained on MNIST (here the domain
classifier), the three digits name one of the 1,000 modes, and over ``eval.mode_samples`` samples (their 25,600)
a mode is covered when at least one sample falls on it; the KL of the mode histogram q to uniform, KL(q || U),
measures how evenly they are covered (0: perfectly; log 1000 = 6.91: one mode)."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from genlab.metrics.config import EvalConfig
from genlab.data.stacked import MODES
from genlab.data.tensors import to_unit
from genlab.metrics.domain import load_classifier, predict
from genlab.metrics.scoring import Sampler, generate
from genlab.metrics.sharpness import laplacian_variance
from genlab.viz.grids import save_grid


def mode_coverage(images: torch.Tensor, classifier) -> dict:
    """Modes covered and KL(q || uniform) of uint8 stacked images (N×3×H×W) read channel by channel."""
    digits = torch.stack([predict(classifier, images[:, k:k + 1]).argmax(1) for k in range(3)], 1)
    counts = torch.bincount(digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2], minlength=MODES).double()
    q = counts / counts.sum()
    kl = float((q[q > 0] * (q[q > 0] * MODES).log()).sum())
    return {"stacked_modes": int((counts >= 1).sum()), "stacked_kl": kl, "stacked_samples": len(images),
            "stacked_modes_total": MODES}


@torch.no_grad()
def evaluate_stacked(sampler: Sampler, classifier_path: Path, cfg: EvalConfig, seed: int, device: torch.device,
                     grid_dir: Path) -> dict:
    """A stacked-MNIST model's metrics: its mode coverage on ``eval.mode_samples`` samples, their sharpness, and
    ``samples.png``."""
    fake = generate(sampler, cfg.mode_samples, cfg.batch_size, seed, device)
    out = mode_coverage(fake, load_classifier(classifier_path, device))
    out["sharpness"] = laplacian_variance(fake.flatten(0, 1).unsqueeze(1))
    out["reference_kl_uniform"] = expected_kl_of_uniform(cfg.mode_samples)
    save_grid(to_unit(fake[: cfg.grid ** 2]), grid_dir / "samples.png", nrow=cfg.grid)
    return out


def expected_kl_of_uniform(n: int, modes: int = MODES) -> float:
    """KL(q || U) expected from n draws of the uniform itself (≈ (K - 1) / 2n): the floor a perfect model reaches."""
    return (modes - 1) / (2 * n) if n > 0 else math.inf
