"""Files in and out: every output is written atomically, and every file genlab wrote is checked when read back.

Writes go to a temporary name in the file's folder, then one rename: an interrupted run never leaves a
half-written file that looks finished, and a failed write (a full disk, a read-only folder) leaves the
previous version intact and raises an ``OSError`` that names the output.

Reads of genlab's own files go through :func:`read_checked`: each file carries a ``format`` tag (its kind and
the version of its layout, :data:`FORMATS`), and an empty, truncated or foreign file, a pickled object, a file
of another kind or version, or contents that do not fit become one :class:`~genlab.errors.DataError` line that
names the file, says what is wrong and gives the fix.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import pickle
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from genlab.errors import DataError

#: every kind of file genlab writes and reads back -> the version of its layout (bump it when the layout changes:
#: files of another version are then refused by name, with the fix, instead of failing somewhere inside)
FORMATS = {"prepared-split": 1, "prepared-manifest": 1, "model": 1, "state": 1, "classifier": 1, "checkpoint": 1,
           "features": 1}


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


def tagged(obj: dict, kind: str) -> dict:
    """``obj`` with the ``format`` tag of a genlab file of ``kind`` (see :data:`FORMATS`)."""
    return {"format": {"kind": kind, "version": FORMATS[kind]}, **obj}


def save_torch(path: str | Path, obj: Any, kind: str | None = None) -> None:
    """``torch.save`` atomically; ``obj`` must hold only tensors and plain Python values (a dict, tagged as a file
    of ``kind`` when given). Serialized in memory first, so the archive's record names do not come from the random
    temporary file name (the same ``obj`` gives the same bytes, and DVC sees an unchanged output as unchanged) and
    a full disk surfaces as the plain ``OSError`` of the write (torch's own writer reports it as an opaque
    RuntimeError)."""
    buf = io.BytesIO()
    torch.save(tagged(obj, kind) if kind else obj, buf)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getbuffer())


def load_torch(path: str | Path, map_location: Any = "cpu") -> Any:
    """Load a file written by :func:`save_torch`; pickled objects are refused (``weights_only=True``)."""
    with warnings.catch_warnings():  # e.g. torch's multi-line note on a foreign pickle protocol
        warnings.simplefilter("ignore")
        return torch.load(path, map_location=map_location, weights_only=True)


#: what a file's contents can raise when they do not fit what reads them (a missing key, a wrong shape or type)
MISFITS = (KeyError, IndexError, TypeError, ValueError, AttributeError, RuntimeError)


def _reason(exc: BaseException) -> str:
    """An exception as a short phrase on one line (torch's multi-line messages joined and cut)."""
    if isinstance(exc, KeyError):
        return f"no entry {exc.args[0]!r}" if exc.args else "a missing entry"
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "WeightsUnpickler error:" in text:  # torch's paragraph around the one phrase that says what failed
        text = text.split("WeightsUnpickler error:")[1].split(" Check the documentation")[0].strip()
    text = text.split(" This is an internal miniz error")[0]
    return text if len(text) <= 200 else text[:197] + "..."


def _short(value: Any) -> str:
    """A value from a file, shown on one line (repr, cut)."""
    text = value if isinstance(value, str) and value.isprintable() and len(value) <= 40 else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@contextlib.contextmanager
def checked(path: str | Path, fix: str) -> Iterator[None]:
    """Inside, contents of ``path`` that do not fit (:data:`MISFITS`) become one DataError naming the file."""
    try:
        yield
    except MISFITS as exc:
        raise DataError(f"{path}: does not fit ({_reason(exc)}); {fix}") from None


def load_file(path: str | Path, fix: str) -> Any:
    """The contents of a JSON or torch file (by its suffix; torch weights-only); a file that is missing, empty,
    truncated, foreign or pickled is one DataError naming it, what is wrong and ``fix``."""
    try:
        return _load(Path(path))
    except DataError as exc:
        raise DataError(f"{path}: {exc}; {fix}") from None


def _load(path: Path) -> Any:
    is_json = path.suffix == ".json"
    if not path.is_file():
        raise DataError("not found")
    if path.stat().st_size == 0:
        raise DataError("empty (0 bytes)")
    try:
        return json.loads(path.read_text()) if is_json else load_torch(path)
    except Exception as exc:  # noqa: BLE001 - any failure to parse: truncated, random bytes, another format, pickles
        found = re.search(r"GLOBAL (\S+)", str(exc))
        if found:
            raise DataError(f"refused: it holds a pickled Python object ({found[1]}), not only tensors (loads are "
                            "weights-only)") from None
        if not is_json and _is_pickle(path):
            raise DataError("refused: a pickle of Python objects, which could run code when loaded, not a torch "
                            "file of tensors (loads are weights-only)") from None
        raise DataError(f"unreadable: truncated or not a {'JSON' if is_json else 'torch'} file "
                        f"({type(exc).__name__}: {_reason(exc)})") from None


def _is_pickle(path: Path) -> bool:
    """Whether the file starts like a pickle stream (the PROTO opcode of protocol 2 and up)."""
    with open(path, "rb") as fh:
        head = fh.read(2)
    return len(head) == 2 and head[0] == pickle.PROTO[0] and 2 <= head[1] <= pickle.HIGHEST_PROTOCOL


def read_checked(path: str | Path, kind: str, fix: str) -> dict:
    """The contents of ``path``, a genlab file of ``kind`` (torch, or JSON by its suffix), without the tag; a file
    that is missing, empty, truncated, foreign, pickled, of another kind or version is one DataError naming it,
    what is wrong and ``fix``. Check what the caller then reads from it inside :func:`checked`."""
    obj = load_file(path, fix)
    tag = obj.get("format") if isinstance(obj, dict) else None
    if not isinstance(tag, dict) or not isinstance(tag.get("kind"), str):
        raise DataError(f"{path}: not a genlab {kind} file (it has no format tag: written by another program or an "
                        f"older genlab); {fix}")
    if tag["kind"] != kind:
        raise DataError(f"{path}: a genlab {_short(tag['kind'])} file where a {kind} file belongs; {fix}")
    if type(tag.get("version")) is not int or tag["version"] != FORMATS[kind]:
        raise DataError(f"{path}: a {kind} file of format version {_short(tag.get('version'))}, this genlab reads "
                        f"version {FORMATS[kind]}; {fix}")
    return {k: v for k, v in obj.items() if k != "format"}


def require_types(obj: dict, types: dict[str, type | tuple[type, ...]]) -> None:
    """ValueError unless ``obj`` has every entry of ``types`` with a value of that type (a bool is no int)."""
    for key, tp in types.items():
        if not isinstance(obj[key], tp) or (type(obj[key]) is bool and tp is not bool):
            raise ValueError(f"its {key} is a {type(obj[key]).__name__}, not what genlab writes")


def load_module(build: Callable[[], torch.nn.Module], state: dict) -> torch.nn.Module:
    """``build()`` with the state dict ``state`` loaded; tried first on the ``meta`` device, so a state of other keys or
    shapes (or a build from absurd sizes) raises before anything is allocated, and the random numbers drawn by the
    real build are those of a plain one."""
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        build().load_state_dict(state, assign=True)  # checks keys and shapes, copies nothing
    module = build()
    module.load_state_dict(state)
    return module


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
