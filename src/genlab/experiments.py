"""Rows of ``dvc.api.exp_show()``: the params and metrics of each commit and experiment, read by the ablation
tables (:mod:`genlab.ablation`) and the terminal comparison (:mod:`genlab.compare`)."""

from __future__ import annotations

from typing import Any


def value(row: dict, path: str, name: str) -> Any:
    """A column of an exp_show row: DVC names it ``name``, or ``path:name`` when several files share the name."""
    return row.get(f"{path}:{name}", row.get(name))


def plain(value: Any) -> Any:
    """exp_show writes booleans as the strings 'True' / 'False'."""
    return {"True": True, "False": False}.get(value, value) if isinstance(value, str) else value


def param_keys(params: dict, prefix: str = "") -> set[str]:
    """Dotted keys of a params.yaml mapping ({"pggan": {"mbstd": true}} -> {"pggan.mbstd"})."""
    keys = set()
    for k, v in params.items():
        key = f"{prefix}{k}"
        keys |= param_keys(v, f"{key}.") if isinstance(v, dict) else {key}
    return keys


def row_params(row: dict, keys: set[str]) -> dict[str, Any]:
    """The params.yaml columns of a row, by their dotted key (metric columns such as ``4.fid`` look alike)."""
    out = {}
    for column, v in row.items():
        key = column.removeprefix("params.yaml:")
        if key in keys:
            out[key] = plain(v)
    return out


def finished(row: dict) -> bool:
    """A committed row: not the workspace (whose row also shows a running experiment)."""
    return row.get("rev") != "workspace"


def name(row: dict) -> str:
    """How a row is called: the experiment's name, else its revision (a branch, a commit)."""
    return str(row.get("Experiment") or row.get("rev"))
