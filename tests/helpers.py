"""Shared by the tests: the default params with the model families parsed, and edits of them."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

from genlab.config import Params, load_params
from genlab.models.registry import config_classes

ROOT = Path(__file__).resolve().parents[1]


def default_params(path: Path = ROOT / "params.yaml") -> Params:
    return load_params(path, config_classes())


def with_family(p: Params, name: str, **changes) -> Params:
    """``p`` with fields of model family ``name``'s section replaced."""
    return dataclasses.replace(p, families={**p.families, name: dataclasses.replace(p.families[name], **changes)})


def sh(cmd: list[str], cwd: Path, env: dict) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


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
