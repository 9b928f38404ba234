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

import json
from pathlib import Path
from typing import Any, Callable

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


def _under(key: str, reads: list[str]) -> bool:
    """Whether the dotted param ``key`` is one of ``reads`` or inside one of them (a section stands for its keys)."""
    return any(key == r or key.startswith(r + ".") for r in reads)


def run_groups(collected: dict | None, params: dict, current: dict[str, dict], seed: int
               ) -> tuple[dict[str, list[dict]], dict[str, list], list[str]]:
    """The run groups the claims compare: group name -> one dict of model -> evaluation per seed, and the seeds
    of each group in the same order. ``default`` starts with this run's own evaluations ``current`` (seed
    ``seed``). A collected run's evaluation of a model joins, once per seed, the group of what the run's params
    change against ``params`` (seed aside), or ``default`` when none of those changes is a param the model reads
    (its ``reads``: a run made before an edit of another family's section still counts for this one); and only
    when its ``code`` and its ``setup`` (:mod:`genlab.metrics.setup`) are those of this run's evaluation of the
    same model. The lines returned name the evaluations left out."""
    flat = flatten(params)
    by_group: dict[str, dict[float, dict]] = {DEFAULT: {float(seed): dict(current)}}
    stale: list[str] = []
    for run in (collected or {}).get("runs", []):
        changed = {k: v for k, v in run["params"].items() if k != SEED and k in flat and not _same(v, flat[k])}
        for model, evaluation in run["eval"].items():
            reads = evaluation.get("reads")
            own = changed if reads is None else {k: v for k, v in changed.items() if _under(k, reads)}
            group = group_of(changed) if own else DEFAULT
            runs = by_group.setdefault(group, {})
            if model in runs.get(float(run["seed"]), {}):
                continue  # the same seed twice (an experiment that repeats its baseline, or this run): one counts
            mine = current.get(model, {})
            why = ("other code" if evaluation.get("code") != mine.get("code") or mine.get("code") is None else
                   "another setup" if evaluation.get("setup") != mine.get("setup") else None)
            if why:
                stale.append(f"{run['name']} ({group}, seed {run['seed']}): {model} was evaluated with {why}")
                continue
            runs.setdefault(float(run["seed"]), {})[model] = evaluation
    groups = {g: list(runs.values()) for g, runs in by_group.items() if runs}
    seeds = {g: [int(s) if s.is_integer() else s for s in runs] for g, runs in by_group.items() if runs}
    return groups, seeds, stale


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


def valid(evaluation: dict, current: dict | None) -> bool:
    """Whether a collected evaluation was made with the code and setup of this run's evaluation ``current`` of the
    same model (True when there is none yet to compare with: it may be valid)."""
    if current is None:
        return True
    return evaluation.get("code") == current.get("code") and evaluation.get("setup") == current.get("setup")


def accumulate(previous: dict | None, fresh: dict, current: dict[str, dict]) -> tuple[dict, int]:
    """``metrics/runs.json`` grows across commits, sessions and machines: the runs it kept (``previous``) and the
    ``fresh`` ones, one run per params and seed; a model evaluated in both keeps the first valid evaluation
    (:func:`valid` against ``current``, this run's evaluations). Evaluations of other code or setup than the
    current ones are dropped. Returns (the runs, how many evaluations were dropped)."""
    merged: dict[str, dict] = {}
    dropped = 0
    for run in [*(previous or {}).get("runs", []), *fresh.get("runs", [])]:
        key = json.dumps({"params": run["params"], "seed": run["seed"]}, sort_keys=True, default=str)
        into = merged.setdefault(key, {**run, "eval": {}})
        if into is not run and into["rev"] != run["rev"] and run["rev"] not in into["rev"].split("+"):
            into["name"], into["rev"] = f"{into['name']}+{run['name']}", f"{into['rev']}+{run['rev']}"
        for model, evaluation in run["eval"].items():
            if not valid(evaluation, current.get(model)):
                dropped += 1
            elif model not in into["eval"]:
                into["eval"][model] = evaluation
    return {"format": FORMAT, "runs": [r for r in merged.values() if r["eval"]]}, dropped


def missing(plan: list[tuple[dict, tuple[str, ...]]], groups: dict[str, list[dict]], seeds: dict[str, list],
            wanted: list[int], main_seed: int) -> list[tuple[dict, int, list[str]]]:
    """What the run groups (:func:`run_groups`) lack of ``plan`` (its experiments: params set, models) at the
    ``wanted`` seeds: (params set, seed, models to evaluate) per experiment to run; params.yaml's own run at
    ``main_seed`` is ``dvc repro``'s, not an experiment's."""
    out = []
    for sets, models in plan:
        group = group_of(sets)
        have = dict(zip(seeds.get(group, []), groups.get(group, [])))
        for seed in wanted:
            if group == DEFAULT and seed == main_seed:
                continue
            lacking = [m for m in models if m not in have.get(seed, {})]
            if lacking:
                out.append((sets, seed, lacking))
    return out
