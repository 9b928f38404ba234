"""Figures of the theory stage (matplotlib, written atomically)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from genlab.io import atomic_path  # noqa: E402


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_dstar(c: dict, path: Path, err: float) -> None:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(c["x"], c["p"], color="tab:blue", lw=1, label="p_data")
    ax.plot(c["x"], c["q"], color="tab:orange", lw=1, label="p_g")
    ax.plot(c["x"], c["dstar"], "k", lw=2, label="D* = p_data / (p_data + p_g)")
    ax.plot(c["x"], c["d"], "r--", lw=1.5, label="trained D")
    lo, hi = c["x"][c["mask"]].min(), c["x"][c["mask"]].max()
    ax.axvspan(c["x"].min(), lo, color="0.9")
    ax.axvspan(hi, c["x"].max(), color="0.9")
    ax.set(xlabel="x", title=f"Optimal discriminator: max |D - D*| = {err:.3f} where the densities have mass")
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_mode_curves(curves: dict[str, list[dict]], path: Path) -> None:
    """Modes covered and high-quality share against the step, mean over seeds, one line per variant and mixture."""
    fig, axes = plt.subplots(2, 2, figsize=(10, 6), squeeze=False)
    for name, trace in curves.items():
        steps = [r["step"] for r in trace]
        for row, key in enumerate(("modes", "high_quality")):
            for col, mixture in enumerate(("ring", "grid")):
                axes[row][col].plot(steps, [r[mixture][key] for r in trace], label=name, lw=1)
                axes[row][col].set(title=f"{mixture}: {key.replace('_', ' ')} (500 points, mean over seeds)",
                                   xlabel="step")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)


def plot_modes(points: dict, mixtures: dict, path: Path) -> None:
    names = list(mixtures)
    labels = list(dict.fromkeys(label for _, label in points))
    fig, axes = plt.subplots(len(names), len(labels), figsize=(3.2 * len(labels), 3.2 * len(names)), squeeze=False)
    for i, name in enumerate(names):
        centres, _ = mixtures[name]
        for j, label in enumerate(labels):
            ax = axes[i][j]
            pts = points[(name, label)]
            ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.4)
            ax.scatter(centres[:, 0], centres[:, 1], s=25, c="r", marker="x")
            lim = float(centres.abs().max()) + 1.5
            ax.set(xlim=(-lim, lim), ylim=(-lim, lim), title=f"{name}: {label}", xticks=[], yticks=[])
    _save(fig, path)
