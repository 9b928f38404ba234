"""Ablation tables from DVC experiments: runs that differ from the baseline only in a model's switches.

``dvc exp run -S pggan.mbstd=false`` (and the like) records one experiment per variant; this module
reads the rows of ``dvc.api.exp_show()`` and keeps the baseline commit plus every experiment whose
params differ from it only in the switches, with the model's metrics side by side.
"""

from __future__ import annotations

from typing import Any

METRICS = ("fid", "is", "classes_covered", "class_kl", "precision", "recall", "train_seconds")


def _value(row: dict, path: str, name: str) -> Any:
    """A column of an exp_show row: DVC names it ``name``, or ``path:name`` when several files share the name."""
    return row.get(f"{path}:{name}", row.get(name))


def _plain(value: Any) -> Any:
    """exp_show writes booleans as the strings 'True' / 'False'."""
    return {"True": True, "False": False}.get(value, value) if isinstance(value, str) else value


def param_keys(params: dict, prefix: str = "") -> set[str]:
    """Dotted keys of a params.yaml mapping ({"pggan": {"mbstd": true}} -> {"pggan.mbstd"})."""
    keys = set()
    for k, v in params.items():
        key = f"{prefix}{k}"
        keys |= param_keys(v, f"{key}.") if isinstance(v, dict) else {key}
    return keys


def _params(row: dict, keys: set[str]) -> dict[str, Any]:
    """The params.yaml columns of a row, by their dotted key (metric columns such as ``4.fid`` look alike)."""
    out = {}
    for column, value in row.items():
        key = column.removeprefix("params.yaml:")
        if key in keys:
            out[key] = _plain(value)
    return out


def _finished(row: dict) -> bool:
    """A committed row: not the workspace (whose row also shows a running experiment)."""
    return row.get("rev") != "workspace"


def collect(rows: list[dict], params: dict, model: str, switches: tuple[str, ...]) -> dict:
    """The ablation of ``model`` from exp_show ``rows``: baseline first, then each experiment whose params
    differ from the baseline's only in ``switches`` (of the model's section); experiments with other changes are
    left out. ``params`` is the params.yaml mapping (it tells param columns from metric columns)."""
    keys = param_keys(params)
    baseline = next((r for r in rows if r.get("typ") == "baseline" and _finished(r)), None)  # HEAD comes first
    if baseline is None:
        raise ValueError("no baseline commit in the experiments; commit first, then `dvc exp run -S ...`")
    base_params = _params(baseline, keys)
    path = f"metrics/eval/{model}.json"

    def metrics(row: dict) -> dict:
        return {m: _value(row, path, m) for m in METRICS}

    out = [{"name": "baseline", "rev": str(baseline.get("rev")), "changed": {}, "metrics": metrics(baseline)}]
    for row in rows:
        if row.get("typ") not in ("branch_commit", "branch_base") or not _finished(row):
            continue  # not a finished experiment (the baseline, the workspace)
        diff = {k: v for k, v in _params(row, keys).items() if base_params.get(k) != v}
        switched = {k[len(model) + 1:]: v for k, v in diff.items()
                    if k.startswith(f"{model}.") and k[len(model) + 1:] in switches}
        if not diff or len(switched) != len(diff) or _value(row, path, "fid") is None:
            continue
        out.append({"name": str(row.get("Experiment") or row.get("rev")), "rev": str(row.get("rev")),
                    "changed": switched, "metrics": metrics(row)})
    return {"model": model, "switches": list(switches), "metrics": list(METRICS), "rows": out}
