"""``collect``: the evaluations of this commit's DVC experiments -> metrics/runs.json (not a pipeline stage)."""

import ast
import json
import subprocess
from pathlib import Path

import typer

from stages.common import EVAL, RUNS, ParamsOption, log, raw_params, read_metrics, stage

HELP = f"""Gather the finished DVC experiments of this commit (dvc exp show: the commit itself, the seeds queued
with -S seed=N, the sweeps) into {RUNS}, added to the runs it holds (from earlier commits, sessions and machines):
each run's seed, params and every model's metrics/eval/MODEL.json, read from the experiment's commit. An
evaluation made with other code or another setup than this run's evaluation of that model is dropped; every
other one stays. The claims stage reads it: runs that change only the seed join this run's
own to give each claim its seeds; sweeps (-S model.h=16) form groups named by what they change; evaluations
made with other code than this run's are left out as stale. `make seeds` queues the runs, waits for them and
calls this; commit {RUNS} with the results. Not a pipeline stage."""


def _lists(row: dict) -> dict:
    """exp_show writes a list param as its Python repr ('[1, 4, 16, 64]'): back to the list, so that it compares
    equal to params.yaml's. Here and not in genlab.experiments.plain, which every evaluation's code digest covers:
    changing it would orphan the evaluations already collected (the next change of that module should move this
    there)."""
    out = {}
    for k, v in row.items():
        if isinstance(v, str) and v.startswith("[") and v.endswith("]"):
            try:
                v = ast.literal_eval(v)
            except (ValueError, SyntaxError):
                pass
        out[k] = v
    return out


def one_run_per_seed(collected: dict, code: dict[str, str | None] | None = None) -> dict:
    """Experiments run for some stages each hold part of a seed's evaluations (seed 1 of the nine budget-matched
    models, later seed 1 of the Progressive GAN): one run per params and seed, with the union of their models'
    evaluations; a model evaluated twice keeps the first listed, unless that one is stale: then the first later one
    made with the current code (``code``: model -> the digest of this run's evaluation) replaces it.
    Without this the claims' groups took the first run of a seed and lost the other's models. Here and not in
    genlab.runs, for the reason given at _lists."""
    code = code or {}
    merged: dict[str, dict] = {}
    for run in collected["runs"]:
        key = json.dumps(run["params"], sort_keys=True, default=str)
        if key not in merged:
            merged[key] = {**run, "eval": dict(run["eval"])}
            continue
        into = merged[key]
        into["name"], into["rev"] = f"{into['name']}+{run['name']}", f"{into['rev']}+{run['rev']}"
        for model, evaluation in run["eval"].items():
            kept = into["eval"].get(model)
            fresh = code.get(model)
            if kept is None or (fresh is not None and kept.get("code") != fresh and evaluation.get("code") == fresh):
                into["eval"][model] = evaluation
    return {**collected, "runs": list(merged.values())}


def _read(rev: str, path: str) -> dict | None:
    shown = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True)
    if shown.returncode:
        return None
    try:
        return json.loads(shown.stdout)
    except json.JSONDecodeError:
        log.warning("%s of %s is not JSON: left out", path, rev)
        return None


@stage
def run(commits: int = typer.Option(1, min=1, help="also read experiments based on the previous commits"),
        params: Path = ParamsOption) -> None:
    from dvc.api import exp_show

    from genlab.io import write_json
    from genlab.models.registry import load
    from genlab.runs import accumulate, collect, run_groups

    p = load(params)  # a bad params file fails before DVC is asked
    raw = raw_params(params)
    current = {m: e for m in p.models if (e := read_metrics(EVAL / f"{m}.json")) is not None}
    fresh = one_run_per_seed(collect([_lists(row) for row in exp_show(num=commits)], raw, list(p.models), _read),
                             {m: e.get("code") for m, e in current.items()})
    collected, dropped = accumulate(read_metrics(RUNS), fresh, current)  # runs.json grows; it never loses a valid run
    write_json(RUNS, collected)
    groups, seeds, stale = run_groups(collected, raw, current, p.seed)
    log.info("%s: %d runs (%d new from this commit's experiments); groups (seeds) %s%s", RUNS, len(collected["runs"]),
             len(fresh["runs"]), {g: s for g, s in seeds.items()},
             f"; {dropped} evaluations of other code or setup dropped" if dropped else "")
