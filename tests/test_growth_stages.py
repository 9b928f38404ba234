"""Progressive growing as DVC stages: one training stage per resolution phase, any resolution, checked against the
data's."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pytest
from helpers import default_params, repo_copy, sh
from PIL import Image

from genlab.config import ConfigError

PHASES_64 = {"pggan-4": {"family": "pggan", "start": "prepared", "resolution": 4},
             "pggan-8": {"family": "pggan", "start": "models/pggan-4", "resolution": 8},
             "pggan-16": {"family": "pggan", "start": "models/pggan-8", "resolution": 16},
             "pggan-32": {"family": "pggan", "start": "models/pggan-16", "resolution": 32},
             "pggan": {"family": "pggan", "start": "models/pggan-32", "resolution": 64}}


def _folder(root, n=24, side=64):
    """Tiny 64x64 folder dataset, two classes of random discs."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:side, :side]
    for i in range(n):
        cls = root / f"c{i % 2}"
        cls.mkdir(parents=True, exist_ok=True)
        cy, cx, r = rng.integers(16, 48, 2).tolist() + [int(rng.integers(6, 14))]
        img = (((yy - cy) ** 2 + (xx - cx) ** 2 < r * r) * 255).astype(np.uint8)
        Image.fromarray(img, mode="L").save(cls / f"{i}.png")


def _grow_64(params: dict, folder) -> None:
    params["data"].update(name="folder", folder=str(folder), resolution=64, test_fraction=0.25)
    params["models"] = PHASES_64
    for family in ("vae", "gan", "ae", "aae", "vaegan", "cvae"):
        del params[family]
    params["train"].update(steps=4, batch_size=8, log_every=2, checkpoint_every=4)
    params["classifier"].update(steps=5, batch_size=8)
    params["pggan"].update(fmap_base=64, fmap_max=8, z=8, batch_sizes=[4])
    params["eval"].update(n_samples=16, batch_size=8, kid_subset_size=4, grid=2)


def test_a_64x64_dataset_gets_five_phase_stages(tmp_path):
    dest = tmp_path / "repo"
    _folder(tmp_path / "images")
    env = repo_copy(dest, lambda p: _grow_64(p, tmp_path / "images"))
    stages = sh([sys.executable, "-m", "dvc", "stage", "list", "--name-only"], dest, env).split()
    assert [s for s in stages if s.startswith("train@")] == [f"train@{name}" for name in PHASES_64]
    assert "evaluate@pggan" in stages and "evaluate@pggan-32" in stages


def test_phases_must_grow_to_the_data_resolution_one_level_at_a_time():
    import dataclasses

    from genlab.training.run import check_phases

    p = default_params()
    check_phases(p, "pggan")  # MNIST's 28, padded: 4, 8, 16, 32
    big = dataclasses.replace(p, data=dataclasses.replace(p.data, resolution=64))
    with pytest.raises(ConfigError, match="grow to 32x32, but the data are 64x64.*resolutions 4, 8, ..., 64"):
        check_phases(big, "pggan-8")
    skip = dataclasses.replace(p, models={**p.models, "pggan": dataclasses.replace(p.models["pggan"],
                                                                                     start="models/pggan-8")})
    with pytest.raises(ConfigError, match="models.pggan.start: a 32x32 phase starts from the 16x16 one; set start: "
                                          "models/pggan-16"):
        check_phases(skip, "pggan")


@pytest.mark.slow
def test_a_64x64_dataset_grows_through_five_phase_stages(tmp_path):
    """`dvc repro` of the evaluation runs the five phases in order, each continuing the one below."""
    dest = tmp_path / "repo"
    _folder(tmp_path / "images")
    env = repo_copy(dest, lambda p: _grow_64(p, tmp_path / "images"))
    out = sh([sys.executable, "-m", "dvc", "repro", "evaluate@pggan"], dest, env)
    ran = [s for s in re.findall(r"Running stage '([^']+)'", out) if s.startswith("train@")]
    assert ran == [f"train@{name}" for name in PHASES_64]
    steps = [json.loads((dest / "data" / "models" / name / "train.json").read_text()) for name in PHASES_64]
    assert [m["grows"]["resolution"] for m in steps] == [4, 8, 16, 32, 64]
    assert all(b["phases"][0]["start"] == a["steps"] for a, b in zip(steps, steps[1:]))  # each continues the last
    metrics = json.loads((dest / "metrics" / "eval" / "pggan.json").read_text())
    assert metrics["grows"] == {"resolution": 64, "final": True} and isinstance(metrics["fid"], float)
