"""The GAN theory helpers against hand-computed cases, and the measured effects on tiny budgets."""

from __future__ import annotations

import math

import torch

from genlab.theory.densities import gaussian, jsd_quadrature, optimal_discriminator, value_at_optimum_mc
from genlab.theory.config import TheoryConfig
from genlab.theory.mixtures import grid_centres, mode_stats, ring_centres
from genlab.theory.optimal_discriminator import dstar_errors, saturation_gradients
from genlab.theory.run import P_DATA, P_G, run_theory


def test_optimal_discriminator_by_hand():
    p, q = gaussian(0, 1), gaussian(1, 1)
    x = torch.tensor([0.5, 0.0])
    # at the midpoint the densities are equal; at 0 the ratio is exp(-1/2): D* = 1 / (1 + exp(-1/2))
    torch.testing.assert_close(optimal_discriminator(p, q, x),
                               torch.tensor([0.5, 1 / (1 + math.exp(-0.5))], dtype=torch.float64))
    assert float((optimal_discriminator(P_DATA, P_DATA, torch.linspace(-5, 5, 101)) - 0.5).abs().max()) == 0.0


def test_jsd_limits_and_the_value_identity():
    assert abs(jsd_quadrature(gaussian(0, 1), gaussian(0, 1))) < 1e-12
    assert abs(jsd_quadrature(gaussian(0, 1), gaussian(40, 1)) - math.log(2)) < 1e-9  # disjoint supports
    g = torch.Generator().manual_seed(0)
    for p, q in [(gaussian(0, 1), gaussian(1, 1)), (P_DATA, P_G)]:
        v = value_at_optimum_mc(p, q, 200_000, g)
        assert abs(v - (-math.log(4) + 2 * jsd_quadrature(p, q))) < 0.01


def test_trained_discriminators_approach_dstar_for_every_seed():
    pairs, seeds = [(P_DATA, P_G)] * 3, [0, 1, 2]
    short, _ = dstar_errors(pairs, seeds, steps=20, lr=1e-2)  # a high lr: the test's budget is 600 steps
    longer, curves = dstar_errors(pairs, seeds, steps=600, lr=1e-2)
    assert all(b < 0.2 * a for a, b in zip(short, longer)), (short, longer)
    assert len(set(longer)) == 3 and curves[0]["d"].shape == curves[0]["x"].shape  # three seeds, three Ds


def test_the_theory_stage_gives_one_value_per_seed(tmp_path):
    out = run_theory(TheoryConfig(seeds=3, d_steps=30, mc_samples=2000), tmp_path)
    for key in ("dstar_max_abs_err", "dstar_equal_max_dev", "jsd_identity_max_err", "equal_value_minus_log4"):
        assert len(out[key]) == 3 and all(math.isfinite(v) for v in out[key]), key
    assert len(out["saturation"]["grad_ratio_saturating_over_nonsaturating"]) == 3
    assert (tmp_path / "dstar.png").stat().st_size > 0


def test_saturating_gradient_is_tiny_against_a_confident_discriminator():
    out = saturation_gradients(seed=0)
    assert out["d_of_fake_mean"] < 1e-3
    assert out["grad_norm_saturating"] < 1e-3 * out["grad_norm_nonsaturating"]


def test_mode_counter_on_points_placed_on_k_modes():
    centres = ring_centres()
    g = torch.Generator().manual_seed(0)
    for k in (1, 3, 8):
        idx = torch.arange(2400) % k
        pts = centres[idx] + 0.002 * torch.randn(2400, 2, generator=g, dtype=torch.float64)
        s = mode_stats(pts, centres, 0.01)
        assert (s["modes"], s["modes_strict"], s["high_quality"]) == (k, k, 1.0)
    far = torch.full((100, 2), 50.0, dtype=torch.float64)
    s = mode_stats(far, grid_centres(), 0.05)
    assert (s["modes"], s["high_quality"]) == (0, 0.0)
    assert len(grid_centres()) == 25 and torch.allclose(ring_centres().norm(dim=1), torch.ones(8, dtype=torch.float64))
