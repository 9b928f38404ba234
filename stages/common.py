"""What every stage shares: paths, logging, params loading and the one-line error exit."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import typer

from genlab.config import Params, load_params
from genlab.errors import USER_ERRORS

PREPARED = Path("data/prepared")
MODELS_DIR = Path("data/models")
CHECKPOINTS = Path("data/checkpoints")
CLASSIFIER = MODELS_DIR / "classifier" / "classifier.pt"
METRICS = Path("metrics")
GRIDS = METRICS / "grids"
TRAIN_LOGS = METRICS / "train"

ParamsOption = typer.Option(Path("params.yaml"), "--params", "-p", help="params file to read")

log = logging.getLogger("genlab")


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")


def stage(fn):
    """Wrap a stage: logging on, and a bad param or bad data -> one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        setup_logging()
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def params_for(path: Path) -> Params:
    """Parse and validate the params file (fails fast, before any data is touched)."""
    return load_params(path)
