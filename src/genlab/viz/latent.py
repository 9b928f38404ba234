"""Figures of a 2-D latent space: codes over the prior, and the decoded manifold."""

from __future__ import annotations

from pathlib import Path

import torch

from genlab.io import atomic_path
from genlab.viz.grids import save_grid

MANIFOLD_SIDE = 20


def plot_latent(codes: torch.Tensor, labels: torch.Tensor, prior: torch.Tensor, path: Path, title: str) -> None:
    """Scatter of the encoded test images (first two latent dims) coloured by class, over prior draws in grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6))
    ax.scatter(prior[:, 0], prior[:, 1], s=2, c="0.8", label="prior p(z)")
    points = ax.scatter(codes[:, 0], codes[:, 1], s=2, c=labels, cmap="tab10", vmin=-0.5, vmax=9.5)
    fig.colorbar(points, ax=ax, ticks=range(10), label="class")
    ax.set(title=f"{title}: test codes over the prior", xlabel="z1", ylabel="z2")
    ax.legend(loc="upper right", markerscale=4)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png", bbox_inches="tight")
    plt.close(fig)


@torch.no_grad()
def save_manifold(model, prior: torch.Tensor, path: Path, side: int = MANIFOLD_SIDE) -> None:
    """Decode a side×side grid over the 2-D latent: the prior's 2%..98% quantiles per axis (for N(0, I) the
    evenly spaced Gaussian quantiles of Kingma & Welling 2014, Fig. 4); z1 grows left to right, z2 upwards."""
    q = torch.linspace(0.02, 0.98, side, device=prior.device, dtype=prior.dtype)
    z1, z2 = torch.quantile(prior[:, 0], q), torch.quantile(prior[:, 1], q)
    grid = torch.stack(torch.meshgrid(z2.flip(0), z1, indexing="ij"), dim=-1).reshape(-1, 2).flip(1)
    save_grid(model.decode_mean(grid), path, nrow=side, pad=0)
