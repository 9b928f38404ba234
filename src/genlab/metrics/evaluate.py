"""Evaluate a trained model: samples -> domain FID/IS/KID/PR, coverage and sharpness; latent-space numbers
for models with an encoder; the model's own metrics; grids."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import torch

from genlab.config import EvalConfig
from genlab.data.tensors import to_uint8, to_unit
from genlab.metrics.coverage import class_coverage
from genlab.metrics.domain import DomainClassifier, load_classifier, predict
from genlab.metrics.fidelity import FeatureScorer, extractors_for
from genlab.metrics.inception import resolve_weights
from genlab.metrics.latent import confident_share, mmd2
from genlab.metrics.sharpness import laplacian_variance
from genlab.models.autoencoder import Autoencoder
from genlab.models.base import GenerativeModel
from genlab.viz.grids import interleave_rows, save_grid
from genlab.viz.latent import plot_latent, save_manifold

log = logging.getLogger(__name__)

Sampler = Callable[[int, torch.Generator | None], torch.Tensor]
INTERP_STEPS = 10  # points per decoded path, endpoints included


@torch.no_grad()
def generate(sampler: Sampler, n: int, batch_size: int, seed: int, device: torch.device) -> torch.Tensor:
    """``n`` uint8 samples (on the CPU), drawn in batches with a generator seeded with ``seed``."""
    g = torch.Generator(device=device).manual_seed(seed)
    return torch.cat([to_uint8(sampler(min(batch_size, n - i), g)).cpu() for i in range(0, n, batch_size)])


def interp_pairs(n_images: int, pairs: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed random test-image pairs (a_i != b_i) for interpolations: the same for every model and the baseline."""
    g = torch.Generator().manual_seed(seed + 7)
    a = torch.randint(0, n_images, (pairs,), generator=g)
    b = (a + torch.randint(1, n_images, (pairs,), generator=g)) % n_images
    return a, b


def check_extractors(cfg: EvalConfig, device: torch.device) -> None:
    """Find (and on first use convert) the Inception weights if ``eval.extractor`` needs them; DataError if none."""
    if "inception" in extractors_for(cfg.extractor, device):
        resolve_weights(cfg.inception_weights)


class Scoring:
    """The extractors chosen by ``eval.extractor``, built once, with the real reference's features (cached)."""

    def __init__(self, reference: torch.Tensor, classifier_path: Path, cfg: EvalConfig, device: torch.device):
        self.names = extractors_for(cfg.extractor, device)
        self.scorers = []
        for name in self.names:
            weights = classifier_path if name == "domain" else resolve_weights(cfg.inception_weights)
            self.scorers.append(FeatureScorer(name, weights, device, cfg.batch_size, cfg.kid_subset_size))
        self.reference = [s.reference(reference) for s in self.scorers]
        self.n_reference = len(reference)

    def __call__(self, fake: torch.Tensor, domain_only: bool = False) -> dict:
        """Scores of ``fake`` with every extractor (``domain_only``: the domain one alone, for a model's extra
        samplers, which would otherwise cost Inception's ~0.2 s per image on a CPU)."""
        out: dict = {}
        names = [n for n in self.names if n == "domain" or not domain_only or self.names == ("inception",)]
        for name, scorer, real in zip(self.names, self.scorers, self.reference):
            if name in names:
                out.update(scorer.score(fake, real))
        out.update({"n_samples": len(fake), "n_reference": self.n_reference, "extractor": "+".join(names)})
        if "inception" in names:
            out["inception_weights"] = str(self.scorers[self.names.index("inception")].weights.name)
        return out


def real_baseline(train: torch.Tensor, test: torch.Tensor, classifier_path: Path, cfg: EvalConfig, seed: int,
                  device: torch.device, num_classes: int) -> dict:
    """The metrics of real data: ``n_samples`` random training images scored against the test split, and the
    confident share of pixel-space cross-fades between the interpolation pairs (the reference for models)."""
    n = min(cfg.n_samples, len(train))
    idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:n]
    clf = load_classifier(classifier_path, device)
    metrics = _score(train[idx], Scoring(test, classifier_path, cfg, device), clf, num_classes)
    a, b = interp_pairs(len(test), cfg.interp_pairs, seed)
    t = torch.linspace(0, 1, INTERP_STEPS).view(1, INTERP_STEPS, 1, 1, 1)
    fades = (1 - t) * to_unit(test[a]).unsqueeze(1) + t * to_unit(test[b]).unsqueeze(1)
    metrics["interp_confident"] = confident_share(predict(clf, to_uint8(fades[:, 1:-1].flatten(0, 1))))
    return metrics


def _score(fake: torch.Tensor, scoring: Scoring, classifier: DomainClassifier, num_classes: int,
           domain_only: bool = False) -> dict:
    metrics = scoring(fake, domain_only)
    probs = predict(classifier, fake)
    metrics.update(class_coverage(probs, num_classes))
    metrics["sharpness"] = laplacian_variance(fake)
    return metrics


def evaluate_model(model: GenerativeModel, test_images: torch.Tensor, test_labels: torch.Tensor,
                   classifier_path: Path, cfg: EvalConfig, seed: int, grid_dir: Path, name: str,
                   num_classes: int) -> dict:
    """All metrics of ``model`` against the test split, and its grids under ``grid_dir``.

    Every sampler of the model is scored (the Inception extractor, when chosen, scores the first only); the
    first gives the top-level metrics and ``<name>.png``,
    each other one a nested dict and ``<name>_<sampler>.png``. Models with an encoder also get
    ``<name>_recon.png``, ``<name>_interp.png`` and, with a 2-D latent, ``<name>_latent.png`` and
    ``<name>_manifold.png``.
    """
    device, k = model.device, cfg.grid
    clf = load_classifier(classifier_path, device)
    metrics: dict = {}
    test_unit, test_labels = to_unit(test_images.to(device)), test_labels.to(device)
    model.condition_on(test_unit, test_labels)
    if model.conditioned_on():
        metrics["conditioned_on"] = model.conditioned_on()
    scoring = Scoring(test_images, classifier_path, cfg, device)
    for i, (sampler_name, sampler) in enumerate(model.samplers().items()):
        fake = generate(sampler, cfg.n_samples, cfg.batch_size, seed, device)
        scores = _score(fake, scoring, clf, num_classes, domain_only=i > 0)
        if i == 0:
            metrics.update(scores)
            save_grid(to_unit(fake[: k * k]), grid_dir / f"{name}.png", nrow=k)
        else:
            metrics[sampler_name] = scores
            save_grid(to_unit(fake[: k * k]), grid_dir / f"{name}_{sampler_name}.png", nrow=k)
    g = torch.Generator(device=device).manual_seed(seed + 1)
    metrics.update(model.evaluate(test_unit, test_labels, g, cfg))
    g = torch.Generator(device=device).manual_seed(seed + 3)
    for key, (images, wanted) in model.labelled_samples(cfg.n_samples, g).items():
        metrics[f"{key}_accuracy"] = float((predict(clf, to_uint8(images)).argmax(1) == wanted.cpu()).float().mean())
    for key, (images, nrow) in model.figures(test_unit, test_labels, g, k).items():
        save_grid(images, grid_dir / f"{name}_{key}.png", nrow=nrow)
    originals = test_unit[: k * k // 2]
    recon = model.reconstruct(originals)
    if recon is not None:
        save_grid(interleave_rows(originals, recon, k), grid_dir / f"{name}_recon.png", nrow=k)
    if isinstance(model, Autoencoder):
        n = cfg.iw_subset(device.type, len(test_unit))
        metrics.update(model.nll_iw(test_unit[:n], cfg.iw_samples, torch.Generator(device=device).manual_seed(seed + 4)))
        metrics.update(latent_metrics(model, test_images, test_labels, clf, cfg, seed, grid_dir, name))
    return metrics


@torch.no_grad()
def latent_metrics(model: Autoencoder, images: torch.Tensor, labels: torch.Tensor, classifier: DomainClassifier,
                   cfg: EvalConfig, seed: int, grid_dir: Path, name: str) -> dict:
    """``latent_prior_gap`` (MMD² between codes of test images and prior draws), ``interp_confident``
    (confident share of the interior points of decoded test-pair paths), and their figures."""
    device = model.device
    g = torch.Generator(device=device).manual_seed(seed + 2)
    n = min(cfg.gap_samples, len(images))
    codes = torch.cat([model.code(to_unit(b.to(device))) for b in images[:n].split(cfg.batch_size)])
    prior = model.prior(n, g)
    out = {"latent_prior_gap": mmd2(codes, prior), "latent_samples": n}
    a, b = interp_pairs(len(images), cfg.interp_pairs, seed)
    paths = torch.cat([model.interpolate(to_unit(images[ia].to(device)), to_unit(images[ib].to(device)), INTERP_STEPS)
                       for ia, ib in zip(a.split(cfg.batch_size // INTERP_STEPS + 1),
                                         b.split(cfg.batch_size // INTERP_STEPS + 1))])
    interior = paths.view(len(a), INTERP_STEPS, *paths.shape[1:])[:, 1:-1].flatten(0, 1)
    out["interp_confident"] = confident_share(predict(classifier, to_uint8(interior)))
    out["interp_pairs"] = len(a)
    save_grid(paths[: cfg.grid * INTERP_STEPS], grid_dir / f"{name}_interp.png", nrow=INTERP_STEPS)
    if model.z == 2:
        plot_latent(codes.cpu(), labels[:n].cpu(), prior.cpu(), grid_dir / f"{name}_latent.png", name)
        save_manifold(model, prior, grid_dir / f"{name}_manifold.png")
    return out
