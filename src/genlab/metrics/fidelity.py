"""FID, KID, precision/recall and IS through torch-fidelity's feature extractors and metric functions.

FID, KID and IS are torch-fidelity's functions; precision/recall computes torch-fidelity's numbers in fewer passes
(:func:`precision_recall` takes the fake-to-real distances once, and the reference's k-NN radii once per reference);
tests/test_metrics.py checks every metric against ``torch_fidelity.calculate_metrics``. The classifier's logits,
extracted for IS, also give the class coverage: it runs over the samples once.

Two extractors (``eval.extractor``):

- ``domain``: the domain classifier, registered with torch-fidelity; ``features`` (penultimate layer) feed
  FID/KID/precision-recall and ``logits`` the Inception Score. Metric keys: ``fid``, ``is``, ``kid``, ...
- ``inception``: the standard TF Inception v3 (:mod:`genlab.metrics.inception`), pool features (2048) and
  unbiased logits. Metric keys carry ``_inception``: ``fid_inception``, ... IS is absent when the weights have no
  classifier layer.

Features of the real reference are cached per (images, extractor weights): the key hashes the uint8 tensor
(so dataset, split and n are all in it) and the weights file. Cached files are plain tensors, loaded with
``weights_only=True``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
import torch_fidelity
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY
from torch_fidelity.utils import create_feature_extractor

from genlab.data.tensors import to_unit
from genlab.errors import DataError
from genlab.io import read_checked, save_torch, sha256
from genlab.metrics import inception
from genlab.metrics.domain import load_classifier

DOMAIN = "genlab-domain"
# extractor -> (torch-fidelity name, layer for FID/KID/PR, layer for IS, suffix of the metric keys)
EXTRACTORS = {
    "domain": (DOMAIN, "features", "logits", ""),
    "inception": (inception.EXTRACTOR, "2048", "logits_unbiased", "_inception"),
}
KID_SUBSETS = 100
PRC_NEIGHBORHOOD = 3  # k of the k-NN balls of precision/recall (torch-fidelity's default)
INCEPTION_BATCH = 100
RNG_SEED = 2020  # torch-fidelity's default seed for KID subsets and the IS shuffle
log = logging.getLogger(__name__)


class DomainFeatureExtractor(FeatureExtractorBase):
    """torch-fidelity adapter for :class:`DomainClassifier`; weights from ``feature_extractor_weights_path``."""

    def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
        super().__init__(name, features_list)
        if feature_extractor_weights_path is None:
            raise ValueError("the domain extractor needs feature_extractor_weights_path (the classifier file)")
        self.net = load_classifier(Path(feature_extractor_weights_path))

    @staticmethod
    def get_provided_features_list():
        return "features", "logits"

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return {"isc": "logits"}.get(metric, "features")

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return None

    def forward(self, x: torch.Tensor):
        features, logits = self.net(to_unit(x) if x.dtype == torch.uint8 else x)
        out = {"features": features, "logits": logits}
        return tuple(out[name] for name in self.features_list)


if DOMAIN not in FEATURE_EXTRACTORS_REGISTRY:
    torch_fidelity.register_feature_extractor(DOMAIN, DomainFeatureExtractor)


def cache_dir() -> Path:
    """Where real-data features are cached: ``$GENLAB_CACHE/features`` (default ``~/.cache/genlab``)."""
    return Path(os.environ.get("GENLAB_CACHE", "~/.cache/genlab")).expanduser() / "features"


class FeatureScorer:
    """One extractor, built once: features of uint8 images in batches, and the metrics of fake vs real."""

    def __init__(self, extractor: str, weights: Path, device: torch.device, batch_size: int = 500,
                 kid_subset_size: int = 1000):
        if extractor not in EXTRACTORS:
            raise ValueError(f"unknown extractor {extractor!r}; choose one of {', '.join(EXTRACTORS)}")
        self.extractor, self.weights, self.device = extractor, Path(weights), device
        name, self.layer, self.is_layer, self.suffix = EXTRACTORS[extractor]
        self.has_is = extractor == "domain" or inception.has_classifier(self.weights)
        layers = [self.layer] + ([self.is_layer] if self.has_is else [])
        self.net = create_feature_extractor(name, layers, cuda=False, feature_extractor_weights_path=str(weights),
                                            verbose=False).to(device)
        # Inception runs at 299x299: cap its batch (~30 MB of activations per image)
        self.batch_size = min(batch_size, INCEPTION_BATCH) if extractor == "inception" else batch_size
        self.kid_subset_size = kid_subset_size
        self.weights_digest = sha256(self.weights)[:12]
        self._radii: tuple[torch.Tensor, torch.Tensor] | None = None  # (reference features, their k-NN radii)

    @torch.inference_mode()
    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Features (on the CPU) of a uint8 N×C×H×W tensor, extracted ``batch_size`` images at a time."""
        parts: dict[str, list[torch.Tensor]] = {}
        for batch in images.split(self.batch_size):
            for k, v in self._extract(batch).items():
                parts.setdefault(k, []).append(v)
        return {k: torch.cat(v) for k, v in parts.items()}

    @torch.inference_mode()
    def _extract(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.net.convert_features_tuple_to_dict(self.net(batch.to(self.device)))
        return {k: v.float().cpu() for k, v in out.items()}

    def cache_key(self, images: torch.Tensor) -> str:
        shape = "x".join(map(str, images.shape))
        return f"{self.extractor}-w{self.weights_digest}-x{sha256(images)[:16]}-{images.dtype}-{shape}"

    def reference(self, images: torch.Tensor, cache: bool = True) -> dict[str, torch.Tensor]:
        """Features of the real images, read from / written to the cache (see :func:`cache_dir`)."""
        path = cache_dir() / f"{self.cache_key(images)}.pt"
        if cache and path.is_file():
            try:
                feats = read_checked(path, "features", "recomputing the features")
                if self.fits(feats, images):
                    return feats
                log.warning("%s: features of another shape; recomputing them", path)
            except DataError as exc:  # a damaged cache file is recomputed, never trusted
                log.warning("%s", exc)
        feats = self.features(images)
        if cache:
            try:
                save_torch(path, feats, kind="features")
            except OSError as exc:
                log.warning("could not cache real features at %s (%s)", path, exc)
        return feats

    def fits(self, feats: dict, images: torch.Tensor) -> bool:
        """Whether cached ``feats`` have the layout :meth:`features` gives for ``images`` (a finite float32 N×D
        tensor per layer, D from the features of the first image)."""
        probe = self._extract(images[:1])
        return all(isinstance(f := feats.get(k), torch.Tensor) and f.dtype == torch.float32
                   and f.shape == (len(images), p.shape[1]) and bool(f.isfinite().all()) for k, p in probe.items())

    def score(self, fake: torch.Tensor, real: dict[str, torch.Tensor],
              fake_features: dict[str, torch.Tensor] | None = None) -> dict[str, float]:
        """FID/KID/precision/recall of uint8 ``fake`` against the real features, and IS of ``fake`` (from
        ``fake_features`` when the caller has them already)."""
        f = self.features(fake) if fake_features is None else fake_features
        a, b = f[self.layer], real[self.layer]
        kid_size = min(self.kid_subset_size, len(a), len(b))
        kid = kid_features_to_metric(a, b, kid_subsets=KID_SUBSETS, kid_subset_size=kid_size, rng_seed=RNG_SEED,
                                     verbose=False)
        prc = precision_recall(a, b, knn_radii(a), self.real_radii(b))
        fid = fid_statistics_to_metric(fid_features_to_statistics(a), fid_features_to_statistics(b), False)
        s = self.suffix
        out = {f"fid{s}": fid["frechet_inception_distance"], f"kid{s}": kid["kernel_inception_distance_mean"],
               f"kid_std{s}": kid["kernel_inception_distance_std"],
               f"precision{s}": prc["precision"], f"recall{s}": prc["recall"]}
        if self.has_is:
            isc = isc_features_to_metric(f[self.is_layer], splits=min(10, len(fake)), rng_seed=RNG_SEED)
            out.update({f"is{s}": isc["inception_score_mean"], f"is_std{s}": isc["inception_score_std"]})
        return {k: float(v) for k, v in out.items()}

    def real_radii(self, real: torch.Tensor) -> torch.Tensor:
        """:func:`knn_radii` of the reference features, computed once per reference (every sampler reuses them)."""
        if self._radii is None or self._radii[0] is not real:
            self._radii = (real, knn_radii(real))
        return self._radii[1]

def extractors_for(choice: str, device: torch.device) -> tuple[str, ...]:
    """``eval.extractor`` -> the extractors to run: ``auto`` is both on CUDA, the domain one elsewhere."""
    if choice == "auto":
        choice = "both" if device.type == "cuda" else "domain"
    return ("domain", "inception") if choice == "both" else (choice,)


def knn_radii(features: torch.Tensor, k: int = PRC_NEIGHBORHOOD, block: int = 1000) -> torch.Tensor:
    """Distance of each feature vector to its k-th nearest other one (the radius of its k-NN ball, Kynkäänniemi
    et al. 2019, eq. 2): torch-fidelity's ``kthvalue(k + 1)`` of the rows of the distance matrix (the point itself
    is the first), taken ``block`` rows at a time with ``topk``."""
    return torch.cat([torch.cdist(b, features).topk(k + 1, dim=1, largest=False).values[:, k]
                      for b in features.split(block)])


def precision_recall(fake: torch.Tensor, real: torch.Tensor, fake_radii: torch.Tensor, real_radii: torch.Tensor,
                     block: int = 1000) -> dict[str, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019, eqs. 1-2): the share of fakes inside some real
    sample's k-NN ball, and of reals inside some fake's, from one pass over the fake-to-real distances (``block``
    fake rows at a time; torch-fidelity's ``calculate_precision_recall_full`` uses the same matrix both ways)."""
    in_real = []
    recalled = torch.zeros(len(real), dtype=torch.bool)
    for f, r in zip(fake.split(block), fake_radii.split(block)):
        d = torch.cdist(f, real)
        in_real.append((d <= real_radii).any(dim=1))
        recalled |= (d <= r[:, None]).any(dim=0)
    return {"precision": float(torch.cat(in_real).float().mean()), "recall": float(recalled.float().mean())}
