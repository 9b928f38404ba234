"""Preparation: a dataset source -> ``data/prepared/`` (uint8 tensors, labels, manifest with checksums).

Layout: ``train.pt`` and ``test.pt`` each hold ``{"images": uint8 N×C×H×W, "labels": int64 N}``;
``manifest.json`` records the dataset, the source used, the sources tried, shapes and sha256 of
every tensor. :func:`load_split` verifies those checksums on every read.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import torch

from genlab.config import DataConfig, as_dict
from genlab.data.sources import load_source
from genlab.data.stacked import MODES, STACK_SEED, stack_splits
from genlab.data.tensors import BINARIZE_SEED, binarize, fit_resolution
from genlab.errors import DataError
from genlab.io import load_torch, save_torch, sha256, write_json

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def prepare(cfg: DataConfig, out_dir: Path, stacked_size: int = 60000) -> dict:
    """Load ``cfg.name`` from the first source that works and write it to ``out_dir``; return the manifest
    (``stacked_size``: the training images of ``name: stacked-mnist``)."""
    digits = "mnist" if cfg.name == "stacked-mnist" else cfg.name
    splits, source, tried = load_source(digits, Path(cfg.root), cfg.folder, cfg.test_fraction, cfg.resolution)
    if cfg.limit:
        splits["train_images"] = splits["train_images"][: cfg.limit]
        splits["train_labels"] = splits["train_labels"][: cfg.limit]
    for i, split in enumerate(("train", "test")):
        splits[f"{split}_images"] = fit_resolution(splits[f"{split}_images"], cfg.resolution)
        if cfg.binarize:
            splits[f"{split}_images"] = binarize(splits[f"{split}_images"], BINARIZE_SEED + i)
    if cfg.name == "stacked-mnist":
        splits = stack_splits(splits, stacked_size, len(splits["test_images"]), STACK_SEED)
    labels = torch.cat([splits["train_labels"], splits["test_labels"]])
    manifest = {
        "dataset": cfg.name,
        "source": source,
        "sources_tried": tried,
        "config": as_dict(cfg),
        "channels": int(splits["train_images"].shape[1]),
        "resolution": cfg.resolution,
        "num_classes": MODES if cfg.name == "stacked-mnist" else int(labels.max()) + 1,
    }
    manifest = write_splits(out_dir, splits, manifest)
    log.info("prepared %s from %s: train %s, test %s", cfg.name, source,
             manifest["splits"]["train"]["shape"], manifest["splits"]["test"]["shape"])
    return manifest


def write_splits(out_dir: Path, splits: dict[str, torch.Tensor], manifest: dict) -> dict:
    """``train.pt``, ``test.pt`` and ``manifest.json`` (``manifest`` with the tensors' checksums, returned) of
    ``splits`` into ``out_dir``."""
    manifest = {**manifest, "splits": {}}
    # Write into a fresh sibling folder, then swap it in: a crash never leaves a half-prepared folder.
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    tmp.chmod(0o755)
    try:
        for split in ("train", "test"):
            images, lab = splits[f"{split}_images"].contiguous(), splits[f"{split}_labels"].contiguous()
            save_torch(tmp / f"{split}.pt", {"images": images, "labels": lab})
            manifest["splits"][split] = {"shape": list(images.shape), "images_sha256": sha256(images),
                                         "labels_sha256": sha256(lab)}
        write_json(tmp / MANIFEST, manifest)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def read_manifest(prepared: Path) -> dict:
    import json

    path = prepared / MANIFEST
    if not path.is_file():
        raise DataError(f"{path}: not found; run the prepare stage first (dvc repro prepare)")
    return json.loads(path.read_text())


def load_split(prepared: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The verified (uint8 images, int64 labels) of ``split`` from a prepared folder."""
    manifest = read_manifest(prepared)
    path = prepared / f"{split}.pt"
    try:
        data = load_torch(path)
        images, labels = data["images"], data["labels"]
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"{path}: unreadable ({type(exc).__name__}: {exc}); rerun the prepare stage") from None
    expected = manifest["splits"][split]
    if sha256(images) != expected["images_sha256"] or sha256(labels) != expected["labels_sha256"]:
        raise DataError(f"{path}: checksum differs from {MANIFEST}; rerun the prepare stage")
    return images, labels


def stack_prepared(prepared: Path, size: int, out_dir: Path) -> dict:
    """Stacked MNIST (:mod:`genlab.data.stacked`) from the prepared digits into ``out_dir``: ``size`` training
    images from the training digits, as many test images as there are test digits."""
    source = read_manifest(prepared)
    (x, y), (xt, yt) = load_split(prepared, "train"), load_split(prepared, "test")
    if source["channels"] != 1 or source["num_classes"] != 10:
        raise DataError(f"{prepared}: {source['dataset']} is not 1-channel digits of 10 classes; stacked MNIST needs "
                        "data.name mnist (or fashion-mnist)")
    splits = stack_splits({"train_images": x, "train_labels": y, "test_images": xt, "test_labels": yt}, size, len(xt),
                          STACK_SEED)
    manifest = {"dataset": f"stacked-{source['dataset']}", "source": f"{prepared} (seeded triplets)",
                "config": {"stacked_size": size, "from": source["splits"]}, "channels": 3,
                "resolution": source["resolution"], "num_classes": MODES}
    manifest = write_splits(out_dir, splits, manifest)
    log.info("stacked %s: train %s, test %s", source["dataset"], manifest["splits"]["train"]["shape"],
             manifest["splits"]["test"]["shape"])
    return manifest
