"""Conditional VAE with numbers: masks, the conditional ELBO falls, x1 is kept, labels steer samples, and the
importance-sampled likelihood is exact where it can be checked."""

from __future__ import annotations

import math

import pytest
import torch

from genlab.config import ConfigError, ModelConfig, TrainConfig, parse_section
from genlab.metrics.config import EvalConfig
from genlab.metrics.conditional import Conditional, conditional_metrics, samplers
from genlab.models.cvae import CVAE, CVAEConfig, observed_mask
from genlab.nn.gaussian import log_normal
from genlab.nn.likelihood import importance_log_likelihood
from genlab.training.optimization import Optimization


def make(condition="top-half", recognition="x1x2", h=32, z=4, **kw):
    torch.manual_seed(0)
    cfg = CVAEConfig(condition=condition, recognition=recognition, h=0, **kw)
    return CVAE(cfg, ModelConfig(h=h, z=z), (1, 28, 28), 10, 100)


def fit(m, lr=3e-3):
    return Optimization(m, TrainConfig(lr=lr))


def test_observed_masks():
    shape = (1, 28, 28)
    top = observed_mask("top-half", (), shape)
    assert top[..., :14, :].eq(1).all() and top[..., 14:, :].eq(0).all()
    left = observed_mask("left-half", (), shape)
    assert left[..., :, :14].eq(1).all() and left[..., :, 14:].eq(0).all()
    assert observed_mask("bottom-half", (), shape).sum() == observed_mask("right-half", (), shape).sum() == 14 * 28
    assert observed_mask("label", (), shape).sum() == 0  # the whole image is x2
    box = observed_mask("box", (2, 5, 3, 9), shape)
    assert box.sum() == 3 * 6 and box[0, 0, 2, 3] == 1 and box[0, 0, 5, 3] == 0
    # Sohn et al.'s Table 1 as Pyro's tutorial runs it: the bottom-left quadrant, the left half, all but the
    # bottom-right
    q1, q2, q3 = (observed_mask(f"quadrants-{q}", (), shape)[0, 0] for q in (1, 2, 3))
    assert q1[14:, :14].eq(1).all() and q1.sum() == 14 * 14
    assert torch.equal(q2, left[0, 0]) and q3[14:, 14:].eq(0).all() and q3.sum() == 3 * 14 * 14
    assert (q1 <= q2).all() and (q2 <= q3).all()  # each observes what the one before does, and a quadrant more
    with pytest.raises(ConfigError, match="does not fit"):
        observed_mask("box", (0, 30, 0, 4), shape)
    with pytest.raises(ConfigError, match="cvae.box"):
        parse_section(CVAEConfig, {"box": [5, 2, 0, 4]}, "cvae")


@pytest.mark.parametrize("condition,recognition", [("top-half", "x1x2"), ("top-half", "x1"), ("label", "x1x2"),
                                                   ("box", "x1x2")])
def test_gradients_flow_and_conditional_elbo_improves(condition, recognition):
    m = make(condition, recognition)
    x = (torch.rand(64, 1, 28, 28) > 0.7).float()
    y = torch.randint(0, 10, (64,))
    rec, kl, c = m.conditional_elbo_terms(x, y)
    nll = -m.log_lik(x, m.regression(c).unflatten(1, m.shape))
    (-(rec - kl).mean() + nll.mean()).backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    opt = fit(m)
    first = opt.step(x, y)
    for _ in range(150):
        last = opt.step(x, y)
    assert float(last["loss"]) < 0.8 * float(first["loss"]), (first, last)
    assert float(last["regression_nll"]) < 0.8 * float(first["regression_nll"])


def test_encoder_input_follows_recognition():
    pixels, k = 28 * 28, 10
    assert make("top-half", "x1x2").encoder[0].in_features == 2 * pixels
    assert make("top-half", "x1").encoder[0].in_features == pixels
    assert make("label", "x1x2").encoder[0].in_features == pixels + k
    assert make("label", "x1").encoder[0].in_features == k


def test_completion_keeps_the_observed_pixels_and_varies_the_rest():
    m = make()
    x, y = torch.rand(6, 1, 28, 28), torch.zeros(6, dtype=torch.long)
    draws = m.complete(x, y, 5, torch.Generator().manual_seed(0))
    assert draws.shape == (5, 6, 1, 28, 28)
    torch.testing.assert_close(draws[..., :14, :], x[..., :14, :].expand(5, -1, -1, -1, -1))
    assert draws[..., 14:, :].std(0).mean() > 0  # different z, different bottoms
    reg = m.regress(x, y)
    torch.testing.assert_close(reg[..., :14, :], x[..., :14, :])
    assert isinstance(m, Conditional)
    for sampler in samplers(m, x, y).values():  # completions of test images drawn as conditions
        assert sampler(4, torch.Generator().manual_seed(1)).shape == (4, 1, 28, 28)
    with pytest.raises(RuntimeError, match="complete"):
        make().sample(2)  # a completion model cannot sample without images
    assert make("label").sample(3).shape == (3, 1, 28, 28)


def test_importance_sampling_is_exact_on_a_linear_gaussian_model():
    """x = W z + b + N(0, s² I), z ~ N(0, I): log p(x) = log N(x; b, W Wᵀ + s² I) in closed form."""
    torch.manual_seed(0)
    d, k, s = 5, 2, 0.5
    w, b = torch.randn(d, k, dtype=torch.float64), torch.randn(d, dtype=torch.float64)
    x = torch.randn(3, d, dtype=torch.float64) * 2
    exact = torch.distributions.MultivariateNormal(b, w @ w.T + s**2 * torch.eye(d)).log_prob(x)

    def log_lik(z):  # K×N×k -> K×N
        return log_normal(x, z @ w.T + b, torch.full((d,), 2 * math.log(s), dtype=torch.float64))

    prec = torch.eye(k, dtype=torch.float64) + w.T @ w / s**2
    cov = torch.linalg.inv(prec)
    mu = (x - b) @ w @ cov.T / s**2
    logvar_full = cov.diagonal().log().expand(3, k)
    # a Gaussian proposal off the posterior: unbiased in p, consistent in log p
    g = torch.Generator().manual_seed(0)
    est = importance_log_likelihood(log_lik, mu + 0.2, logvar_full + 0.3, 200_000, g)
    torch.testing.assert_close(est, exact, atol=0.01, rtol=0)
    # S = 1 is the ELBO: on average below log p(x), and more samples tighten it
    one = torch.stack([importance_log_likelihood(log_lik, mu + 0.2, logvar_full + 0.3, 1, g) for _ in range(400)])
    ten = torch.stack([importance_log_likelihood(log_lik, mu + 0.2, logvar_full + 0.3, 10, g) for _ in range(400)])
    assert (one.mean(0) < ten.mean(0)).all() and (ten.mean(0) < exact + 0.01).all()


def test_diagonal_posterior_proposal_gives_the_exact_value():
    """With orthogonal columns of W the posterior is diagonal; as proposal, every importance weight is p(x)."""
    d, s = 4, 0.5
    w = torch.tensor([[1.0, 0], [0, 2.0], [0, 0], [0, 0]], dtype=torch.float64)
    b = torch.zeros(d, dtype=torch.float64)
    x = torch.tensor([[0.3, -1.0, 0.5, 0.2]], dtype=torch.float64)
    exact = torch.distributions.MultivariateNormal(b, w @ w.T + s**2 * torch.eye(d)).log_prob(x)
    var = 1 / (1 + (w**2).sum(0) / s**2)
    mu = (x @ w) * var / s**2

    def log_lik(z):
        return log_normal(x, z @ w.T, torch.full((d,), 2 * math.log(s), dtype=torch.float64))

    est = importance_log_likelihood(log_lik, mu, var.log().expand(1, 2), 7, torch.Generator().manual_seed(0))
    torch.testing.assert_close(est, exact)


def test_bimodal_completions_beat_the_regression_baseline():
    """Bottom halves are one of two patterns whatever the top: the cVAE puts the choice in z and scores a far
    better -log p(x2 | x1) than the regression, which can only predict their average; the S-sample estimate
    is below -ELBO; the best of 8 completions is near-exact while one completion is not."""
    g = torch.Generator().manual_seed(0)
    top = (torch.rand(20, 1, 14, 28, generator=g) > 0.5).float().repeat_interleave(2, 0)  # each top twice
    patterns = (torch.rand(2, 1, 14, 28, generator=g) > 0.5).float()
    x = torch.cat([top, patterns[torch.arange(40) % 2]], 2)
    y = torch.zeros(40, dtype=torch.long)
    m = make(h=64, z=2)
    opt = fit(m)
    for _ in range(400):
        opt.step(x, y)
    out = conditional_metrics(m, x, y, g, EvalConfig(batch_size=20, iw_samples=200, iw_images=40))
    assert out["ncll"] < -out["cond_elbo"]
    assert out["ncll"] < 0.5 * out["ncll_regression"], out  # the regression predicts the mean: ~log 2 per pixel
    assert out["completion_mse_best_of_8"] < 0.5 * out["completion_mse_regression"] < out["completion_mse"], out
    assert out["completion_diversity"] > 0.1 and out["iw_images"] == 40 and out["iw_samples"] == 200


def test_label_conditioning_steers_the_class(prepared_small, classifier_small):
    """A cVAE trained on labels draws, for each requested class, images the domain classifier calls that class."""
    from genlab.data.batches import InMemoryBatches
    from genlab.data.prepare import load_split
    from genlab.data.tensors import to_uint8
    from genlab.metrics.domain import load_classifier, predict

    images, labels = load_split(prepared_small, "train")
    m = make("label", h=256, z=8)
    opt = fit(m, lr=1e-3)
    batches = InMemoryBatches(images, labels, 64, 0, torch.device("cpu"))
    for step in range(600):
        opt.step(*batches.batch(step))
    clf = load_classifier(classifier_small)
    y = torch.arange(10).repeat_interleave(30)
    x = torch.zeros(len(y), 1, 28, 28)
    samples = m.complete(x, y, 1, torch.Generator().manual_seed(0))[0]
    pred = predict(clf, to_uint8(samples)).argmax(1)
    acc = float((pred == y).float().mean())
    assert acc > 0.6, acc  # chance is 0.1
    assert len(set(pred.tolist())) >= 8  # the label, not a fixed image, decides the class
