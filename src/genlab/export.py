"""Images out of the lab, for other tools: a PNG grid, a folder of PNG files (what torch-fidelity's, clean-fid's and
pytorch-fid's command lines read), or an ``.npz`` array (``arr_0``, N×H×W×C uint8, the layout of the evaluators of
OpenAI's guided-diffusion). Each is written atomically; a folder is filled under a temporary name, then swapped in
whole, so an old export never mixes with a new one."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from genlab.data.tensors import to_unit
from genlab.io import atomic_path
from genlab.viz.grids import save_grid


def save_folder(images: torch.Tensor, folder: Path) -> None:
    """Write uint8 N×C×H×W ``images`` as ``folder/000000.png`` ... (lossless; grey images stay one channel),
    replacing what the folder held."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    try:
        for i, img in enumerate(_hwc(images)):
            Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(tmp / f"{i:06d}.png")
        old = folder.with_name(f".{folder.name}.old") if folder.exists() else None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
            folder.rename(old)
        tmp.rename(folder)
        if old is not None:
            shutil.rmtree(old)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(folder)) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def save_npz(images: torch.Tensor, path: Path) -> None:
    """Write uint8 N×C×H×W ``images`` as ``arr_0`` (N×H×W×C uint8) of a compressed ``.npz``."""
    buf = io.BytesIO()
    np.savez_compressed(buf, arr_0=_hwc(images))
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getbuffer())


def export(images: torch.Tensor, out: Path | None = None, folder: Path | None = None, npz: Path | None = None,
           nrow: int = 8) -> Path:
    """Write uint8 ``images`` to the one destination given: a grid PNG ``out`` (``nrow`` per row), a ``folder``
    of PNGs or an ``npz`` file; returns it."""
    if folder is not None:
        save_folder(images, folder)
        return folder
    if npz is not None:
        save_npz(images, npz)
        return npz
    save_grid(to_unit(images), out, nrow=nrow)
    return out


def _hwc(images: torch.Tensor) -> np.ndarray:
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise ValueError(f"expected uint8 N×C×H×W images, got {images.dtype} {tuple(images.shape)}")
    return images.permute(0, 2, 3, 1).contiguous().cpu().numpy()
