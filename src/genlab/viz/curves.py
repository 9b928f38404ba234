"""Training curves of one model, from the dvclive TSV files its train stage writes, as one PNG."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from genlab.io import atomic_path

SKIP = ("train_seconds",)  # the wall clock is a column of the report, not a curve


def read_curves(plots_dir: Path) -> dict[str, tuple[list[float], list[float]]]:
    """name -> (steps, values) for every ``<name>.tsv`` (columns: step, name) under ``plots_dir``."""
    curves = {}
    for path in sorted(plots_dir.glob("*.tsv")):
        if path.stem in SKIP:
            continue
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if rows and "step" in rows[0] and path.stem in rows[0]:
            curves[path.stem] = ([float(r["step"]) for r in rows], [float(r[path.stem]) for r in rows])
    return curves


def plot_curves(plots_dir: Path, out: Path, title: str) -> bool:
    """One panel per curve, against the optimizer step; False (nothing written) when there are no curves."""
    curves = read_curves(plots_dir)
    if not curves:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(4, len(curves))
    rows = math.ceil(len(curves) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, (name, (steps, values)) in zip(axes.flat, curves.items()):
        ax.plot(steps, values, lw=1)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("step", fontsize=7)
    for ax in list(axes.flat)[len(curves):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=72, format="png")
    plt.close(fig)
    return True
