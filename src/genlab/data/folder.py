"""Image-folder datasets: every image under a folder, class = its first-level sub-folder (if any).

Folders are untrusted input: a file that does not decode or verify (a truncated one), or whose pixel count exceeds Pillow's
decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``, kept at Pillow's default; Pillow only warns
between 1x and 2x of it, here that is refused too), stops preparation with an error naming the file.
"""

from __future__ import annotations

import contextlib
import logging
import struct
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from PIL import Image

from genlab import memory
from genlab.errors import DataError

log = logging.getLogger(__name__)

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@contextlib.contextmanager
def _open(path: Path) -> Iterator[Image.Image]:
    """``Image.open`` that refuses oversized, truncated and unreadable files with a :class:`DataError` naming
    ``path`` (the file is verified first: Pillow decodes some truncated files without a word)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.verify()
            with Image.open(path) as img:
                yield img
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise DataError(f"{path}: refused, too many pixels for a training image ({exc}); downscale it or remove "
                        "it") from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as exc:
        raise DataError(f"{path}: not a readable image ({type(exc).__name__}: {exc}); remove or replace it") from None


def _read(path: Path, mode: str, size: int) -> np.ndarray:
    """Decode one image, centre-crop it square and resize it; any failure names the file."""
    with _open(path) as img:
        img = img.convert(mode)
        w, h = img.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)
        arr = np.asarray(img, dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr


def load_folder(root: Path, test_fraction: float, size: int | None = None) -> dict[str, torch.Tensor]:
    """Read every image under ``root`` at ``size``² (default: the first image's shorter side)."""
    if not root.is_dir():
        raise DataError(f"data.folder: {root} is not a folder; point data.folder at a folder of images")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())
    if len(files) < 2:
        raise DataError(f"data.folder: {root} holds {len(files)} image(s) ({', '.join(sorted(EXTENSIONS))}); "
                        "at least 2 are needed")
    classes = sorted({p.relative_to(root).parts[0] for p in files if len(p.relative_to(root).parts) > 1})
    with _open(files[0]) as first:
        mode = "L" if first.mode in ("1", "L", "I;16", "I") else "RGB"
        size = size or min(first.size)
    memory.check_prepared(len(files), len(mode), size, f"folder {root}")  # before any image is decoded
    images = np.stack([_read(p, mode, size) for p in files])
    labels = np.array([classes.index(p.relative_to(root).parts[0]) if len(p.relative_to(root).parts) > 1 else 0
                       for p in files], dtype=np.int64)
    images_t = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    order = torch.randperm(len(files), generator=torch.Generator().manual_seed(0))  # fixed split, independent of seed
    n_test = max(1, int(round(test_fraction * len(files))))
    test, train = order[:n_test], order[n_test:]
    labels_t = torch.from_numpy(labels)
    log.info("folder %s: %d images, %d classes, %d test", root, len(files), max(1, len(classes)), n_test)
    return {"train_images": images_t[train], "train_labels": labels_t[train],
            "test_images": images_t[test], "test_labels": labels_t[test]}
