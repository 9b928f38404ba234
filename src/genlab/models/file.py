"""The model file, ``data/models/<name>/model.pt``: read back checked, whatever family rebuilds from it.

It holds the model's ``name`` (its entry in params.yaml's ``models``) and ``family``, its parsed sections (``cfg``, ``model``, ``train``), ``steps``, the data ``shape`` and
``num_classes``, the ``weights`` and the training ``meta`` (written by :func:`genlab.training.run.train_model`).
"""

from __future__ import annotations

import json
from pathlib import Path

from genlab.errors import DataError
from genlab.io import checked, read_checked, require_types

ENTRIES = {"name": str, "family": str, "cfg": dict, "model": dict, "train": dict, "steps": int, "shape": list, "num_classes": int,
           "weights": dict, "meta": dict}


def fix_for(path: Path) -> str:
    """How to repair a pipeline's ``data/models/<name>/model.pt``."""
    return f"restore it with dvc checkout {path.parent}, or retrain it (dvc repro train@{path.parent.name})"


def read_model_file(path: Path, family: str | None = None) -> dict:
    """The checked contents of a model file (every entry of the type train writes), of ``family`` when given:
    anything else is one DataError line. Rebuild the model inside ``checked(path, fix_for(path))``
    (:func:`genlab.io.checked`) so that weights that do not fit are one line too."""
    path = Path(path)
    ck = read_checked(path, "model", fix_for(path))
    with checked(path, fix_for(path)):
        require_types(ck, ENTRIES)
        if family is not None and ck["family"] != family:
            raise DataError(f"{path}: holds a model of family {ck['family'][:40]!r}, not {family}; {fix_for(path)}")
        if len(ck["shape"]) != 3 or not all(type(v) is int and v > 0 for v in ck["shape"]):
            raise ValueError(f"its shape {ck['shape']!r:.60} is not channels, height, width")
        json.dumps(ck["meta"])  # plain values only: evaluate copies them into its metrics
    return ck
