"""``compare``: this repository's DVC experiments as one table that fits a terminal (not a pipeline stage)."""

from pathlib import Path

import typer

from stages.common import ParamsOption, stage

HELP = """Compare the baseline commit and its DVC experiments (dvc exp show) in at most --width columns: the
params that differ between them, then each model's --metric (default fid, from metrics/eval/MODEL.json;
lower is better). Runs that differ only in seed are one row, with the mean ± standard deviation over
their seeds and the seeds listed. Models are params.yaml's models list. Not a pipeline stage: it reads
experiments (run them with dvc exp run, or gather them from other machines with dvc exp pull)."""


@stage
def run(metric: str = typer.Option("fid", help="metric of metrics/eval/MODEL.json to show per model"),
        commits: int = typer.Option(1, min=1, help="also read experiments based on the previous commits"),
        width: int = typer.Option(120, min=60, help="at most this many columns"),
        params: Path = ParamsOption) -> None:
    import yaml
    from dvc.api import exp_show

    from genlab.compare import render, settings
    from genlab.models.registry import load

    models = list(load(params).models)  # a bad params file fails before DVC is asked
    changed, groups = settings(exp_show(num=commits), yaml.safe_load(params.read_text()), models, metric)
    typer.echo(render(changed, groups, models, metric, width))
