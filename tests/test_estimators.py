"""Gradient estimators with numbers: all three unbiased on a closed-form problem, a* minimises the variance,
the weight-space variance computed through J Jᵀ equals the brute-force one, and the study's claims hold."""

from __future__ import annotations

import pytest
import torch

from genlab.config import ModelConfig
from genlab.gradients.estimators import (optimal_a, reparam_terms, score, score_terms, total_variance,
                                         variance_ratio_predicted)
from genlab.gradients.study import jacobian_grams, study
from genlab.models.vae import VAE, VAEConfig


def test_all_three_estimators_converge_to_the_closed_form_gradient():
    """f(z) = Σ (z - c)², z ~ N(mu, sigma²): ∇_mu E f = 2 (mu - c), ∇_logvar E f = sigma²."""
    g = torch.Generator().manual_seed(0)
    mu, logvar, c = torch.tensor([0.5, -1.0]), torch.tensor([0.2, -0.6]), torch.tensor([1.5, 0.0])
    truth = torch.cat([2 * (mu - c), logvar.exp()])
    n = 400_000
    eps = torch.randn(n, 2, generator=g)
    z = mu + (0.5 * logvar).exp() * eps
    f = ((z - c) ** 2).sum(1)
    df = 2 * (z - c)
    pilot = torch.randn(4000, 2, generator=g)
    f_p = ((mu + (0.5 * logvar).exp() * pilot - c) ** 2).sum(1)
    a = optimal_a(score_terms(f_p, pilot, logvar), score(pilot, logvar))
    for terms in (reparam_terms(df, eps, logvar), score_terms(f, eps, logvar), score_terms(f, eps, logvar, a)):
        se = terms.std(0) / n**0.5
        assert ((terms.mean(0) - truth).abs() < 5 * se + 1e-3).all(), (terms.mean(0), truth, se)
    assert total_variance(score_terms(f, eps, logvar, a)) < total_variance(score_terms(f, eps, logvar))


def test_optimal_a_minimises_the_empirical_variance():
    g = torch.Generator().manual_seed(1)
    s = torch.randn(500, 3, generator=g)
    h = (2.0 + torch.randn(500, 1, generator=g)) * s + 0.3 * torch.randn(500, 3, generator=g)
    metric = torch.tensor([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.5]])
    for m in (None, metric):
        a = float(optimal_a(h, s, m))
        grid = torch.linspace(a - 1, a + 1, 201)
        var = torch.stack([total_variance(h - t * s, m) for t in grid])
        assert abs(float(grid[var.argmin()]) - a) <= 0.01 + 1e-6
        # and the variance left is exactly the predicted 1 - corr² of the same samples
        torch.testing.assert_close(total_variance(h - a * s, m) / total_variance(h, m),
                                   variance_ratio_predicted(h, s, m), rtol=1e-4, atol=1e-6)


def tiny_vae():
    torch.manual_seed(0)
    return VAE(VAEConfig(), ModelConfig(h=6, z=2), (1, 4, 4), 10, 1)


def test_weight_space_variance_through_the_jacobian_gram_is_exact():
    """tr(M cov(u)) with M = J Jᵀ equals the variance of the weight-space vectors Jᵀu computed one by one."""
    vae = tiny_vae()
    x = torch.rand(1, 1, 4, 4)
    gram = jacobian_grams(vae, x)[0]
    u = torch.randn(40, 4, generator=torch.Generator().manual_seed(0), dtype=gram.dtype)
    params = list(vae.encoder.parameters())
    vecs = []
    for row in u:
        grads = torch.autograd.grad(vae.encoder(x), params, grad_outputs=row.unsqueeze(0))
        vecs.append(torch.cat([gr.flatten() for gr in grads]))
    brute = total_variance(torch.stack(vecs))
    torch.testing.assert_close(total_variance(u, gram), brute, rtol=1e-4, atol=1e-6)


def test_study_shows_one_over_n_no_bias_and_the_predicted_reduction():
    vae = tiny_vae()
    images = torch.rand(3, 1, 4, 4)
    out = study(vae, images, (1, 4, 16), reps=300, pilot=2000, reference=20000,
                generator=torch.Generator().manual_seed(0))
    for e in ("reparam", "score", "score_cv"):
        assert out[f"var_slope_{e}"] == pytest.approx(-1.0, abs=0.15), (e, out[f"var_{e}"])
        assert out[f"bias_{e}"] < 3 * out[f"bias_{e}_noise"], e  # unbiased: the distance noise alone explains
    assert out["var_score"]["n1"] > out["var_score_cv"]["n1"] > 0 and out["var_score"]["n1"] > out["var_reparam"]["n1"]
    diff = abs(out["cv_reduction"] - out["cv_reduction_predicted"])
    assert diff < 4 * out["cv_reduction_stderr"] + 0.01, out
