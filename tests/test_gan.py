"""GAN pieces with numbers: stable losses, vanishing saturating gradient, a D step that lowers D's loss."""

from __future__ import annotations

import typing

import pytest
import torch

from genlab.config import ModelConfig, TrainConfig
from genlab.models.gan import GAN, GANConfig
from genlab.nn.adversarial import GAN_LOSSES, discriminator_loss, generator_loss
from genlab.nn.ema import ema_copy, ema_update
from genlab.nn.minibatch_stddev import minibatch_stddev
from genlab.training.optimization import Optimization


@pytest.mark.parametrize("kind", GAN_LOSSES)
def test_losses_are_finite_at_extreme_logits(kind):
    logits = torch.tensor([-200.0, -30.0, 0.0, 30.0, 200.0], requires_grad=True)
    for loss in (discriminator_loss(logits, logits, kind), generator_loss(logits, kind)):
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
        logits.grad = None


def test_losses_match_their_definitions():
    l = torch.tensor([-1.5, 0.3, 2.0])
    d = torch.sigmoid(l)
    torch.testing.assert_close(discriminator_loss(l, l, "non-saturating"),
                               -(torch.log(d).mean() + torch.log(1 - d).mean()))
    torch.testing.assert_close(generator_loss(l, "non-saturating"), -torch.log(d).mean())
    torch.testing.assert_close(generator_loss(l, "saturating"), torch.log(1 - d).mean())


def test_saturating_gradient_vanishes_when_d_rejects_fakes():
    logits = torch.full((8,), -12.0, requires_grad=True)  # D(G(z)) = sigmoid(-12) ~ 6e-6
    grads = {}
    for kind in ("saturating", "non-saturating"):
        generator_loss(logits, kind).backward()
        grads[kind] = logits.grad.norm().item()
        logits.grad = None
    assert grads["saturating"] < 1e-4 * grads["non-saturating"]


def test_minibatch_stddev_statistic():
    torch.manual_seed(0)
    x = torch.randn(8, 5)
    out = minibatch_stddev(x, group_size=4)
    assert out.shape == (8, 6) and torch.equal(out[:, :5], x)
    group0 = x[[0, 2, 4, 6]]  # members of sample 0's group (strided, as in the paper's reshape)
    expected = group0.var(0, unbiased=False).add(1e-8).sqrt().mean()
    torch.testing.assert_close(out[0, 5], expected)
    same = minibatch_stddev(torch.ones(4, 3, 2, 2), group_size=4)
    assert same.shape == (4, 4, 2, 2) and same[:, 3].max() < 1e-3  # identical samples: no variation


def test_ema_update():
    net = torch.nn.Linear(2, 1)
    shadow = ema_copy(net)
    with torch.no_grad():
        net.weight.add_(1.0)
    before = shadow.weight.clone()
    ema_update(shadow, net, 0.9)
    torch.testing.assert_close(shadow.weight, 0.9 * before + 0.1 * net.weight)


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_discriminator_step_lowers_its_loss_on_a_fixed_batch(arch):
    torch.manual_seed(0)
    shape = (1, 28, 28)
    gan = GAN(GANConfig(h=16, z=4, dropout=0.0, mbstd=True, ema=0.0, lr=1e-3), ModelConfig(arch=arch), shape, 10, 5)
    opt = Optimization(gan, TrainConfig())
    x = torch.rand(16, *shape)
    z = torch.randn(16, 4)

    def d_loss():
        with torch.no_grad():
            return discriminator_loss(gan.discriminator(x * 2 - 1), gan.discriminator(gan.generator(z)),
                                      "non-saturating").item()

    before = d_loss()
    for _ in range(5):
        opt.step(x, None)
    assert d_loss() < before


def test_each_phase_updates_only_its_network_and_leaves_the_others_trainable():
    torch.manual_seed(0)
    gan = GAN(GANConfig(h=16, z=4, d_steps=3), ModelConfig(), (1, 28, 28), 10, 5)
    opt = Optimization(gan, TrainConfig())
    seen = []
    loss = gan.loss

    def spy(phase, x, y):  # which networks are trainable while each phase's loss is computed
        seen.append((phase, any(p.requires_grad for p in gan.generator.parameters()),
                     any(p.requires_grad for p in gan.discriminator.parameters())))
        return loss(phase, x, y)

    gan.loss = spy
    g_before = [p.clone() for p in gan.generator.parameters()]
    opt.optimizers["g"].param_groups[0]["lr"] = 0.0  # G's phase moves nothing: D's change is D's phase alone
    opt.step(torch.rand(8, 1, 28, 28), None)
    assert seen == [("d", False, True)] * 3 + [("g", True, False)]
    assert all(torch.equal(a, b) for a, b in zip(g_before, gan.generator.parameters()))
    assert all(p.requires_grad for p in [*gan.generator.parameters(), *gan.discriminator.parameters()])
    assert not any(p.requires_grad for p in gan.generator_ema.parameters())


@pytest.mark.parametrize("loss", typing.get_args(typing.get_type_hints(GANConfig)["loss"]))
def test_gan_model_trains_and_samples(loss):
    torch.manual_seed(0)
    gan = GAN(GANConfig(loss=loss, d_steps=2), ModelConfig(h=16, z=4), (1, 28, 28), 10, 10)
    out = Optimization(gan, TrainConfig()).step(torch.rand(8, 1, 28, 28), None)
    assert set(out) == {"loss_d", "loss_g", "d_real", "d_fake"} and all(torch.isfinite(v) for v in out.values())
    # EMA moved away from its initial copy, and sampling uses it
    assert any(not torch.equal(a, b) for a, b in zip(gan.generator_ema.parameters(), gan.generator.parameters()))
    s = gan.sample(5)
    assert s.shape == (5, 1, 28, 28) and s.min() >= 0 and s.max() <= 1
