"""Ablation tables from DVC experiments: runs that differ from the baseline only in a model's switches.

``dvc exp run -S pggan.mbstd=false`` (and the like) records one experiment per variant; this module
reads the rows of ``dvc.api.exp_show()`` and keeps the baseline commit plus every experiment whose
params differ from it only in the switches, with the model's metrics side by side.
"""

from __future__ import annotations

from typing import Any

SWITCHES = {"pggan": ("mbstd", "equalized_lr", "pixel_norm", "fade_in")}
METRICS = ("fid", "is", "classes_covered", "class_kl", "precision", "recall", "train_seconds")
ROW_KEYS = {"Experiment", "rev", "typ", "Created", "parent", "State", "Executor"}


def _value(row: dict, path: str, name: str) -> Any:
    """A column of an exp_show row: DVC names it ``name``, or ``path:name`` when several files share the name."""
    return row.get(f"{path}:{name}", row.get(name))


def _params(row: dict) -> dict[str, Any]:
    """The params.yaml columns of a row (keys without the file prefix)."""
    return {k.split(":", 1)[-1]: v for k, v in row.items()
            if k not in ROW_KEYS and (k.startswith("params.yaml:") or ":" not in k and "." in k)}


def collect(rows: list[dict], model: str = "pggan") -> dict:
    """The ablation of ``model`` from exp_show ``rows``: baseline first, then each experiment whose params
    differ from the baseline's only in ``SWITCHES[model]``; experiments with other changes are left out."""
    switches = SWITCHES[model]
    baseline = next((r for r in rows if r.get("typ") == "baseline"), None)
    if baseline is None:
        raise ValueError("no baseline commit in the experiments; commit first, then `dvc exp run -S ...`")
    base_params = _params(baseline)
    path = f"metrics/{model}.json"

    def metrics(row: dict) -> dict:
        return {m: _value(row, path, m) for m in METRICS}

    out = [{"name": "baseline", "rev": str(baseline.get("rev")), "changed": {}, "metrics": metrics(baseline)}]
    for row in rows:
        if row.get("typ") != "branch_commit" and row.get("typ") != "branch_base":
            continue  # not an experiment (baseline, workspace)
        diff = {k: v for k, v in _params(row).items() if base_params.get(k) != v}
        switched = {k[len(model) + 1:]: v for k, v in diff.items()
                    if k.startswith(f"{model}.") and k[len(model) + 1:] in switches}
        if not diff or len(switched) != len(diff) or _value(row, path, "fid") is None:
            continue
        out.append({"name": str(row.get("Experiment") or row.get("rev")), "rev": str(row.get("rev")),
                    "changed": switched, "metrics": metrics(row)})
    return {"model": model, "switches": list(switches), "metrics": list(METRICS), "rows": out}
