"""Shared by the tests: the default params with the model families parsed, and edits of them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from genlab.config import Params, load_params
from genlab.models.registry import config_classes

ROOT = Path(__file__).resolve().parents[1]


def default_params(path: Path = ROOT / "params.yaml") -> Params:
    return load_params(path, config_classes())


def with_family(p: Params, name: str, **changes) -> Params:
    """``p`` with fields of model family ``name``'s section replaced."""
    return dataclasses.replace(p, families={**p.families, name: dataclasses.replace(p.families[name], **changes)})
