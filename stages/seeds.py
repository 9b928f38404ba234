"""``seeds``: queue the DVC experiments the claims still lack at each seed (not a pipeline stage)."""

import subprocess
from pathlib import Path

import typer

from stages.common import EVAL, RUNS, ParamsOption, log, raw_params, read_metrics, stage

HELP = f"""List, and queue with `dvc exp run --queue`, the experiments every claim needs at each --seed (default
0, 1, 2; params.yaml, the width sweep, the Progressive GAN with each technique off) that {RUNS} and this run's {EVAL}/MODEL.json do
not hold yet with the current code and setup: only the missing models' evaluate@MODEL stages, so a change to
one family queues that family's seeds alone, and an unchanged tree queues nothing. --dry-run lists them only.
`make seeds` calls this, runs the queue and collects the results (genlab collect). Not a pipeline stage."""


def _value(v) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


@stage
def run(seed: list[int] = typer.Option([0, 1, 2], help="seeds every claim should have"),
        model: list[str] = typer.Option(None, help="only these models (repeat the option); default: all"),
        dry_run: bool = typer.Option(False, "--dry-run", help="list the experiments, queue nothing"),
        params: Path = ParamsOption) -> None:
    from genlab.claims.registry import seed_plan
    from genlab.models.registry import load
    from genlab.runs import missing, run_groups

    p = load(params)  # a bad params file fails before DVC is asked
    current = {m: e for m in p.models if (e := read_metrics(EVAL / f"{m}.json")) is not None}
    groups, seeds, _ = run_groups(read_metrics(RUNS), raw_params(params), current, p.seed)
    for name in model or []:
        p.entry(name)  # an unknown model: one line naming the models
    plan = [(sets, tuple(m for m in models if not model or m in model)) for sets, models in seed_plan(list(p.models))]
    todo = missing([(sets, models) for sets, models in plan if models], groups, seeds, seed, p.seed)
    for sets, s, models in todo:
        cmd = ["dvc", "exp", "run", "--queue", "-S", f"seed={s}", *(a for k, v in sets.items()
                                                                    for a in ("-S", f"{k}={_value(v)}")),
               *(f"evaluate@{m}" for m in models)]
        log.info("%s%s", "would queue: " if dry_run else "queue: ", " ".join(cmd))
        if not dry_run:
            subprocess.run(cmd, check=True)
    log.info("%d experiments %s", len(todo), "missing" if dry_run else "queued")
