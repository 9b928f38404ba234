"""The fixed judge: the shipped MNIST classifier is found by the test split it judges, hash-checked, copied byte for
byte, and as accurate as its description says; its translation augmentation moves whole images."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from genlab.data.prepare import load_split, read_manifest
from genlab.errors import DataError
from genlab.io import sha256
from genlab.metrics import judge
from genlab.metrics.domain import load_classifier, predict, random_shift


def test_the_shipped_judge_is_found_by_its_test_split_and_is_as_accurate_as_described(prepared_small, tmp_path):
    manifest = read_manifest(prepared_small)
    found = judge.shipped(manifest["splits"]["test"]["images_sha256"])
    assert found is not None and found["name"] == "mnist-v1"
    assert judge.shipped("0" * 64) is None  # another test split: no shipped judge, the stage trains one
    dest = tmp_path / "classifier.pt"
    judge.install(found, dest)
    assert sha256(dest) == found["sha256"] == json.loads((judge.JUDGES / "mnist-v1.json").read_text())["sha256"]
    images, labels = load_split(prepared_small, "test")
    accuracy = float((predict(load_classifier(dest), images).argmax(1) == labels).double().mean())
    assert accuracy == pytest.approx(found["test_accuracy"], abs=1e-4) and accuracy >= 0.993


def test_a_damaged_shipped_judge_is_one_line_naming_the_fix(tmp_path):
    meta = dict(judge.shipped(json.loads((judge.JUDGES / "mnist-v1.json").read_text())["test_images_sha256"]))
    broken = tmp_path / "mnist-v1.pt"
    shutil.copy(meta["path"], broken)
    data = bytearray(broken.read_bytes())
    data[len(data) // 2] ^= 0xFF
    broken.write_bytes(bytes(data))
    with pytest.raises(DataError, match="git checkout") as exc:
        judge.install({**meta, "path": str(broken)}, tmp_path / "out.pt")
    assert "\n" not in str(exc.value) and not (tmp_path / "out.pt").exists()


def test_random_shift_translates_each_image_by_at_most_shift_pixels():
    torch.manual_seed(0)
    x = torch.zeros(64, 1, 12, 12)
    x[:, :, 5:7, 5:7] = torch.rand(64, 1, 2, 2) + 0.5  # a blob far from the border: a shift keeps all of it
    g = torch.Generator().manual_seed(1)
    assert torch.equal(random_shift(x, 0, g), x)
    y = random_shift(x, 2, g)
    offsets = set()
    for a, b in zip(x, y):
        hits = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                if torch.equal(torch.roll(a, (dy, dx), dims=(1, 2)), b)]
        assert len(hits) == 1
        offsets.add(hits[0])
    assert len(offsets) > 10  # every image its own offset, over the whole 5 x 5 range
