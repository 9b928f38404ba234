"""Preparation: a dataset source -> ``data/prepared/`` (uint8 tensors, labels, manifest with checksums).

Layout: ``train.pt`` and ``test.pt`` each hold ``{"images": uint8 N×C×H×W, "labels": int64 N}``;
``manifest.json`` records the dataset, the source used, the sources tried, shapes and sha256 of
every tensor. :func:`read_manifest` and :func:`load_split` check both files on every read (format tag, layout,
shapes, dtypes, the checksums, labels within the classes): a damaged file is one line naming it and the fix.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import torch

from genlab import memory
from genlab.config import DataConfig, as_dict
from genlab.data.sources import load_source
from genlab.data.stacked import MODES, STACK_SEED, stack_splits
from genlab.data.tensors import BINARIZE_SEED, binarize, fit_resolution
from genlab.errors import DataError
from genlab.io import checked, read_checked, save_torch, sha256, tagged, write_json

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FIX = "restore it with dvc checkout data/prepared, or rerun the prepare stage (dvc repro prepare)"


def prepare(cfg: DataConfig, out_dir: Path, stacked_size: int = 60000) -> dict:
    """Load ``cfg.name`` from the first source that works and write it to ``out_dir``; return the manifest
    (``stacked_size``: the training images of ``name: stacked-mnist``)."""
    digits = "mnist" if cfg.name == "stacked-mnist" else cfg.name
    splits, source, tried = load_source(digits, Path(cfg.root), cfg.folder, cfg.test_fraction, cfg.resolution)
    if cfg.limit:
        splits["train_images"] = splits["train_images"][: cfg.limit]
        splits["train_labels"] = splits["train_labels"][: cfg.limit]
    n = len(splits["train_images"]) + len(splits["test_images"])
    memory.check_prepared(n, splits["train_images"].shape[1], cfg.resolution, source)  # before any resize
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
            save_torch(tmp / f"{split}.pt", {"images": images, "labels": lab}, kind="prepared-split")
            manifest["splits"][split] = {"shape": list(images.shape), "images_sha256": sha256(images),
                                         "labels_sha256": sha256(lab)}
        write_json(tmp / MANIFEST, tagged(manifest, "prepared-manifest"))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def read_manifest(prepared: Path) -> dict:
    """The checked manifest of a prepared folder (every entry the stages read is there, of the right type)."""
    path = prepared / MANIFEST
    if not path.is_file():
        raise DataError(f"{path}: not found; run the prepare stage first (dvc repro prepare)")
    manifest = read_checked(path, "prepared-manifest", FIX)
    with checked(path, FIX):
        _expect(isinstance(manifest["num_classes"], int) and manifest["num_classes"] > 0, "num_classes")
        for split in ("train", "test"):
            entry = manifest["splits"][split]
            shape = entry["shape"]
            _expect(isinstance(shape, list) and len(shape) == 4 and all(type(v) is int and v > 0 for v in shape),
                    f"splits.{split}.shape")
            _expect(all(isinstance(entry[k], str) for k in ("images_sha256", "labels_sha256")), f"splits.{split}")
    return manifest


def _expect(ok: bool, entry: str) -> None:
    if not ok:
        raise ValueError(f"its {entry}: not what prepare writes")


def load_split(prepared: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The verified (uint8 images, int64 labels) of ``split`` from a prepared folder."""
    manifest = read_manifest(prepared)
    path = prepared / f"{split}.pt"
    data = read_checked(path, "prepared-split", FIX)
    expected = manifest["splits"][split]
    with checked(path, FIX):
        images, labels = data["images"], data["labels"]
        _expect(isinstance(images, torch.Tensor) and isinstance(labels, torch.Tensor), "images and labels")
    found = (images.dtype, list(images.shape), labels.dtype, list(labels.shape))
    if found != (torch.uint8, expected["shape"], torch.int64, expected["shape"][:1]):
        raise DataError(f"{path}: {found[0]} images {found[1]} and {found[2]} labels {found[3]}, but "
                        f"{prepared / MANIFEST} records uint8 images {expected['shape']} and int64 labels; {FIX}")
    if sha256(images) != expected["images_sha256"] or sha256(labels) != expected["labels_sha256"]:
        raise DataError(f"{path}: checksum differs from {prepared / MANIFEST}; {FIX}")
    if len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < manifest["num_classes"]:
        raise DataError(f"{path}: labels outside the {manifest['num_classes']} classes of {prepared / MANIFEST}; {FIX}")
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
