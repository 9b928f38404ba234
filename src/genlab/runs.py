"""Run groups: the evaluations of DVC experiments, gathered into one file (``metrics/runs.json``) the claims read.

Seeds are a dimension of the pipeline through DVC's queue: ``dvc exp run --queue -S seed=1`` (and 2, ...) records
one experiment per seed of the current params, ``-S model.h=16`` one per setting of a sweep (``make seeds`` queues
both). :func:`collect` keeps, for every finished row of ``dvc.api.exp_show()`` (the commit and its experiments),
its seed, its params, the digest of its code and the numbers of every model's ``metrics/eval/<model>.json``.

:func:`run_groups` then groups the collected runs against the *current* params and code: the group ``default``
holds the runs of ``params.yaml`` as it is (seed aside), and a sweep's group is named by what it changes
(``model.h=16``). An evaluation of other code than this run's is stale and left out, with one line saying so:
its numbers would not be those of this code.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

import yaml

from genlab.experiments import finished, name, param_keys, plain, row_params

SEED = "seed"
DEFAULT = "default"
FORMAT = "genlab-runs/1"


def flatten(params: dict, prefix: str = "") -> dict[str, Any]:
    """params.yaml as dotted keys ({"model": {"h": 64}} -> {"model.h": 64})."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        key = f"{prefix}{k}"
        out.update(flatten(v, f"{key}.") if isinstance(v, dict) else {key: v})
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal as params: exp_show gives 0.001 for 1.0e-3 and booleans as strings."""
    a, b = plain(a), plain(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == float(b)
    return a == b


def group_of(changed: dict[str, Any]) -> str:
    """A group's name: ``default``, or its changed params as ``key=value`` joined by commas, sorted."""
    def text(v: Any) -> str:
        v = plain(v)
        return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)

    return ",".join(f"{k}={text(v)}" for k, v in sorted(changed.items())) or DEFAULT


def _numbers(evaluation: dict) -> dict:
    """The scalars of an evaluation (nested dicts kept), without lists such as figures' paths."""
    out = {}
    for k, v in evaluation.items():
        if isinstance(v, dict):
            out[k] = _numbers(v)
        elif isinstance(v, (int, float, str, bool)) or v is None:
            out[k] = v
    return out


SHAPING = ("prepare", "stack", "classifier", "train", "evaluate")  # the stages whose code shapes an evaluation


def code_digest(root: Path = Path("."), dvc_yaml: Path = Path("dvc.yaml")) -> str | None:
    """The digest of the code an evaluation's numbers come from: the files of the code dependencies that
    ``dvc.yaml`` declares for the stages of :data:`SHAPING` (their import closures, kept complete by
    tests/test_dvc_deps.py), by content; None outside a pipeline's folder (no ``dvc.yaml``): such evaluations are
    never pooled. Evaluations of other code are never pooled with this one's."""
    if not (root / dvc_yaml).is_file():
        return None
    stages = yaml.safe_load((root / dvc_yaml).read_text())["stages"]
    paths = set()
    for stage in SHAPING:
        body = stages[stage].get("do", stages[stage])
        paths |= {d for d in body.get("deps", []) if isinstance(d, str) and d.startswith(("src/", "stages/"))}
    files = []
    for dep in sorted(paths):
        found = [root / dep] if (root / dep).is_file() else sorted((root / dep).rglob("*.py"))
        files += [(f.relative_to(root).as_posix(), hashlib.sha256(f.read_bytes()).hexdigest()) for f in found]
    return hashlib.sha256(repr(sorted(set(files))).encode()).hexdigest()[:16]


def collect(rows: list[dict], params: dict, models: list[str], read: Callable[[str, str], dict | None]) -> dict:
    """The finished rows of ``exp_show`` as collected runs. ``params``: the current params.yaml mapping (its keys
    name the columns kept); ``read(rev, path)``: a JSON file of a revision (None when it has none)."""
    keys = param_keys(params)
    runs = []
    baseline = None  # exp_show lists each commit ("baseline") before the experiments based on it
    for row in rows:
        if row.get("typ") == "baseline":
            baseline = str(row["rev"])
        if not finished(row):
            continue
        p = row_params(row, keys)
        seed = plain(p.get(SEED))

        def carried(model: str, evaluation: dict) -> bool:
            """An experiment run for some stages only carries the other models' files as they were: another seed
            says so, and so does a file equal to its commit's (a sweep at seed 0: the model was not rerun)."""
            if not _same(evaluation.get(SEED), seed):
                return True
            own_commit = row.get("typ") == "baseline" or baseline is None
            return not own_commit and read(baseline, f"metrics/eval/{model}.json") == evaluation

        evaluations = {m: _numbers(e) for m in models if (e := read(str(row["rev"]), f"metrics/eval/{m}.json"))
                       and not carried(m, e)}
        if not evaluations:
            continue  # a run that evaluated nothing (an unfinished or failed experiment)
        runs.append({"name": name(row), "rev": str(row["rev"]), "seed": seed, "params": p,
                     "eval": evaluations})
    return {"format": FORMAT, "runs": runs}


def run_groups(collected: dict | None, params: dict, current: dict[str, dict], seed: int
               ) -> tuple[dict[str, list[dict]], dict[str, list], list[str]]:
    """The run groups the claims compare: group name -> one dict of model -> evaluation per seed, and the seeds
    of each group in the same order. ``default`` starts with this run's own evaluations ``current`` (seed
    ``seed``); each collected run joins the group of what its params change against ``params`` (seed aside), once
    per seed, with those of its evaluations whose ``code`` (:func:`code_digest`) is that of this run's evaluation
    of the same model. The lines returned name the evaluations left out as stale."""
    flat = flatten(params)
    groups: dict[str, list[dict]] = {DEFAULT: [dict(current)]}
    seeds: dict[str, list] = {DEFAULT: [seed]}
    stale: list[str] = []
    for run in (collected or {}).get("runs", []):
        changed = {k: v for k, v in run["params"].items() if k != SEED and k in flat and not _same(v, flat[k])}
        group = group_of(changed)
        if run["seed"] in seeds.setdefault(group, []):
            continue  # the same seed twice (an experiment that repeats its baseline, or this run): one counts
        kept = {}
        for model, evaluation in run["eval"].items():
            mine = current.get(model, {}).get("code")
            if mine is not None and evaluation.get("code") == mine:
                kept[model] = evaluation
            else:
                stale.append(f"{run['name']} ({group}, seed {run['seed']}): {model} was evaluated with other code")
        if kept:
            seeds[group].append(run["seed"])
            groups.setdefault(group, []).append(kept)
    return groups, {g: v for g, v in seeds.items() if g in groups}, stale


def per_seed(runs: list[dict], keys: tuple[str, ...]) -> dict[str, dict[str, list[float]]]:
    """Model -> key -> its value in each run of a group that has it (the report's mean ± std over seeds)."""
    out: dict[str, dict[str, list[float]]] = {}
    for run in runs:
        for model, evaluation in run.items():
            for key in keys:
                v = evaluation.get(key)
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    out.setdefault(model, {}).setdefault(key, []).append(float(v))
    return out
