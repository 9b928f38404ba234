"""``ablation``: tabulate DVC experiments that switch a model's techniques on or off, and re-render the report."""

from pathlib import Path

import typer

from genlab.config import switches
from genlab.models.registry import config_classes, load
from stages.common import METRICS, ParamsOption, log, stage

ABLATABLE = {name: sw for name, cls in config_classes().items() if (sw := switches(cls))}

HELP = f"""Collect the ablation of MODEL ({" | ".join(ABLATABLE)}) from this repository's DVC experiments:
the baseline commit and every experiment whose params differ from it only in the model's switches
({"; ".join(f"{m}: {', '.join(sw)}" for m, sw in ABLATABLE.items())}), e.g. after

    dvc exp run -S pggan.mbstd=false

Writes {METRICS}/ablations/MODEL.json and re-renders {METRICS}/report.md, which shows the table.
Not a pipeline stage: it reads experiments, which a stage of the pipeline cannot see. Commit the
JSON so that the report on main keeps the table."""


@stage
def run(model: str = typer.Option(next(iter(ABLATABLE)), help=f"model whose switches are ablated: "
                                                            f"{' | '.join(ABLATABLE)}"),
        commits: int = typer.Option(1, min=1, help="also read experiments based on the previous commits (first "
                                                   "parents); compared with HEAD's params and metrics"),
        params: Path = ParamsOption) -> None:
    load(params)  # a bad params file fails here, before DVC is asked anything
    from dvc.api import exp_show

    from genlab.ablation import collect
    from genlab.errors import DataError
    from genlab.io import write_json
    from stages import report

    if model not in ABLATABLE:
        raise DataError(f"--model {model}: no ablation switches known; choose one of {', '.join(ABLATABLE)}")
    import yaml

    try:
        table = collect(exp_show(num=commits), yaml.safe_load(params.read_text()), model, ABLATABLE[model])
    except ValueError as exc:
        raise DataError(str(exc)) from None
    write_json(METRICS / "ablations" / f"{model}.json", table)
    log.info("%s ablation: %d experiment(s) besides the baseline", model, len(table["rows"]) - 1)
    report.run(params)
