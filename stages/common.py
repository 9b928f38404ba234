"""What every stage shares: paths, logging and the one-line error exit."""

from __future__ import annotations

import errno
import functools
import logging
from pathlib import Path

import typer

from genlab.errors import USER_ERRORS, Interrupted

PREPARED = Path("data/prepared")
MODELS_DIR = Path("data/models")
CHECKPOINTS = Path("data/checkpoints")
CLASSIFIER = MODELS_DIR / "classifier" / "classifier.pt"
METRICS = Path("metrics")
EVAL = METRICS / "eval"  # metrics/eval/<model>.json
GRIDS = METRICS / "grids"  # metrics/grids/<model or study>/*.png
TRAIN_LOGS = METRICS / "train"

# Failures to write an output, with the fix to suggest
WRITE_ERRORS = {errno.ENOSPC: "free disk space", errno.EDQUOT: "free space within your disk quota",
                errno.EACCES: "make the folder writable", errno.EPERM: "make the folder writable",
                errno.EROFS: "run where the file system is writable"}

ParamsOption = typer.Option(Path("params.yaml"), "--params", "-p", help="params file to read")

log = logging.getLogger("genlab")


def read_metrics(path: Path):
    """A metrics JSON file written by an earlier stage, or None when there is none; a damaged one is one line."""
    if not path.is_file():
        return None
    from genlab.io import load_file

    return load_file(path, "rerun the stage that writes it (dvc repro) to write it again")


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")


def stage(fn):
    """Wrap a stage: logging on; a bad param or bad data -> one line on stderr and exit code 2; an interrupt -> one
    line and 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        setup_logging()
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except Interrupted as exc:  # training checkpointed the step it stopped at
            if str(exc):
                typer.echo(str(exc), err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted; every output is written atomically, so none is half-written: rerun to finish",
                       err=True)
            raise typer.Exit(130) from None
        except OSError as exc:
            if exc.errno not in WRITE_ERRORS:
                raise
            typer.echo(f"error: cannot write {exc.filename or 'an output'}: {exc.strerror}; {WRITE_ERRORS[exc.errno]}, "
                       "then rerun (outputs written before are intact, checkpoints included)", err=True)
            raise typer.Exit(2) from None

    return wrapper
