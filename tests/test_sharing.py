"""Sharing results: a DVC folder remote brings a trained pipeline to a fresh clone without training (`make repro`
pulls first), and experiments travel between clones through a shared bare git repository plus the DVC remote."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers import exp_rows, sh

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
DVC = [sys.executable, "-m", "dvc"]


def _shared(clone, tmp_path) -> tuple[Path, Path, dict, float]:
    """Clone A (two models, to stay small) with a default folder remote, its pipeline run, committed and pushed to
    a bare git repository and to the DVC remote; returns (A, the bare repository, env, seconds of the repro)."""
    a, env = clone
    params = yaml.safe_load((a / "params.yaml").read_text())
    for name in set(params["models"]) - {"vae", "ae"}:
        del params[name]
    params["models"] = ["vae", "ae"]
    (a / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    sh(DVC + ["remote", "add", "-d", "shared", str(tmp_path / "dvc-remote")], a, env)
    start = time.monotonic()
    sh(DVC + ["repro"], a, env)
    repro = time.monotonic() - start
    sh(["git", "add", "-A"], a, env)
    sh(GIT + ["commit", "-qm", "pipeline run, remote"], a, env)
    sh(DVC + ["push"], a, env)
    bare = tmp_path / "origin.git"
    sh(["git", "init", "-q", "--bare", str(bare)], tmp_path, env)
    sh(["git", "remote", "add", "origin", str(bare)], a, env)
    sh(["git", "push", "-q", "origin", "HEAD:main"], a, env)
    return a, bare, env, repro


def _fresh_clone(bare: Path, dest: Path, env: dict) -> Path:
    sh(["git", "clone", "-q", "-b", "main", str(bare), str(dest)], dest.parent, env)
    return dest


@pytest.mark.slow
def test_make_repro_on_a_fresh_clone_pulls_everything_and_trains_nothing(clone, tmp_path):
    """Smoke pipeline in clone A, `dvc push` to a folder remote; a fresh clone B runs `make repro`, which pulls:
    `dvc status` is clean, no stage runs, and B's models are A's, byte for byte."""
    a, bare, env, repro = _shared(clone, tmp_path)
    b = _fresh_clone(bare, tmp_path / "b", env)
    (b / ".venv").symlink_to(Path(sys.prefix))  # make's environment: this one (-o: do not reinstall it)
    start = time.monotonic()
    proc = subprocess.run(["make", "-o", ".venv/.installed", "repro"], cwd=b, env=env, capture_output=True, text=True,
                          timeout=900)
    pulled = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "dvc pull (default remote: shared)" in proc.stdout and "Running stage" not in proc.stdout, proc.stdout
    print(f"dvc repro in clone A: {repro:.1f}s; make repro (pull) in a fresh clone B: {pulled:.1f}s")
    assert "up to date" in sh(DVC + ["status"], b, env)
    assert "Running stage" not in sh(DVC + ["repro"], b, env)
    for rel in ("data/models/vae/model.pt", "data/models/ae/model.pt", "data/models/classifier/classifier.pt",
                "data/prepared/train.pt"):
        assert (b / rel).read_bytes() == (a / rel).read_bytes(), rel
    assert not (b / "data" / "checkpoints").exists()  # never pushed: a pulled model resumes from nothing


@pytest.mark.slow
def test_an_experiment_run_in_one_clone_is_pulled_shown_and_applied_in_another(clone, tmp_path):
    """Clone A runs `dvc exp run -S vae.beta=0.5` and `dvc exp push`es it to the bare repository (its outputs to
    the DVC remote); clone B `dvc exp pull`s it, `dvc exp show` lists its metrics, and `dvc exp apply` plus
    `dvc pull` bring its model and metrics without retraining."""
    a, bare, env, _ = _shared(clone, tmp_path)
    sh(DVC + ["exp", "run", "-n", "beta-half", "-S", "vae.beta=0.5"], a, env)
    elbo_a = json.loads((a / "metrics" / "eval" / "vae.json").read_text())["elbo"]
    model_a = (a / "data" / "models" / "vae" / "model.pt").read_bytes()
    sh(DVC + ["exp", "push", "origin", "beta-half"], a, env)
    b = _fresh_clone(bare, tmp_path / "b", env)
    sh(DVC + ["pull"], b, env)
    sh(DVC + ["exp", "pull", "origin", "beta-half"], b, env)
    shown = json.loads(sh(DVC + ["exp", "show", "--json"], b, env))
    beta = {r["params"]["params.yaml"]["data"]["vae"]["beta"]: r["metrics"]["metrics/eval/vae.json"]["data"]["elbo"]
            for r in exp_rows(shown) if "metrics/eval/vae.json" in r.get("metrics", {})}
    assert beta.get(0.5) == elbo_a and beta.get(1.0) not in (None, elbo_a), beta
    sh(DVC + ["exp", "apply", "beta-half"], b, env)
    assert yaml.safe_load((b / "params.yaml").read_text())["vae"]["beta"] == 0.5
    assert json.loads((b / "metrics" / "eval" / "vae.json").read_text())["elbo"] == elbo_a
    assert (b / "data" / "models" / "vae" / "model.pt").read_bytes() == model_a
    assert "up to date" in sh(DVC + ["status"], b, env)
    assert "Running stage" not in sh(DVC + ["repro"], b, env)
