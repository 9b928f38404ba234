"""Figure of the estimator study: total variance against samples per estimate, log-log (matplotlib)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from genlab.gradients.study import ESTIMATORS  # noqa: E402
from genlab.io import atomic_path  # noqa: E402

LABELS = {"reparam": "reparameterization", "score": "score function (REINFORCE)",
          "score_cv": "score function + control variate (a*)"}


def plot_variance(results: dict[str, dict], path: Path) -> None:
    """One panel per checkpoint (init, trained): var of each estimator vs n, with a 1/n guide."""
    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 4), squeeze=False)
    for ax, (phase, r) in zip(axes[0], results.items()):
        for e in ESTIMATORS:
            ns = [int(k[1:]) for k in r[f"var_{e}"]]
            vs = list(r[f"var_{e}"].values())
            ax.loglog(ns, vs, "o-", label=f"{LABELS[e]} (slope {r[f'var_slope_{e}']:.2f})")
        ref = r["var_score"][f"n{ns[0]}"] * ns[0]
        ax.loglog(ns, [ref / n for n in ns], "k:", lw=1, label="∝ 1/n")
        ax.set(xlabel="samples per estimate n", ylabel="total variance of the gradient estimate",
               title=f"VAE encoder gradient at {phase}\nthe control variate keeps {r['cv_variance_ratio']:.3g} "
                     f"of REINFORCE's variance")
        ax.title.set_fontsize(10)
        ax.legend(fontsize=7)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
