"""The CLI on bad input: one line on stderr, a non-zero exit, nothing already written is touched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from stages.app import make_app

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())


def run_stage(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "stages", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=120)


def run_in_process(cwd: Path, monkeypatch, *args: str):
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(make_app(), list(args))


@pytest.fixture()
def workdir(tmp_path):
    """A work folder with outputs from an earlier run, to check that they survive."""
    for rel in ("data/prepared/manifest.json", "metrics/vae.json", "data/models/vae/model.pt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(f"earlier {rel}")
    return tmp_path


def snapshot(root: Path) -> dict:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != "params.yaml"}


BAD = [
    ("prepare", {"data": {"name": "imagenet"}}, "data.name: 'imagenet' is not allowed"),
    ("prepare", {"data": {"name": "folder", "folder": "no/such/folder"}}, "is not a folder"),
    ("prepare", {"data": {"resolution": -3}}, "data.resolution: must be > 0"),
    ("prepare", {"data": {"resolution": "28px"}}, "data.resolution: expected an integer"),
    ("train", {"train": {"steps": 0}}, "train.steps: must be > 0"),
    ("train", {"train": {"lr": -1.0e-3}}, "train.lr: must be > 0"),
    ("train", {"model": {"arch": "resnet"}}, "model.arch: 'resnet' is not allowed"),
    ("classifier", {"device": "cuda:7"}, "device:"),
    ("evaluate", {"eval": {"n_samples": 0}}, "eval.n_samples: must be > 0"),
]


@pytest.mark.parametrize("command, override, message", BAD)
def test_bad_input_is_one_clear_line(workdir, monkeypatch, command, override, message):
    params = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULTS.items()}
    for section, value in override.items():
        if isinstance(value, dict):
            params[section].update(value)
        else:
            params[section] = value
    (workdir / "params.yaml").write_text(yaml.safe_dump(params))
    before = snapshot(workdir)
    args = [command] + (["vae"] if command in ("train", "evaluate") else [])
    result = run_in_process(workdir, monkeypatch, *args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    err_lines = result.stderr.strip().splitlines()
    assert len(err_lines) == 1 and err_lines[0].startswith("error: ") and message in err_lines[0], result.stderr
    assert snapshot(workdir) == before


def test_unknown_model_is_one_clear_line_from_the_real_cli(workdir):
    """As a user sees it: a subprocess, exit code 2, one line on stderr, no traceback."""
    (workdir / "params.yaml").write_text(yaml.safe_dump(DEFAULTS))
    before = snapshot(workdir)
    proc = run_stage(workdir, "train", "diffusion")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    expected = (f"error: model 'diffusion' is not in params' models; choose one of {', '.join(sorted(DEFAULTS['models']))} "
                "(or add it to models)")  # yaml.safe_dump wrote the models sorted
    assert proc.returncode == 2 and errors == [expected], proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(workdir) == before


def test_every_command_has_help_naming_its_params():
    for command, key in [("prepare", "data.name"), ("classifier", "classifier.steps"), ("train", "train.steps"),
                         ("evaluate", "eval.n_samples"), ("baseline", "eval.n_samples"), ("report", "summary.json"),
                         ("bench", "bench.json"), ("sample", "--folder"), ("interpolate", "encoder"),
                         ("compare", "seed"), ("plots_template", "vega-embed")]:
        result = CliRunner().invoke(make_app(), [command, "--help"], terminal_width=200)
        assert result.exit_code == 0 and key in result.output, (command, result.output)
