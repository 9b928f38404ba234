"""VAE maths with numbers: reparameterization gradients, closed-form KL, a falling loss."""

from __future__ import annotations

import pytest
import torch

from genlab.config import ModelConfig, TrainConfig
from genlab.metrics.latent import recon_mse, reconstruct
from genlab.metrics.likelihood import average_elbo
from genlab.models.vae import VAE, VAEConfig
from genlab.nn.gaussian import gaussian_kl, reparameterize
from genlab.training.optimization import Optimization


def make_vae(arch="mlp", res=28, **kw):
    torch.manual_seed(0)
    return VAE(VAEConfig(**kw), ModelConfig(arch=arch, h=32 if arch == "mlp" else 8, z=4), (1, res, res), 10, 150)


def test_kl_matches_monte_carlo():
    torch.manual_seed(0)
    mu = torch.tensor([[0.5, -1.0, 2.0]])
    logvar = torch.tensor([[0.2, -1.5, 0.7]])
    z = reparameterize(mu.expand(400_000, 3), logvar.expand(400_000, 3))
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(0.0, 1.0)
    mc = (q.log_prob(z) - p.log_prob(z)).sum(1).mean()
    closed = gaussian_kl(mu, logvar)[0]
    assert abs(float(mc - closed)) < 0.02 * float(closed)
    torch.testing.assert_close(closed, torch.distributions.kl_divergence(q, p).sum())


def test_reparameterized_gradient_matches_closed_form():
    """d/dmu, d/dsigma of E[z²] for z ~ N(mu, sigma²): the closed form is (2 mu, 2 sigma)."""
    torch.manual_seed(0)
    mu = torch.tensor([0.7], requires_grad=True)
    log_sigma = torch.tensor([-0.3], requires_grad=True)
    n = 200_000
    z = reparameterize(mu.expand(n), (2 * log_sigma).expand(n))
    z.pow(2).mean().backward()
    sigma = log_sigma.exp().detach()
    assert abs(float(mu.grad) - 2 * 0.7) < 0.02
    # chain rule through log sigma: d/dlog_sigma = sigma * d/dsigma = 2 sigma²
    assert abs(float(log_sigma.grad) - float(2 * sigma**2)) < 0.02


@pytest.mark.parametrize("arch,res", [("mlp", 28), ("conv", 28), ("conv", 32)])
def test_shapes_and_gradients_flow(arch, res):
    vae = make_vae(arch, res)
    x = torch.rand(5, 1, res, res)
    rec, kl = vae.elbo_terms(x)
    assert rec.shape == kl.shape == (5,)
    (-(rec - kl).mean()).backward()
    for name, p in vae.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert vae.sample(3).shape == (3, 1, res, res)
    assert reconstruct(vae, x).shape == x.shape


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_elbo_improves_on_a_fixed_batch(likelihood):
    vae = make_vae(likelihood=likelihood)
    x = (torch.rand(32, 1, 28, 28) > 0.7).float()

    def elbo():
        with torch.no_grad():
            rec, kl = vae.elbo_terms(x, torch.Generator().manual_seed(1))
        return float((rec - kl).mean())

    before = elbo()
    opt = Optimization(vae, TrainConfig(lr=3e-3))
    for _ in range(150):
        opt.step(x, None)
    after = elbo()
    assert after > before + 0.2 * abs(before), (before, after)


def test_average_elbo_and_mse():
    vae = make_vae()
    x = torch.rand(10, 1, 28, 28)
    assert average_elbo(vae, x, torch.Generator().manual_seed(0)) < 0 and 0 < recon_mse(vae, x) < 1
