"""The GAN theory helpers against hand-computed cases, and the measured effects on tiny budgets."""

from __future__ import annotations

import math

import torch

from genlab.theory.densities import gaussian, jsd_quadrature, optimal_discriminator, value_at_optimum_mc
from genlab.theory.mixtures import grid_centres, mode_stats, ring_centres
from genlab.theory.optimal_discriminator import dstar_error, saturation_gradients
from genlab.theory.run import P_DATA, P_G


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


def test_trained_discriminator_approaches_dstar():
    short, _ = dstar_error(P_DATA, P_G, steps=20, seed=0)
    longer, _ = dstar_error(P_DATA, P_G, steps=600, seed=0)
    assert longer < 0.5 * short, (short, longer)


def test_saturating_gradient_is_tiny_against_a_confident_discriminator():
    out = saturation_gradients(seed=0)
    assert out["d_of_fake_mean"] < 1e-3
    assert out["grad_norm_saturating"] < 1e-3 * out["grad_norm_nonsaturating"]


def test_mode_counter_on_points_placed_on_k_modes():
    centres = ring_centres()
    g = torch.Generator().manual_seed(0)
    for k in (1, 3, 8):
        idx = torch.arange(2400) % k
        pts = centres[idx] + 0.01 * torch.randn(2400, 2, generator=g, dtype=torch.float64)
        assert mode_stats(pts, centres, 0.02) == {"modes": k, "high_quality": 1.0}
    far = torch.full((100, 2), 50.0, dtype=torch.float64)
    assert mode_stats(far, grid_centres(), 0.05) == {"modes": 0, "high_quality": 0.0}
    assert len(grid_centres()) == 25 and torch.allclose(ring_centres().norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))
