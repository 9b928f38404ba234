"""The ``theory`` stage's experiments: each number with the parameters that produced it."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch

from genlab.config import TheoryConfig, as_dict
from genlab.theory.densities import Mixture1D, gaussian, jsd_quadrature, optimal_discriminator, value_at_optimum_mc
from genlab.theory.mixtures import MIXTURES, generate_points, mode_stats, train_toy_gan
from genlab.theory.optimal_discriminator import dstar_error, saturation_gradients

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
VARIANTS = [("non-saturating", False), ("saturating", False), ("non-saturating", True)]


def run_theory(cfg: TheoryConfig, seed: int, grid_dir: Path) -> dict:
    """Every experiment on the CPU with one thread: the toy networks are too small for more to help."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(cfg, seed, grid_dir)
    finally:
        torch.set_num_threads(threads)


def _run(cfg: TheoryConfig, seed: int, grid_dir: Path) -> dict:
    from genlab.theory.plots import plot_dstar, plot_modes

    out: dict = {"seed": seed, "params": as_dict(cfg)}
    # 1. optimal discriminator
    err, curves = dstar_error(P_DATA, P_G, cfg.d_steps, seed, cfg.mass_threshold)
    out["optimal_discriminator"] = {"p_data": P_DATA.describe(), "p_g": P_G.describe(), "steps": cfg.d_steps,
                                    "dstar_max_abs_err": err}
    out["dstar_max_abs_err"] = err
    eq_err, _ = dstar_error(P_DATA, P_DATA, cfg.d_steps, seed, cfg.mass_threshold)
    out["dstar_equal_max_dev"] = eq_err  # p_g = p_data: D* = 1/2, the trained D's largest deviation from it
    plot_dstar(curves, grid_dir / "dstar.png", err)
    log.info("D*: max |D - D*| = %.4f; p_g = p_data: max |D - 1/2| = %.4f", err, eq_err)
    # 2. value at the optimum: V(D*, G) (Monte Carlo) vs -log 4 + 2 JSD (quadrature)
    g = torch.Generator().manual_seed(seed)
    pairs = []
    for p, q in JSD_PAIRS:
        v = value_at_optimum_mc(p, q, cfg.mc_samples, g)
        jsd = jsd_quadrature(p, q)
        pairs.append({"p_data": p.describe(), "p_g": q.describe(), "V_mc": v, "jsd": jsd,
                      "minus_log4_plus_2jsd": -math.log(4) + 2 * jsd, "abs_err": abs(v - (-math.log(4) + 2 * jsd))})
    out["jsd_identity"] = pairs
    out["jsd_identity_max_err"] = max(r["abs_err"] for r in pairs)
    # the minimum: at p_g = p_data (the first pair) V(D*, G) = -log 4
    out["equal_value_minus_log4"] = abs(pairs[0]["V_mc"] + math.log(4))
    x = torch.linspace(-10, 10, 4001, dtype=torch.float64)
    out["dstar_equal_analytic_max_dev"] = float((optimal_discriminator(P_DATA, P_DATA, x) - 0.5).abs().max())
    # 3. saturation
    out["saturation"] = saturation_gradients(seed)
    out.update({k: out["saturation"][k] for k in ("grad_norm_saturating", "grad_norm_nonsaturating")})
    # 4. mode collapse on 2-D mixtures
    runs, points = [], {}
    for name, (centres, std) in MIXTURES.items():
        for loss, mbstd in VARIANTS:
            gen = train_toy_gan(centres, std, loss, mbstd, cfg.mixture_steps, seed, cfg.batch, cfg.h, cfg.z, cfg.lr)
            pts = generate_points(gen, cfg.mixture_samples, seed + 1)
            stats = mode_stats(pts, centres, std)
            label = f"{loss}{' + mbstd' if mbstd else ''}"
            runs.append({"mixture": name, "loss": loss, "mbstd": mbstd, "modes_total": len(centres), **stats})
            points[(name, label)] = pts
            log.info("%s, %s: %d/%d modes, %.1f%% high quality", name, label, stats["modes"], len(centres),
                     100 * stats["high_quality"])
    out["mode_collapse"] = runs
    default = {r["mixture"]: r for r in runs if r["loss"] == "non-saturating" and not r["mbstd"]}
    out.update({"ring_modes": default["ring"]["modes"], "ring_high_quality": default["ring"]["high_quality"],
                "grid_modes": default["grid"]["modes"], "grid_high_quality": default["grid"]["high_quality"]})
    plot_modes(points, MIXTURES, grid_dir / "modes.png")
    return out
