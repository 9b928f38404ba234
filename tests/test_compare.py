"""`genlab compare`: the params that differ and each model's headline metric in at most 120 columns, runs that
differ only in seed grouped (mean ± std over the seeds)."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import sh

from genlab.compare import render, settings

ROOT = Path(__file__).resolve().parents[1]
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
MODELS = list(PARAMS["models"])


def _row(name, typ, fids: dict, **params) -> dict:
    """An exp_show row as DVC writes it (numbers as floats, ambiguous metric names prefixed by their file)."""
    row = {"Experiment": name, "rev": name or "main", "typ": typ, "seed": 0.0, "model.h": 768.0, "vae.beta": 1.0,
           "models": str(MODELS)}
    row.update(params)
    row.update({f"metrics/eval/{m}.json:fid": v for m, v in fids.items()})
    row.update({f"metrics/eval/{m}.json:is": 9.0 for m in fids})
    return row


def test_seeds_are_grouped_and_the_table_fits_120_columns():
    fid = {m: 30.0 + i for i, m in enumerate(MODELS)}
    rows = [_row(None, "baseline", {}, rev="workspace"),  # the workspace row is left out
            _row(None, "baseline", fid),
            _row("seed-one", "branch_commit", {m: v + 2 for m, v in fid.items()}, seed=1.0),
            _row("seed-two", "branch_commit", {m: v + 4 for m, v in fid.items()}, seed=2.0),
            _row("wide", "branch_commit", {"vae": 20.0}, **{"model.h": 1024.0, "vae.beta": 0.5,
                                                           "train.lr_schedule": "cosine"})]
    changed, groups = settings(rows, PARAMS, MODELS)
    assert changed == ["model.h", "train.lr_schedule", "vae.beta"]
    assert [g.names for g in groups] == [["main", "seed-one", "seed-two"], ["wide"]]
    assert groups[0].seeds == [0.0, 1.0, 2.0] and groups[0].metrics["gan"] == [31.0, 33.0, 35.0]
    text = render(changed, groups, MODELS)
    lines = text.splitlines()
    print(text)
    assert max(map(len, lines)) <= 120
    first = lines[4].split()
    assert first[0] == "main" and first[1] == "+2" and "0,1,2" in first
    gan = f"{statistics.fmean([31.0, 33.0, 35.0]):.4g}±{statistics.stdev([31.0, 33.0, 35.0]):.2g}"
    assert gan == "33±2" and gan in first
    assert lines[5].split()[-len(MODELS):] == ["20"] + ["-"] * (len(MODELS) - 1)
    assert "mean ± std over seeds" in lines[0]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_genlab_compare_on_real_dvc_experiments(tmp_path):
    """Experiments of a toy pipeline (genlab's params, a stage that writes each model's fid from model.h and
    seed): `genlab compare` shows one row per model.h with the mean over its seeds."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(ROOT / "params.yaml", repo / "params.yaml")
    (repo / "score.py").write_text(
        "import json, os, yaml\np = yaml.safe_load(open('params.yaml'))\nos.makedirs('metrics/eval', exist_ok=True)\n"
        "for i, m in enumerate(p['models']):\n"
        "    json.dump({'fid': 1000 / p['model']['h'] + i + p['seed']}, open(f'metrics/eval/{m}.json', 'w'))\n")
    metrics = "".join(f"      - metrics/eval/{m}.json: {{cache: false}}\n" for m in MODELS)
    (repo / "dvc.yaml").write_text(f"stages:\n  score:\n    cmd: python score.py\n    deps: [score.py]\n"
                                   f"    params: [seed, model]\n    metrics:\n{metrics}")
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    dvc = [sys.executable, "-m", "dvc"]
    for cmd in (["git", "init", "-q"], dvc + ["init", "-q"], dvc + ["repro", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "baseline h=768"]):
        sh(cmd, repo, env)
    for h, seed in ((768, 1), (768, 2), (250, 0), (250, 1)):
        sh(dvc + ["exp", "run", "-q", "-S", f"model.h={h}", "-S", f"seed={seed}"], repo, env)
    out = subprocess.run([sys.executable, "-m", "stages", "compare"], cwd=repo, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    print(out.stdout)
    lines = out.stdout.splitlines()
    assert max(map(len, lines)) <= 120 and lines[2].split()[:3] == ["experiment", "model.h", "seed"]
    rows = {line.split()[2]: line.split() for line in lines[4:] if line.strip()}  # by model.h (name, +n, h, ...)
    assert set(rows) == {"768", "250"}, rows
    assert rows["768"][3] == "0,1,2" and rows["768"][4] == f"{1000 / 768 + 1:.4g}±1"  # vae: mean over seeds 0, 1, 2
    assert rows["250"][3] == "0,1" and rows["250"][5] == f"{1000 / 250 + 1 + 0.5:.4g}±0.71"  # gan: seeds 0, 1
