"""nll_iw: the importance-weighted bound sits between -log p(x) and -ELBO and tightens as K grows; it is
defined only for models with a pixel likelihood and a prior density."""

from __future__ import annotations

import torch

from genlab.config import ModelConfig, TrainConfig
from genlab.metrics.likelihood import PixelLikelihood, nll_iw
from genlab.models.aae import AAE, AAEConfig
from genlab.models.ae import AE, AEConfig
from genlab.models.vae import VAE, VAEConfig
from genlab.models.vaegan import VAEGAN, VAEGANConfig
from genlab.training.optimization import Optimization

SHAPE = (1, 28, 28)
TINY = ModelConfig(arch="mlp", h=64, z=4)


def _digits(mnist, n=256) -> torch.Tensor:
    return mnist["train_images"][:n].float().div(255)


def _fit(model, x, steps=150):
    torch.manual_seed(0)
    opt = Optimization(model, TrainConfig(lr=3e-3))
    for _ in range(steps):
        opt.step(x[torch.randint(0, len(x), (64,))], torch.zeros(64, dtype=torch.long))
    return model.eval()


def test_nll_iw_tightens_with_k_and_stays_below_negative_elbo(mnist):
    x = _digits(mnist)
    torch.manual_seed(0)
    vae = _fit(VAE(VAEConfig(), TINY, SHAPE, 10, 150), x)
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    with torch.no_grad():
        rec, kl = vae.elbo_terms(x.repeat(20, 1, 1, 1), g())  # -ELBO averaged over 20 draws per image
        neg_elbo = float(-(rec - kl).mean())
    nll = {k: nll_iw(vae, x, k, g())["nll_iw"] for k in (1, 10, 100, 1000)}
    assert abs(nll[1] - neg_elbo) < 0.02 * abs(neg_elbo), (nll[1], neg_elbo)  # K = 1 is the ELBO
    assert nll[1000] < nll[100] < nll[10] < nll[1], nll
    assert nll[1] - nll[1000] > 0.5  # a visible gap on a briefly trained VAE
    out = nll_iw(vae, x[:10], 7, g())
    assert out["iw_samples"] == 7 and out["iw_images"] == 10


def test_nll_iw_is_defined_only_with_a_pixel_likelihood_and_a_prior_density(mnist):
    x = _digits(mnist, 64)
    g = torch.Generator().manual_seed(0)
    aae = AAE(AAEConfig(), TINY, SHAPE, 10, 1)
    out = nll_iw(aae, x, 20, g)
    assert torch.isfinite(torch.tensor(out["nll_iw"])) and out["nll_iw"] > 0
    assert nll_iw(AAE(AAEConfig(prior="mixture"), TINY, SHAPE, 10, 1), x, 20, g) == {}  # its prior's density
    assert not isinstance(VAEGAN(VAEGANConfig(), TINY, SHAPE, 10, 1), PixelLikelihood)  # likelihood on D's features
    assert not isinstance(AE(AEConfig(), TINY, SHAPE, 10, 1), PixelLikelihood)  # no prior was fitted
