"""Ablation tables from DVC experiments: runs that differ from the baseline only in a model's switches.

``dvc exp run -S pggan.mbstd=false`` (and the like) records one experiment per variant; this module
reads the rows of ``dvc.api.exp_show()`` and keeps the baseline commit plus every experiment whose
params differ from it only in the switches, with the model's metrics side by side.
"""

from __future__ import annotations

from genlab.experiments import finished, name, param_keys, row_params, value

METRICS = ("fid", "is", "classes_covered", "class_kl", "precision", "recall", "train_seconds")


def collect(rows: list[dict], params: dict, model: str, switches: tuple[str, ...]) -> dict:
    """The ablation of ``model`` from exp_show ``rows``: baseline first, then each experiment whose params
    differ from the baseline's only in ``switches`` (of the model's section); experiments with other changes are
    left out. ``params`` is the params.yaml mapping (it tells param columns from metric columns)."""
    keys = param_keys(params)
    baseline = next((r for r in rows if r.get("typ") == "baseline" and finished(r)), None)  # HEAD comes first
    if baseline is None:
        raise ValueError("no baseline commit in the experiments; commit first, then `dvc exp run -S ...`")
    base_params = row_params(baseline, keys)
    path = f"metrics/eval/{model}.json"

    def metrics(row: dict) -> dict:
        return {m: value(row, path, m) for m in METRICS}

    out = [{"name": "baseline", "rev": str(baseline.get("rev")), "changed": {}, "metrics": metrics(baseline)}]
    for row in rows:
        if row.get("typ") not in ("branch_commit", "branch_base") or not finished(row):
            continue  # not a finished experiment (the baseline, the workspace)
        diff = {k: v for k, v in row_params(row, keys).items() if base_params.get(k) != v}
        switched = {k[len(model) + 1:]: v for k, v in diff.items()
                    if k.startswith(f"{model}.") and k[len(model) + 1:] in switches}
        if not diff or len(switched) != len(diff) or value(row, path, "fid") is None:
            continue
        out.append({"name": name(row), "rev": str(row.get("rev")),
                    "changed": switched, "metrics": metrics(row)})
    return {"model": model, "switches": list(switches), "metrics": list(METRICS), "rows": out}
