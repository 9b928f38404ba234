"""FID, KID, precision/recall and IS through torch-fidelity, on in-memory uint8 tensors.

The domain classifier is registered with torch-fidelity as a feature extractor: ``features``
(penultimate layer) feed FID/KID/precision-recall and ``logits`` feed the Inception Score.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch_fidelity
from torch.utils.data import Dataset
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

from genlab.data.tensors import to_unit
from genlab.metrics.domain import load_classifier

EXTRACTOR = "genlab-domain"


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


if EXTRACTOR not in FEATURE_EXTRACTORS_REGISTRY:
    torch_fidelity.register_feature_extractor(EXTRACTOR, DomainFeatureExtractor)


class ImageTensorDataset(Dataset):
    """A uint8 N×C×H×W tensor as the Dataset torch-fidelity reads (one tensor per item)."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.images[i]


def fidelity(fake: torch.Tensor, real: torch.Tensor, classifier_path: Path, device: torch.device,
             batch_size: int = 500, kid_subset_size: int = 1000) -> dict[str, float]:
    """Domain FID/KID/precision/recall of ``fake`` against ``real``, and domain IS of ``fake`` (uint8 tensors)."""
    kid_size = min(kid_subset_size, len(fake), len(real))
    m = torch_fidelity.calculate_metrics(
        input1=ImageTensorDataset(fake.cpu()), input2=ImageTensorDataset(real.cpu()),
        cuda=device.type == "cuda", batch_size=batch_size, isc=True, fid=True, kid=True, prc=True,
        feature_extractor=EXTRACTOR, feature_extractor_weights_path=str(classifier_path),
        kid_subset_size=kid_size, isc_splits=min(10, len(fake)), cache=False, save_cpu_ram=True, verbose=False)
    return {
        "fid": float(m["frechet_inception_distance"]),
        "is": float(m["inception_score_mean"]),
        "is_std": float(m["inception_score_std"]),
        "kid": float(m["kernel_inception_distance_mean"]),
        "kid_std": float(m["kernel_inception_distance_std"]),
        "precision": float(m["precision"]),
        "recall": float(m["recall"]),
    }
