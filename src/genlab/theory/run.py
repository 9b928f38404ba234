"""The ``theory`` stage's experiments on known densities, each over ``theory.seeds`` seeds (0..n-1): D against D*,
V(D*, G) against -log 4 + 2 JSD, and the generator's gradient under both losses when D rejects the fakes. Every
number is a list with one value per seed (the claims' verdicts read them); the figure shows seed 0."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch

from genlab.config import as_dict
from genlab.theory.config import TheoryConfig
from genlab.theory.densities import Mixture1D, gaussian, jsd_quadrature, optimal_discriminator, value_at_optimum_mc
from genlab.theory.optimal_discriminator import dstar_errors, saturation_gradients

log = logging.getLogger(__name__)

P_DATA = Mixture1D((0.5, 0.5), (-2.0, 1.0), (0.5, 0.4))
P_G = gaussian(0.0, 1.5)
JSD_PAIRS = [
    (gaussian(0, 1), gaussian(0, 1)),
    (gaussian(0, 1), gaussian(1, 1)),
    (gaussian(0, 1), gaussian(3, 0.5)),
    (P_DATA, P_G),
    (gaussian(0, 1), gaussian(12, 1)),
]


def run_theory(cfg: TheoryConfig, grid_dir: Path) -> dict:
    """Every experiment on the CPU with one thread: the toy networks are too small for more to help."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(cfg, grid_dir)
    finally:
        torch.set_num_threads(threads)


def _run(cfg: TheoryConfig, grid_dir: Path) -> dict:
    from genlab.theory.plots import plot_dstar

    seeds = list(range(cfg.seeds))
    out: dict = {"seeds": seeds, "params": as_dict(cfg)}
    # 1. the optimal discriminator: one D per seed between p_data and p_g, and one between p_data and itself
    errors, curves = dstar_errors([(P_DATA, P_G)] * len(seeds) + [(P_DATA, P_DATA)] * len(seeds), seeds + seeds,
                                  cfg.d_steps, cfg.mass_threshold, cfg.d_batch, cfg.d_h, cfg.d_lr)
    out["optimal_discriminator"] = {"p_data": P_DATA.describe(), "p_g": P_G.describe(), "steps": cfg.d_steps}
    out["dstar_max_abs_err"] = errors[:len(seeds)]
    out["dstar_equal_max_dev"] = errors[len(seeds):]  # p_g = p_data: D* = 1/2, the trained D's largest deviation
    plot_dstar(curves[0], grid_dir / "dstar.png", errors[0])
    log.info("D*: max |D - D*| = %s; p_g = p_data: max |D - 1/2| = %s", _short(errors[:len(seeds)]),
             _short(errors[len(seeds):]))
    # 2. the value at the optimum: V(D*, G) by Monte Carlo against -log 4 + 2 JSD by quadrature
    jsd = [jsd_quadrature(p, q) for p, q in JSD_PAIRS]
    out["jsd_identity"] = [{"p_data": p.describe(), "p_g": q.describe(), "jsd": j, "minus_log4_plus_2jsd":
                            -math.log(4) + 2 * j, "V_mc": []} for (p, q), j in zip(JSD_PAIRS, jsd)]
    out["jsd_identity_max_err"], out["equal_value_minus_log4"] = [], []
    for seed in seeds:
        g = torch.Generator().manual_seed(seed)
        values = [value_at_optimum_mc(p, q, cfg.mc_samples, g) for p, q in JSD_PAIRS]
        for row, v in zip(out["jsd_identity"], values):
            row["V_mc"].append(v)
        out["jsd_identity_max_err"].append(max(abs(v - r["minus_log4_plus_2jsd"]) for v, r in zip(values,
                                                                                                 out["jsd_identity"])))
        out["equal_value_minus_log4"].append(abs(values[0] + math.log(4)))  # the minimum, at p_g = p_data
    x = torch.linspace(-10, 10, 4001, dtype=torch.float64)
    out["dstar_equal_analytic_max_dev"] = float((optimal_discriminator(P_DATA, P_DATA, x) - 0.5).abs().max())
    # 3. saturation: a random G and D with D's logits on fakes shifted to -10
    runs = [saturation_gradients(seed) for seed in seeds]
    out["saturation"] = {k: [r[k] for r in runs] for k in runs[0]}
    log.info("saturating / non-saturating gradient norm: %s", _short(out["saturation"]
                                                                     ["grad_ratio_saturating_over_nonsaturating"]))
    return out


def _short(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in values) + "]"
