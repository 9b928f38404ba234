"""Evaluate a trained model: samples -> domain FID/IS/KID/PR + coverage, model-specific metrics, grids."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from genlab.config import EvalConfig
from genlab.data.tensors import to_uint8, to_unit
from genlab.metrics.coverage import class_coverage
from genlab.metrics.domain import load_classifier, predict
from genlab.metrics.fidelity import fidelity
from genlab.models.base import GenerativeModel
from genlab.viz.grids import interleave_rows, save_grid

log = logging.getLogger(__name__)


@torch.no_grad()
def generate(model: GenerativeModel, n: int, batch_size: int, seed: int) -> torch.Tensor:
    """``n`` uint8 samples (on the CPU), generated in batches from a generator seeded with ``seed``."""
    g = torch.Generator(device=model.device).manual_seed(seed)
    return torch.cat([to_uint8(model.sample(min(batch_size, n - i), g)).cpu() for i in range(0, n, batch_size)])


def real_baseline(train: torch.Tensor, test: torch.Tensor, classifier_path: Path, cfg: EvalConfig, seed: int,
                  device: torch.device, num_classes: int) -> dict:
    """The metrics of real data: ``n_samples`` random training images scored against the test split."""
    n = min(cfg.n_samples, len(train))
    idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:n]
    return _score(train[idx], test, classifier_path, cfg, device, num_classes)


def _score(fake: torch.Tensor, real: torch.Tensor, classifier_path: Path, cfg: EvalConfig, device: torch.device,
           num_classes: int) -> dict:
    metrics = fidelity(fake, real, classifier_path, device, cfg.batch_size, cfg.kid_subset_size)
    probs = predict(load_classifier(classifier_path, device), fake)
    metrics.update(class_coverage(probs, num_classes))
    metrics.update({"n_samples": len(fake), "n_reference": len(real), "extractor": "domain"})
    return metrics


def evaluate_model(model: GenerativeModel, test_images: torch.Tensor, test_labels: torch.Tensor,
                   classifier_path: Path, cfg: EvalConfig, seed: int, grid_dir: Path, name: str,
                   num_classes: int) -> dict:
    """All metrics of ``model`` against the test split; writes ``<name>.png`` (and ``<name>_recon.png``)."""
    device = model.device
    fake = generate(model, cfg.n_samples, cfg.batch_size, seed)
    metrics = _score(fake, test_images, classifier_path, cfg, device, num_classes)
    g = torch.Generator(device=device).manual_seed(seed + 1)
    metrics.update(model.evaluate(to_unit(test_images.to(device)), test_labels.to(device), g))
    k = cfg.grid
    save_grid(to_unit(fake[: k * k]), grid_dir / f"{name}.png", nrow=k)
    originals = to_unit(test_images[: k * k // 2].to(device))
    recon = model.reconstruct(originals)
    if recon is not None:
        save_grid(interleave_rows(originals, recon, k), grid_dir / f"{name}_recon.png", nrow=k)
    return metrics
