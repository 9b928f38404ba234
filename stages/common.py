"""What every stage shares: paths, logging and the one-line error exit."""

from __future__ import annotations

import errno
import functools
import logging
import os
from pathlib import Path

import typer

from genlab.errors import ERRORS_DIR, USER_ERRORS, Interrupted

DATA = Path("data")
PREPARED = DATA / "prepared"
MODELS_DIR = Path("data/models")
CHECKPOINTS = Path("data/checkpoints")
CLASSIFIER = MODELS_DIR / "classifier" / "classifier.pt"
SPECS = DATA / "specs"  # models/<model>/{train,evaluate}.json, stages/<stage>.json: what each stage depends on
METRICS = Path("metrics")
EVAL = METRICS / "eval"  # metrics/eval/<model>.json
RUNS = METRICS / "runs.json"  # the seeds and sweeps of DVC experiments, gathered by genlab collect for the claims
GRIDS = METRICS / "grids"  # metrics/grids/<model or study>/*.png
TRAIN_LOGS = METRICS / "train"

# Failures to write an output, with the fix to suggest
WRITE_ERRORS = {errno.ENOSPC: "free disk space", errno.EDQUOT: "free space within your disk quota",
                errno.EACCES: "make the folder writable", errno.EPERM: "make the folder writable",
                errno.EROFS: "run where the file system is writable"}

ParamsOption = typer.Option(Path("params.yaml"), "--params", "-p", help="params file to read")

log = logging.getLogger("genlab")


def raw_params(path: Path) -> dict:
    """params.yaml as the plain mapping it holds (after :func:`genlab.config.load_params` has checked it)."""
    import yaml

    return yaml.safe_load(Path(path).read_text())


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
            fail(f"error: {exc}")
        except Interrupted as exc:  # training checkpointed the step it stopped at
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted; every output is written atomically, so none is half-written: rerun to finish", 130)
        except OSError as exc:
            if exc.errno not in WRITE_ERRORS:
                raise
            fail(f"error: cannot write {exc.filename or 'an output'}: {exc.strerror}; {WRITE_ERRORS[exc.errno]}, "
                 "then rerun (outputs written before are intact, checkpoints included)")

    return wrapper


def fail(line: str, code: int = 2) -> None:
    """Exit ``code`` with ``line`` (if any) on stderr, or, under genlab's torchrun agent, in its errors folder (it
    prints one)."""
    folder = os.environ.get(ERRORS_DIR)
    if not line:
        pass
    elif folder and Path(folder).is_dir():
        (Path(folder) / f"{os.getpid()}.txt").write_text(line)
    else:
        typer.echo(line, err=True)
    raise typer.Exit(code) from None
