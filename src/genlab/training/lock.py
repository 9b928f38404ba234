"""One writer per model: a second ``genlab train`` on the same checkpoint folder refuses while one runs.

The lock is ``fcntl.flock`` on ``<checkpoint folder>/.lock``: the operating system releases it when the process
ends, however it ends (``kill -9`` included), so a killed run never leaves it stuck. The file holds the pid of
the holder, for the message. A launcher that starts the data-parallel processes itself holds the lock for them
(they find the folder in :data:`HELD`); under a torchrun started by hand, rank 0 takes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

from genlab.errors import TrainingError

LOCK = ".lock"
HELD = "GENLAB_TRAIN_LOCK"  # the checkpoint folder whose lock this process's launcher holds


@contextlib.contextmanager
def single_writer(ckpt_dir: Path, take: bool = True) -> Iterator[None]:
    """Hold the lock of ``ckpt_dir`` inside (``take=False``: a process that only reads, e.g. a rank > 0); another
    holder is one TrainingError line naming the folder and its pid."""
    key = str(ckpt_dir.resolve())
    if not take or os.environ.get(HELD) == key:
        yield
        return
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(ckpt_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 20, 0).decode(errors="replace").strip()
            raise TrainingError(f"{ckpt_dir}: another genlab train {f'(pid {pid}) ' if pid.isdigit() else ''}is "
                                "writing these checkpoints; wait for it to finish (or stop it), then rerun") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        os.environ[HELD] = key  # processes started from here (torchrun's) share the lock
        try:
            yield
        finally:
            del os.environ[HELD]
    finally:
        os.close(fd)  # releases the lock
