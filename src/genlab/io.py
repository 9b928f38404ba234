"""Atomic file output: every file is written to a temporary name in its folder, then renamed.

An interrupted run therefore never leaves a half-written file that looks finished, and a failed
write (a full disk, a read-only folder) leaves the previous version of the file intact and raises an
``OSError`` that names the output it was writing.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import torch


_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f"{path.suffix}.tmp")
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    os.close(fd)
    tmp = Path(tmp)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file the usual permissions
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # e.g. a full disk: name the output, not the temporary file
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def save_torch(path: str | Path, obj: Any) -> None:
    """``torch.save`` atomically; ``obj`` must hold only tensors and plain Python values. Serialized in memory
    first, so the archive's record names do not come from the random temporary file name (the same ``obj``
    gives the same bytes, and DVC sees an unchanged output as unchanged) and a full disk surfaces as the
    plain ``OSError`` of the write (torch's own writer reports it as an opaque RuntimeError)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getbuffer())


def load_torch(path: str | Path, map_location: Any = "cpu") -> Any:
    """Load a file written by :func:`save_torch`; pickled objects are refused (``weights_only=True``)."""
    return torch.load(path, map_location=map_location, weights_only=True)


def sha256(data: bytes | str | Path | torch.Tensor | dict | list) -> str:
    """The one content hash of genlab (hex SHA-256): of bytes; of a file's contents (a :class:`Path`); of a
    tensor's bytes (CPU, contiguous; dtype and shape are not included); of a plain JSON value, keys sorted; of text."""
    h = hashlib.sha256()
    if isinstance(data, Path):
        with open(data, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    elif isinstance(data, torch.Tensor):
        h.update(data.detach().cpu().contiguous().numpy().tobytes())
    elif isinstance(data, (dict, list)):
        h.update(json.dumps(data, sort_keys=True).encode())
    else:
        h.update(data.encode() if isinstance(data, str) else data)
    return h.hexdigest()
