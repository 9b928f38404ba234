"""Progressive GAN with numbers: equalized layers, pixel norm, fade-in identities, shapes, schedule, resume."""

from __future__ import annotations

import contextlib
import math

import pytest
import torch

from genlab.config import ConfigError, ModelConfig, TrainConfig, parse_section
from genlab.models.pggan import PGGAN, PGGANConfig
from genlab.nn.adversarial import gradient_penalty
from genlab.nn.equalized import EqualizedConv2d, EqualizedLinear
from genlab.nn.pixel_norm import pixel_norm
from genlab.nn.progressive import ProgressiveDiscriminator, ProgressiveGenerator, downsample, upsample
from genlab.nn.growth import GrowthSchedule
from genlab.training.optimization import Optimization


@pytest.mark.parametrize("fan_in", [16, 256, 4096])
@pytest.mark.parametrize("equalized", [True, False])
def test_equalized_linear_keeps_unit_variance_at_any_fan_in(fan_in, equalized):
    torch.manual_seed(0)
    layer = EqualizedLinear(fan_in, 512, gain=1.0, equalized=equalized)
    with torch.no_grad():
        y = layer(torch.randn(2048, fan_in))
    assert abs(y.var().item() - 1.0) < 0.1
    c = 1.0 / math.sqrt(fan_in)
    if equalized:  # stored weights are N(0, 1); the He constant is applied at run time
        assert abs(layer.weight.std().item() - 1.0) < 0.05 and layer.scale == pytest.approx(c)
        torch.testing.assert_close(layer.effective_weight, layer.weight * c)
    else:  # the plain layer stores the scaled weights itself
        assert abs(layer.weight.std().item() - c) < 0.05 * c and layer.scale == 1.0


@pytest.mark.parametrize("cin", [1, 16, 128])
def test_equalized_conv_uses_the_he_constant_of_its_fan_in(cin):
    torch.manual_seed(0)
    conv = EqualizedConv2d(cin, 64, 3, gain=1.0)
    assert conv.scale == pytest.approx(1.0 / math.sqrt(cin * 9))
    x = torch.randn(64, cin, 12, 12)
    with torch.no_grad():
        y = conv(x)[:, :, 1:-1, 1:-1]  # interior: no zero padding in the receptive field
    assert y.shape[-1] == 10 and abs(y.var().item() - 1.0) < 0.1
    # the gradient reaches the N(0, 1) parameter through the constant
    conv(x).sum().backward()
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = torch.randn(4, 8, 5, 5) * torch.rand(4, 1, 5, 5) * 30
    y = pixel_norm(x)
    torch.testing.assert_close(y.pow(2).mean(dim=1), torch.ones(4, 5, 5), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(y / y.norm(dim=1, keepdim=True), x / x.norm(dim=1, keepdim=True))  # direction kept


def _nets(**kw):
    torch.manual_seed(0)
    g = ProgressiveGenerator(16, 1, 4, 128, 16, **{k: v for k, v in kw.items() if k in ("equalized", "pixel_norm")})
    d = ProgressiveDiscriminator(1, 4, 128, 16, **{k: v for k, v in kw.items() if k in ("equalized", "mbstd")})
    return g, d


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_generator_and_discriminator_shapes_at_every_level(level):
    g, d = _nets()
    x = g(torch.randn(8, 16), level, 0.5)
    assert x.shape == (8, 1, 4 * 2 ** level, 4 * 2 ** level)
    assert d(x, level, 0.5).shape == (8,)


@pytest.mark.parametrize("level", [1, 2, 3])
def test_fade_in_at_alpha_0_is_the_lower_level_and_at_alpha_1_the_new_block(level):
    g, d = _nets()
    z = torch.randn(8, 16)
    with torch.no_grad():
        torch.testing.assert_close(g(z, level, 0.0), upsample(g(z, level - 1, 1.0)))
        x = torch.randn(8, 1, 4 * 2 ** level, 4 * 2 ** level)
        torch.testing.assert_close(d(x, level, 0.0), d(downsample(x), level - 1, 1.0))
        at_one_g, at_one_d = g(z, level, 1.0), d(x, level, 1.0)
        g.to_rgb[level - 1].weight.add_(1.0)  # the skip path no longer matters at α = 1 ...
        d.from_rgb[level - 1][0].weight.add_(1.0)
        torch.testing.assert_close(g(z, level, 1.0), at_one_g)
        torch.testing.assert_close(d(x, level, 1.0), at_one_d)
        assert not torch.allclose(g(z, level, 0.5), at_one_g)  # ... and mixes in between


def test_gradient_penalty_of_a_linear_critic():
    w = torch.randn(1, 3, 4, 4)
    critic = lambda x: (x * w).flatten(1).sum(1)  # noqa: E731 - gradient w everywhere
    gp = gradient_penalty(critic, torch.randn(6, 3, 4, 4), torch.randn(6, 3, 4, 4))
    torch.testing.assert_close(gp, (w.norm() - 1) ** 2)


def test_schedule_counts_images_and_alpha_rises_linearly():
    s = GrowthSchedule(4, kimg_fade=0.16, kimg_stable=0.08, batch_sizes=(16, 8), budget=10_000)
    phases = [(d["resolution"], d["phase"], d["steps"]) for d in s.describe()]
    assert phases == [(4, "stable", 5), (8, "fade", 20), (8, "stable", 10), (16, "fade", 20), (16, "stable", 10),
                      (32, "fade", 20), (32, "stable", 10)]
    start = s.level_start(1)
    assert [s.alpha(start + i) for i in (0, 5, 10, 19)] == [0.0, 0.25, 0.5, 0.95]
    assert s.alpha(start + 20) == 1.0 and s.alpha(0) == 1.0
    assert s.images_before(start) == 5 * 16 and s.images_before(start + 3) == 5 * 16 + 3 * 8
    assert s.end_images == 5 * 16 + 60 * 8 + 30 * 8 and s.end_step == s.total_steps == 5 + 60 + 30
    assert GrowthSchedule(4, 0.16, 0.08, (16, 8), 10_000, fade_in=False).alpha(start + 5) == 1.0


def test_a_small_budget_shrinks_every_segment():
    s = GrowthSchedule(4, kimg_fade=600, kimg_stable=600, batch_sizes=(16,), budget=20)
    assert s.scaled and s.total_steps <= 20
    assert len(s.segments) == 7 and all(seg.steps >= 1 for seg in s.segments)


def test_batch_sizes_must_fit_the_minibatch_stddev_group():
    with pytest.raises(ConfigError, match="pggan.batch_sizes.*mbstd_group"):
        parse_section(PGGANConfig, {"batch_sizes": [64, 30]}, "pggan")
    with pytest.raises(ConfigError, match=r"pggan.batch_sizes\[1\]: expected an integer"):
        parse_section(PGGANConfig, {"batch_sizes": [64, "x"]}, "pggan")
    with pytest.raises(ConfigError, match="pggan.batch_sizes: expected a non-empty list"):
        parse_section(PGGANConfig, {"batch_sizes": 64}, "pggan")
    assert parse_section(PGGANConfig, {"batch_sizes": [64, 32]}, "pggan").batch_sizes == (64, 32)


def _model(**kw):
    cfg = PGGANConfig(fmap_base=64, fmap_max=8, z=8, kimg_fade=0.032, kimg_stable=0.016, batch_sizes=(8,), **kw)
    torch.manual_seed(0)
    return PGGAN(cfg, ModelConfig(), (1, 32, 32), 10, 1000)


class _Batches:
    def __init__(self):
        self.x = torch.rand(64, 1, 32, 32)

    def span(self, offset, size):
        return self.x[offset % 56:offset % 56 + size], None


@pytest.mark.parametrize("kw", [{}, {"loss": "non-saturating"}, {"mbstd": False, "equalized_lr": False,
                                                                   "pixel_norm": False, "fade_in": False}])
def test_training_grows_through_every_level(kw):
    from genlab.training.loop import Grows, growth_state, run_step

    m = _model(**kw)
    assert isinstance(m, Grows)
    opt = Optimization(m, TrainConfig(steps=m.schedule.total_steps))
    batches, seen = _Batches(), []
    batches.world = 1
    fresh = [p.clone() for p in m.generator.parameters()]
    for t in range(m.schedule.total_steps):
        _, out = run_step(m, opt, batches, t, contextlib.nullcontext())
        assert all(torch.isfinite(v) for v in out.values()), out
        seen.append((growth_state(m)["resolution"], growth_state(m)["alpha"]))
    assert sorted({r for r, _ in seen}) == [4, 8, 16, 32]
    fading = [a for r, a in seen if a < 1]
    assert (len(fading) > 0) == m.cfg.fade_in
    assert all(not torch.equal(a, b) for a, b in zip(fresh, m.generator.parameters()))  # every block was trained
    img = m.sample(5, torch.Generator().manual_seed(0))
    assert img.shape == (5, 1, 32, 32) and 0 <= img.min() and img.max() <= 1


def test_a_phase_trains_one_level_and_samples_there():
    m = _model(resolution=8)
    assert (m.first_level, m.last_level) == (1, 1)
    assert [(d["resolution"], d["phase"]) for d in m.schedule.describe()] == [(8, "fade"), (8, "stable")]
    m.continue_growth(5, 40)  # where the 4x4 phase ended
    assert m.schedule.segments[0].start == 5 and m.schedule.segments[0].images_before == 40
    img = m.sample(3)  # an 8x8 image, nearest-upsampled: constant 4x4 blocks
    assert img.shape == (3, 1, 32, 32) and torch.equal(img[..., ::4, ::4].repeat_interleave(4, -1).repeat_interleave(4, -2), img)
    with pytest.raises(ConfigError, match="pggan.resolution: 64 is above the data's 32"):
        _model(resolution=64)
    with pytest.raises(ConfigError, match="pggan.resolution: 12 is not a level"):
        parse_section(PGGANConfig, {"resolution": 12}, "pggan")


def test_real_images_are_blended_like_the_generator():
    m = _model()
    x = torch.rand(4, 1, 32, 32)
    m.level, m.alpha = 2, 0.0
    torch.testing.assert_close(m.real_at_level(x), upsample(downsample(x * 2 - 1, 4)))
    m.alpha = 1.0
    torch.testing.assert_close(m.real_at_level(x), downsample(x * 2 - 1, 2))
    m.level, m.alpha = 3, 0.25
    torch.testing.assert_close(m.real_at_level(x), torch.lerp(upsample(downsample(x * 2 - 1)), x * 2 - 1, 0.25))


def test_mnist_28_is_grown_at_32_and_cropped_back():
    cfg = PGGANConfig(fmap_base=64, fmap_max=8, z=8, kimg_fade=0.008, kimg_stable=0.008, batch_sizes=(8,))
    m = PGGAN(cfg, ModelConfig(), (1, 28, 28), 10, 1000)
    assert m.grow_resolution == 32 and m.levels == 4
    m.level, m.alpha = 3, 1.0
    x = torch.rand(4, 1, 28, 28)
    real = m.real_at_level(x)
    assert real.shape == (4, 1, 32, 32) and (real[..., :2, :] == -1).all()  # black border, in [-1, 1]
    torch.testing.assert_close(real[..., 2:30, 2:30], x * 2 - 1)
    assert m.sample(3).shape == (3, 1, 28, 28)


def test_ablation_keeps_only_experiments_that_change_switches():
    from genlab.ablation import collect

    # the shape of dvc.api.exp_show() rows: booleans as strings, the workspace row typed "baseline" too
    base = {"Experiment": None, "rev": "main", "typ": "baseline", "pggan.mbstd": "True", "pggan.fade_in": "True",
            "model.h": 768.0, "metrics/eval/pggan.json:fid": 40.0, "metrics/eval/vae.json:fid": 30.0, "classes_covered": 10}
    rows = [
        {**base, "rev": "workspace", "metrics/eval/pggan.json:fid": 99.0},
        base,
        {**base, "Experiment": "running", "rev": "workspace", "typ": "branch_commit", "pggan.fade_in": "False"},
        {**base, "Experiment": "no-mbstd", "rev": "e1", "typ": "branch_base", "pggan.mbstd": "False",
         "metrics/eval/pggan.json:fid": 55.0},
        {**base, "Experiment": "wider", "rev": "e2", "typ": "branch_base", "pggan.mbstd": "False", "model.h": 64.0},
        {**base, "Experiment": "same", "rev": "e3", "typ": "branch_base"},
    ]
    base["4.fid"] = 300.0  # a nested metric column: looks like a param, is not one
    rows[-1]["4.fid"] = 310.0
    params = {"pggan": {"mbstd": True, "fade_in": True}, "model": {"h": 768}}
    from genlab.config import switches

    assert switches(PGGANConfig) == ("mbstd", "equalized_lr", "pixel_norm", "fade_in")
    table = collect(rows, params, "pggan", switches(PGGANConfig))
    assert [r["name"] for r in table["rows"]] == ["baseline", "no-mbstd"]
    assert table["rows"][1]["changed"] == {"mbstd": False}
    assert table["rows"][0]["metrics"]["fid"] == 40.0 and table["rows"][1]["metrics"]["fid"] == 55.0
    with pytest.raises(ValueError, match="no baseline"):
        collect(rows[:1], params, "pggan", switches(PGGANConfig))  # the workspace alone


def test_a_kill_mid_fade_resumes_at_the_same_alpha_and_ends_at_the_same_weights(prepared_small, tmp_path):
    import dataclasses

    from helpers import default_params, with_family

    from genlab.io import load_torch
    from genlab.training.run import train_model

    class Interrupt(Exception):
        pass

    p = with_family(default_params(), "pggan", fmap_base=64, fmap_max=8, z=8, kimg_fade=0.08, kimg_stable=0.04,
                    batch_sizes=(8,), resolution=0)  # one run through every level
    p = dataclasses.replace(p, device="cpu",
                            train=dataclasses.replace(p.train, steps=1000, log_every=1, checkpoint_every=10))
    # 4² 5 steps, then per level: fade 10, stable 5 -> the 32² fade runs over steps 35..44, α(40) = 0.5
    meta = train_model("pggan", p, prepared_small, tmp_path / "a", tmp_path / "ck_a", tmp_path / "live_a")
    assert meta["steps"] == 50 and meta["images_seen"] == 400 and len(meta["phases"]) == 7

    def stop_at_43(step):
        if step == 43:
            raise Interrupt

    with pytest.raises(Interrupt):
        train_model("pggan", p, prepared_small, tmp_path / "b", tmp_path / "ck_b", tmp_path / "live_b",
                    on_step=stop_at_43)
    train_model("pggan", p, prepared_small, tmp_path / "b", tmp_path / "ck_b", tmp_path / "live_b")
    wa, wb = load_torch(tmp_path / "a" / "model.pt")["weights"], load_torch(tmp_path / "b" / "model.pt")["weights"]
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k

    def curve(run, name):
        rows = (tmp_path / run / "plots" / "metrics" / f"{name}.tsv").read_text().splitlines()[1:]
        return [(int(r.split("\t")[0]), float(r.split("\t")[-1])) for r in rows]

    assert curve("live_a", "alpha") == curve("live_b", "alpha")
    assert curve("live_a", "loss_d") == curve("live_b", "loss_d")
    alpha = dict(curve("live_a", "alpha"))
    assert alpha[41] == pytest.approx(0.5) and alpha[36] == 0.0 and alpha[50] == 1.0
    assert dict(curve("live_a", "resolution"))[41] == 32


def test_the_chain_of_phase_runs_ends_at_the_weights_of_one_run(prepared_small, tmp_path):
    """Each phase continues the one below (weights, Adam states, EMA, RNG, schedule position): the chain 4 -> 8 ->
    16 -> 32 ends bit for bit where a single run through every level does, and each phase's curves and summary
    cover its own level."""
    import dataclasses

    from helpers import default_params, with_family

    from genlab.io import load_torch
    from genlab.training.run import train_model

    p = with_family(default_params(), "pggan", fmap_base=64, fmap_max=8, z=8, kimg_fade=0.08, kimg_stable=0.04,
                    batch_sizes=(8,))
    p = dataclasses.replace(p, device="cpu", train=dataclasses.replace(p.train, steps=1000, log_every=1,
                                                                       checkpoint_every=7))
    single = with_family(p, "pggan", resolution=0)
    whole = train_model("pggan", single, prepared_small, tmp_path / "one", tmp_path / "ck", tmp_path / "live")
    for name in ("pggan-4", "pggan-8", "pggan-16", "pggan"):
        prev = p.entry(name).previous
        meta = train_model(name, p, prepared_small, tmp_path / name, tmp_path / f"ck-{name}", tmp_path / f"live-{name}",
                           start=tmp_path / prev if prev else None)
        assert meta["grows"]["resolution"] == p.model_config(name).resolution
        assert {ph["resolution"] for ph in meta["phases"]} == {meta["grows"]["resolution"]}
    assert meta["grows"]["final"] and meta["steps"] == whole["steps"] and meta["images_seen"] == whole["images_seen"]
    wa, wb = load_torch(tmp_path / "one" / "model.pt")["weights"], load_torch(tmp_path / "pggan" / "model.pt")["weights"]
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    rows = (tmp_path / "live-pggan-8" / "plots" / "metrics" / "alpha.tsv").read_text().splitlines()[1:]
    assert int(rows[0].split("\t")[0]) == 6 and float(rows[0].split("\t")[-1]) == 0.0  # 4x4 was steps 0..4
