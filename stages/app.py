"""The root Typer app: ``python -m stages <command>`` (dvc.yaml) and the ``genlab`` console command."""

import re

import typer

from stages import ablation, baseline, bench, classifier, estimators, evaluate, prepare, report, theory, train

app = typer.Typer(
    help="genlab: train, measure and compare deep generative models. Each command is one stage of "
         "dvc.yaml and reads params.yaml; run the whole pipeline with `dvc repro`.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

for module, name in [(prepare, "prepare"), (classifier, "classifier"), (train, "train"),
                     (evaluate, "evaluate"), (baseline, "baseline"), (theory, "theory"), (estimators, "estimators"), (report, "report"),
                     (ablation, "ablation"), (bench, "bench")]:
    # Join hard-wrapped lines inside paragraphs; blank lines still separate paragraphs.
    app.command(name, help=re.sub(r"(?<!\n)\n(?!\n)", " ", module.HELP))(module.run)


def main() -> None:
    app()
