"""Mode collapse with numbers: the mode counter and the high-quality rule on hand-made points, stacked MNIST,
packing, and the batched toy runs against one network per seed."""

from __future__ import annotations

import math

import pytest
import torch

from genlab.config import ModelConfig, TrainConfig
from genlab.theory.config import ModesConfig
from genlab.data.stacked import digits, stack
from genlab.models.gan import GAN, GANConfig
from genlab.theory.ensemble import Ensemble
from genlab.theory.mixtures import MIXTURES, grid_centres, mode_stats, ring_centres
from genlab.theory.modes import VARIANTS, run_modes
from genlab.training.optimization import Optimization


def _around(centres: torch.Tensor, per_mode: int, std: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return centres.repeat_interleave(per_mode, 0) + std * torch.randn(len(centres) * per_mode, 2, generator=g,
                                                                      dtype=torch.float64)


def test_every_mode_covered_evenly():
    centres, std = MIXTURES["ring"]
    s = mode_stats(_around(centres, 300, std), centres, std)
    assert s["modes"] == s["modes_strict"] == 8 and s["high_quality"] > 0.98 and s["reverse_kl"] < 1e-3


def test_a_missing_mode_and_a_thin_one():
    centres, std = MIXTURES["grid"]
    pts = torch.cat([_around(centres[1:], 100, std / 10), centres[:1].repeat(5, 1)])  # all within 3 std
    s = mode_stats(pts[: 24 * 100], centres, std)  # mode 0 has no point
    assert s["modes"] == 24 and s["modes_strict"] == 24
    s = mode_stats(pts, centres, std)  # five points on mode 0: covered by PacGAN's rule, not by the strict one
    assert s["modes"] == 25 and s["modes_strict"] == 24
    q = torch.tensor([100.0] * 24 + [5.0], dtype=torch.float64) / 2405
    assert s["reverse_kl"] == pytest.approx(float((q * (q * 25).log()).sum()), rel=1e-6)


def test_points_between_modes_are_not_high_quality():
    centres, std = ring_centres(), 0.01
    mid = (centres + centres.roll(1, 0)) / 2  # half-way between neighbours, far beyond 3 std
    s = mode_stats(torch.cat([mid, _around(centres[:2], 4, std)]), centres, std)
    assert s["high_quality"] == pytest.approx(8 / 16) and s["modes"] == 2 and s["modes_strict"] == 0
    assert grid_centres().shape == (25, 2) and set(grid_centres()[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}


def test_collapse_to_one_mode_has_the_largest_kl():
    centres, std = MIXTURES["ring"]
    s = mode_stats(_around(centres[:1], 500, std), centres, std)
    assert s["modes"] == 1 and s["reverse_kl"] == pytest.approx(math.log(8))


def test_stacked_mnist_is_deterministic_with_a_real_digit_in_each_channel(mnist):
    x, y = mnist["test_images"][:2000], mnist["test_labels"][:2000]
    a, la = stack(x, y, 20_000, seed=3)
    b, lb = stack(x, y, 20_000, seed=3)
    assert torch.equal(a, b) and torch.equal(la, lb) and a.shape == (20_000, 3, 28, 28) and a.dtype == torch.uint8
    assert la.unique().numel() == 1000 and la.min() == 0 and la.max() == 999  # all 1,000 modes occur
    d = digits(la)
    for k in range(3):  # each channel is one of the source digits, with that digit's label
        channel = a[:50, k].flatten(1)
        match = (channel[:, None, :] == x[:, 0].flatten(1)[None]).all(-1)
        assert match.any(1).all()
        assert all(int(y[match[i]][0]) == int(d[i, k]) for i in range(50))
    assert not torch.equal(stack(x, y, 100, seed=4)[0], a[:100])


def test_packing_concatenates_m_samples_and_m_1_is_the_plain_gan():
    shape = (1, 28, 28)
    torch.manual_seed(0)
    packed = GAN(GANConfig(h=16, z=4, pack=3), ModelConfig(), shape, 10, 5)
    assert packed.discriminator.body[0].net[1][0].in_features == 3 * 28 * 28
    x = torch.rand(12, *shape)
    assert packed.packs(x).shape == (4, 3, 28, 28) and torch.equal(packed.packs(x)[1, 2], x[5, 0])
    # m = 1 is the plain GAN, bit for bit: same initial weights, same steps
    weights = []
    for cfg in (GANConfig(h=16, z=4), GANConfig(h=16, z=4, pack=1)):
        torch.manual_seed(0)
        gan = GAN(cfg, ModelConfig(), shape, 10, 5)
        opt = Optimization(gan, TrainConfig())
        torch.manual_seed(1)
        for _ in range(3):
            opt.step(x, None)
        weights.append(gan.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_the_batched_ensemble_equals_one_network_per_seed():
    """Members start from the weights of networks built after torch.manual_seed(seed) and train as they would
    alone: here within float tolerance of per-seed runs fed the same noise (batched products may round apart)."""
    from genlab.models.gan import Generator

    seeds = [0, 3, 7]
    ens = Ensemble(lambda: Generator("mlp", (2, 1, 1), 16, 2, squash=False), seeds)
    singles = []
    for seed in seeds:
        torch.manual_seed(seed)
        singles.append(Generator("mlp", (2, 1, 1), 16, 2, squash=False))
    for s, net in enumerate(singles):
        assert all(torch.equal(ens.member(s)[k], v) for k, v in net.state_dict().items())
    opt = torch.optim.Adam(ens.parameters(), lr=1e-2)
    opts = [torch.optim.Adam(n.parameters(), lr=1e-2) for n in singles]
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        z, target = torch.randn(3, 32, 2, generator=g), torch.randn(3, 32, 2, generator=g)
        loss = ((ens(z).reshape(3, 32, 2) - target) ** 2).mean(dim=(1, 2)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        for s, (net, o) in enumerate(zip(singles, opts)):
            o.zero_grad()
            ((net(z[s]).reshape(32, 2) - target[s]) ** 2).mean().backward()
            o.step()
    worst = max(float((ens.member(s)[k] - v).abs().max()) for s, net in enumerate(singles)
                for k, v in net.state_dict().items())
    assert worst < 1e-5, worst


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_runs_and_scores(name, tmp_path):
    cfg = ModesConfig(seeds=2, variants=(name,), steps=3, h=8, samples=50, eval_every=2)
    out = run_modes(cfg, tmp_path)
    for mixture in ("ring", "grid"):
        r = out["variants"][name][mixture]
        assert len(r["modes"]) == 2 and r["summary"]["modes"]["n"] == 2 and 0 <= r["summary"]["high_quality"]["mean"] <= 1
    assert [c["step"] for c in out["variants"][name]["curve"]] == [2, 3]
    assert (tmp_path / "modes.png").stat().st_size > 0 and (tmp_path / "curves.png").stat().st_size > 0


def test_variants_in_worker_processes_equal_the_same_run_in_one(tmp_path):
    cfg = ModesConfig(seeds=2, variants=("gan", "pacgan2"), steps=4, h=8, samples=40, eval_every=2)
    one, two = run_modes(cfg, tmp_path / "one"), run_modes(cfg, tmp_path / "two", workers=2)
    assert one["variants"] == two["variants"]  # each variant's streams depend on its name only


@pytest.mark.parametrize("mbstd,pack", [(False, 1), (True, 1), (False, 3)])
def test_the_folded_ensemble_equals_the_vmapped_one(mbstd, pack):
    """The folded path (one batched product per linear layer; minibatch stddev grouped within each member) gives
    the vmapped functional_call's outputs and gradients, within float tolerance."""
    from genlab.models.gan import Discriminator, Generator

    for make, shape in ((lambda: Discriminator("mlp", (2 * pack, 1, 1), 16, mbstd=mbstd), (4, 8, 2 * pack, 1, 1)),
                        (lambda: Generator("mlp", (2, 1, 1), 16, 2, squash=False), (4, 8, 2))):
        folded, vmapped = Ensemble(make, [0, 1, 2, 5]), Ensemble(make, [0, 1, 2, 5])
        assert folded._folded, "these networks take the folded path"
        vmapped._folded = []
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
        outs = []
        for ens in (folded, vmapped):
            out = ens(x)
            (out ** 2).sum().backward()
            outs.append((out, {k: p.grad for k, p in ens.stacked.items()}))
        assert outs[0][0].shape == outs[1][0].shape
        torch.testing.assert_close(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-6)
        for k in outs[0][1]:
            torch.testing.assert_close(outs[0][1][k], outs[1][1][k], rtol=1e-5, atol=1e-6)
    # a member's batch is its own: changing member 0's inputs leaves member 1's minibatch statistic alone
    ens = Ensemble(lambda: Discriminator("mlp", (2, 1, 1), 16, mbstd=True), [0, 1])
    x = torch.randn(2, 8, 2, 1, 1)
    y = x.clone()
    y[0] *= 10
    torch.testing.assert_close(ens(x)[1], ens(y)[1])
