"""The root Typer app: ``python -m stages <command>`` (dvc.yaml) and the ``genlab`` console command.

Only the invoked command's module is imported (all of them for the command list), so a stage's process runs
exactly the code its ``deps`` in dvc.yaml declare: ``stages/__main__.py``, this file, ``stages/common.py``,
its own module and what that imports.
"""

import importlib
import re
import sys

import typer


COMMANDS = ("prepare", "resolve", "stack", "classifier", "train", "evaluate", "baseline", "theory", "modes", "estimators", "claims",
            "report", "ablation", "bench", "sample", "interpolate", "compare", "collect", "seeds",
            "plots_template")


def make_app(commands=COMMANDS) -> typer.Typer:
    """The CLI with ``commands`` registered (each one's module imported)."""
    app = typer.Typer(
        help="genlab: train, measure and compare deep generative models. Each command is one stage of "
             "dvc.yaml and reads params.yaml; run the whole pipeline with `dvc repro`.",
        no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        # a group even when only the invoked command is registered (Typer makes a lone command the app itself)
        pass

    for name in commands:
        module = importlib.import_module(f"stages.{name}")
        # Join hard-wrapped lines inside paragraphs; blank lines still separate paragraphs.
        app.command(name, help=re.sub(r"(?<!\n)\n(?!\n)", " ", module.HELP))(module.run)
    return app


def main() -> None:
    invoked = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    make_app([invoked] if invoked in COMMANDS else COMMANDS)()
