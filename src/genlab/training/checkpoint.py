"""Resumable checkpoints and final model files: tensors and plain values only, loaded weights-only.

Checkpoints live in ``<dir>/step_<N>.pt``; the newest one that loads, whose fingerprint matches the current
run's params and whose contents fit the run wins; a damaged one (truncated, foreign, of another kind or format
version, or with state that does not fit) is skipped with a one-line warning naming it and renamed to
``step_<N>.pt.damaged`` (out of the rotation, kept for inspection), so the run resumes from the one before.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from genlab.errors import DataError
from genlab.io import checked, read_checked, save_torch, sha256

log = logging.getLogger(__name__)

KEEP = 2
SKIP = "skipped it: resuming from the checkpoint before it (or from the start)"


def fingerprint(obj) -> str:
    """Stable hash of a plain-python description of a run (what must match to resume it)."""
    return sha256(obj)[:16]


def _step_files(ckpt_dir: Path) -> list[Path]:
    files = [p for p in ckpt_dir.glob("step_*.pt") if p.stem[5:].isdigit()]
    return sorted(files, key=lambda p: int(p.stem[5:]), reverse=True)


def save_checkpoint(ckpt_dir: Path, step: int, payload: dict) -> Path:
    """Write ``step_<step>.pt`` atomically and keep only the newest :data:`KEEP` checkpoints."""
    path = ckpt_dir / f"step_{step:08d}.pt"
    save_torch(path, {"step": step, **payload}, kind="checkpoint")
    for old in _step_files(ckpt_dir)[KEEP:]:
        old.unlink(missing_ok=True)
    return path


def latest_checkpoint(ckpt_dir: Path, fp: str, remove_stale: bool = True,
                      restore: Callable[[dict], None] | None = None, at_most: int | None = None) -> dict | None:
    """The newest checkpoint with fingerprint ``fp`` (and step <= ``at_most``, if given) that loads and that
    ``restore`` (if given) applies without error, or None. Damaged ones are skipped with a warning and moved aside,
    stale ones (other params) are removed, unless ``remove_stale`` is false (data-parallel processes that do not
    write only read)."""
    if not ckpt_dir.is_dir():
        return None
    for path in _step_files(ckpt_dir):
        if at_most is not None and int(path.stem[5:]) > at_most:
            continue
        try:
            ck = read_checked(path, "checkpoint", SKIP)
            with checked(path, SKIP):
                if ck["fingerprint"] != fp:
                    if remove_stale:
                        log.warning("removing checkpoint %s: it belongs to other params", path)
                        path.unlink(missing_ok=True)
                    continue
                if restore is not None:
                    restore(ck)
        except DataError as exc:
            if remove_stale:  # out of the rotation (KEEP), but kept for inspection
                path.replace(path.with_name(path.name + ".damaged"))
            log.warning("%s%s", exc, f" (moved to {path.name}.damaged)" if remove_stale else "")
            continue
        log.info("resuming from %s (step %d)", path, ck["step"])
        return ck
    return None
