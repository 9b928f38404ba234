"""Scoring samples like the real data: fidelity against the test split with the chosen extractors (features of the
reference cached), class coverage and sharpness; and the real data's own scores, the row every model is read
against."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from genlab import memory
from genlab.metrics.config import EvalConfig
from genlab.data.tensors import to_uint8, to_unit
from genlab.metrics.coverage import class_coverage
from genlab.metrics.domain import DomainClassifier, load_classifier, predict
from genlab.metrics.fidelity import FeatureScorer, extractors_for
from genlab.metrics.inception import resolve_weights
from genlab.metrics.latent import confident_share
from genlab.metrics.sharpness import laplacian_variance

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


FEATURE_DIMS = {"domain": 256, "inception": 2048 + 1008}  # per image, about: features and logits


def check_memory(cfg: EvalConfig, n_samples: int, shape, n_reference: int, device: torch.device) -> None:
    """Refuse (one line) scoring ``n_samples`` images of ``shape`` against ``n_reference`` when the tensors that takes
    do not fit in memory."""
    dims = sum(FEATURE_DIMS[name] for name in extractors_for(cfg.extractor, device))
    memory.check_evaluation(n_samples, shape, n_reference, dims, device)


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
        samplers, which would otherwise cost Inception's ~0.2 s per image on a CPU), and under ``"probs"`` the
        domain classifier's class probabilities of ``fake`` when its extractor ran (its logits are one of the
        extracted layers: the classifier runs over the samples once)."""
        out: dict = {}
        names = [n for n in self.names if n == "domain" or not domain_only or self.names == ("inception",)]
        for name, scorer, real in zip(self.names, self.scorers, self.reference):
            if name in names:
                features = scorer.features(fake)
                out.update(scorer.score(fake, real, features))
                if name == "domain":
                    out["probs"] = torch.softmax(features[scorer.is_layer], dim=1)
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
    metrics = score_samples(train[idx], Scoring(test, classifier_path, cfg, device), clf, num_classes)
    a, b = interp_pairs(len(test), cfg.interp_pairs, seed)
    t = torch.linspace(0, 1, INTERP_STEPS).view(1, INTERP_STEPS, 1, 1, 1)
    fades = (1 - t) * to_unit(test[a]).unsqueeze(1) + t * to_unit(test[b]).unsqueeze(1)
    metrics["interp_confident"] = confident_share(predict(clf, to_uint8(fades[:, 1:-1].flatten(0, 1))))
    return metrics


def score_samples(fake: torch.Tensor, scoring: Scoring, classifier: DomainClassifier, num_classes: int,
           domain_only: bool = False) -> dict:
    """The fidelity scores of uint8 ``fake`` (:class:`Scoring`), its class coverage and its sharpness."""
    metrics = scoring(fake, domain_only)
    probs = metrics.pop("probs", None)
    if probs is None:  # the domain extractor did not run (eval.extractor: inception)
        probs = predict(classifier, fake)
    metrics.update(class_coverage(probs, num_classes))
    metrics["sharpness"] = laplacian_variance(fake)
    return metrics
