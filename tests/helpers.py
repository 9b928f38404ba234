"""Shared by the tests: the default params with the model families parsed, and edits of them."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from genlab.config import Params, load_params
from genlab.models.registry import config_classes

ROOT = Path(__file__).resolve().parents[1]


def own_sections() -> dict[str, type]:
    """Every stage's own params section, by name."""
    from genlab.gradients.config import EstimatorsConfig
    from genlab.metrics.config import ClassifierConfig, EvalConfig
    from genlab.theory.config import ModesConfig, TheoryConfig

    return {"classifier": ClassifierConfig, "eval": EvalConfig, "theory": TheoryConfig, "modes": ModesConfig,
            "estimators": EstimatorsConfig}


def default_params(path: Path = ROOT / "params.yaml") -> Params:
    return load_params(path, config_classes(), sections=own_sections())


def with_family(p: Params, family: str, **changes) -> Params:
    """``p`` with fields of model family ``family``'s section replaced, in every model of that family (a phase's own
    ``resolution`` is kept unless ``changes`` sets it)."""
    return dataclasses.replace(p, families={n: dataclasses.replace(c, **changes) if p.entry(n).family == family else c
                                            for n, c in p.families.items()})


def sh(cmd: list[str], cwd: Path, env: dict) -> str:
    """Run ``cmd``; its stdout, or an assertion naming the command with the end of its output."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def tiny(params: dict, mirror_cache: Path) -> None:
    """Smoke-run params: a thousand images, 20 steps, small evaluations, two seeds of each toy."""
    params["data"].update(limit=1000, root=str(mirror_cache.parent))
    params["train"].update(steps=20, log_every=5, checkpoint_every=10)
    params["classifier"].update(steps=30)
    params["eval"].update(n_samples=200, kid_subset_size=100, iw_samples=5, iw_images=50, mode_samples=500)
    params["estimators"].update(images=2, n=[1, 4], reps=5, pilot=16, reference=16)
    params["theory"].update(seeds=2, d_steps=20, mc_samples=2000)
    params["modes"].update(seeds=2, steps=6, h=8, samples=200, eval_every=3)
    params["stacked"].update(size=500)


def repo_copy(dest: Path, edit_params) -> dict:
    """The tracked files of this repository (no results) in a fresh git repo at ``dest``, its params.yaml edited by
    ``edit_params(dict)``; returns the environment to run ``dvc`` and ``python -m stages`` there."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    for rel in filter(None, files.stdout.split("\0")):
        if (rel.startswith("metrics/") and not rel.startswith("metrics/ablations/")) or rel == "dvc.lock" \
                or not (ROOT / rel).exists():
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)
    # no collected runs either: the copy's claims decide from its own runs
    (dest / "metrics").mkdir(exist_ok=True)
    (dest / "metrics" / "runs.json").write_text('{"format": "genlab-runs/1", "runs": []}\n')
    params = yaml.safe_load((dest / "params.yaml").read_text())
    edit_params(params)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(dest), os.environ.get("PYTHONPATH")])),
           "DVC_NO_ANALYTICS": "1"}
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"]):
        sh(cmd, dest, env)
    return env


def exp_rows(node):
    """Every row (workspace, baseline, experiments) of ``dvc exp show --json`` output."""
    if isinstance(node, dict):
        if isinstance(node.get("data"), dict) and "params" in node["data"]:
            yield node["data"]
        for value in node.values():
            yield from exp_rows(value)
    elif isinstance(node, list):
        for value in node:
            yield from exp_rows(value)
