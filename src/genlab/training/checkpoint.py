"""Resumable checkpoints and final model files: tensors and plain values only, loaded weights-only.

Checkpoints live in ``<dir>/step_<N>.pt``; the newest one that loads and whose fingerprint matches
the current run's params wins; a truncated or corrupt file is skipped with a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path

from genlab.io import load_torch, save_torch, sha256

log = logging.getLogger(__name__)

KEEP = 2


def fingerprint(obj) -> str:
    """Stable hash of a plain-python description of a run (what must match to resume it)."""
    return sha256(obj)[:16]


def _step_files(ckpt_dir: Path) -> list[Path]:
    files = [p for p in ckpt_dir.glob("step_*.pt") if p.stem[5:].isdigit()]
    return sorted(files, key=lambda p: int(p.stem[5:]), reverse=True)


def save_checkpoint(ckpt_dir: Path, step: int, payload: dict) -> Path:
    """Write ``step_<step>.pt`` atomically and keep only the newest :data:`KEEP` checkpoints."""
    path = ckpt_dir / f"step_{step:08d}.pt"
    save_torch(path, {"step": step, **payload})
    for old in _step_files(ckpt_dir)[KEEP:]:
        old.unlink(missing_ok=True)
    return path


def latest_checkpoint(ckpt_dir: Path, fp: str, remove_stale: bool = True, at_most: int | None = None) -> dict | None:
    """The newest loadable checkpoint with fingerprint ``fp`` (and step <= ``at_most``, if given), or None (stale
    ones are removed, unless ``remove_stale`` is false: data-parallel processes that do not write only read)."""
    if not ckpt_dir.is_dir():
        return None
    for path in _step_files(ckpt_dir):
        if at_most is not None and int(path.stem[5:]) > at_most:
            continue
        try:
            ck = load_torch(path)
        except Exception as exc:  # noqa: BLE001 - truncated / corrupt / not weights-only
            log.warning("skipping unreadable checkpoint %s (%s: %s)", path, type(exc).__name__, str(exc)[:120])
            continue
        if ck.get("fingerprint") != fp:
            if remove_stale:
                log.warning("removing checkpoint %s: it belongs to other params", path)
                path.unlink(missing_ok=True)
            continue
        log.info("resuming from %s (step %d)", path, ck["step"])
        return ck
    return None
