"""The bench: FLOP counts that can be checked by hand, a two-step smoke run writing valid JSON, and the
training-speed switches (precision, channels_last, compile) keeping checkpoints and weights compatible."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch
from torch import nn

from genlab.bench.flops import count_flops, matmul_flops_per_s
from genlab.bench.harness import bench_all
from genlab.bench.table import table
from genlab.io import write_json
from genlab.training import precision as devices
from genlab.training.run import setup_run, train_model
from test_training import ROOT, small_params


@pytest.mark.parametrize("n_in,n_out,batch", [(7, 5, 1), (784, 256, 32)])
def test_flops_of_a_linear_layer(n_in, n_out, batch):
    layer = nn.Linear(n_in, n_out)
    x = torch.randn(batch, n_in, requires_grad=True)
    assert count_flops(lambda: layer(x)) == 2 * n_in * n_out * batch
    # training: forward, then grad wrt the input and wrt the weight, each as costly as the forward
    assert count_flops(lambda: layer(x).sum().backward()) == 3 * 2 * n_in * n_out * batch


def test_flops_count_through_a_gradient_penalty():
    """torch's per-module tracker breaks autograd.grad (WGAN-GP); the global count must not."""
    net = nn.Sequential(nn.Linear(6, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1))
    x = torch.randn(3, 6, requires_grad=True)

    def penalty_step():
        (g,) = torch.autograd.grad(net(x).sum(), x, create_graph=True)
        (g.pow(2).sum() + net(x).mean()).backward()

    forward = count_flops(lambda: net(x))
    assert forward == 2 * 3 * (6 * 4 + 4 * 1)
    assert count_flops(penalty_step) > 3 * forward


def test_matmul_throughput_is_measured():
    flops = matmul_flops_per_s(torch.device("cpu"), n=64, seconds=0.01)
    assert math.isfinite(flops) and flops > 1e6


def _bench_params():
    p = small_params(steps=40)
    return p.with_section("eval", dataclasses.replace(p.eval, batch_size=50, kid_subset_size=50))


@pytest.mark.parametrize("isolate", [False, True])
def test_bench_smoke_writes_valid_json(prepared_small, classifier_small, tmp_path, isolate):
    models = ["vae", "pggan"] if not isolate else ["gan"]
    result = bench_all(models, _bench_params(), prepared_small, classifier_small, steps=2, warmup=1,
                       eval_samples=60 if not isolate else 0, matmul_n=64, isolate=isolate)
    write_json(tmp_path / "bench.json", result)
    back = json.loads((tmp_path / "bench.json").read_text())
    assert back["machine"]["matmul_tflops_per_s"] > 0
    assert [r["model"] for r in back["models"]] == models
    for row in back["models"]:
        assert row["train_images_per_s"] > 0 and row["train_flops_per_image"] > 0
        # a ratio to the peak measured in the same process (no bound on its size: both are timings, and a loaded
        # machine can slow the peak's measurement more than the training's)
        assert row["mfu"] > 0 and row["mfu"] == pytest.approx(row["train_tflops_per_s"] / row["matmul_tflops_per_s"])
        assert row["peak_memory_mb"] >= row["memory_before_train_mb"] > 0
        assert row["timed_steps"] == 2
    if not isolate:
        assert back["models"][0]["eval_samples"] == 60 and back["models"][0]["eval_samples_per_s"] > 0
        # the VAE's FLOPs per image: ≈ 6 x (multiply-adds of the encoder and decoder MLPs), a few % for the rest
        vae = setup_run("vae", _bench_params(), prepared_small).model
        macs = sum(m.in_features * m.out_features for m in vae.modules() if isinstance(m, nn.Linear))
        assert back["models"][0]["train_flops_per_image"] == pytest.approx(6 * macs, rel=0.2)
    assert "| model |" in table(back)


def test_precision_resolves_per_device():
    p = small_params()
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert devices.autocast_dtype(p.train, cpu) is None  # auto: fp32 on the CPU
    assert devices.autocast_dtype(dataclasses.replace(p.train, precision="bf16"), cpu) == torch.bfloat16
    assert devices.autocast_dtype(dataclasses.replace(p.train, precision="fp32"), cuda) is None
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        assert devices.autocast_dtype(p.train, cuda) == torch.bfloat16


def test_bf16_training_runs_and_is_not_resumed_as_fp32(prepared_small, tmp_path):
    p = small_params(steps=10)
    bf16 = dataclasses.replace(p, train=dataclasses.replace(p.train, precision="bf16"))
    assert setup_run("vae", p, prepared_small).fingerprint != setup_run("vae", bf16, prepared_small).fingerprint
    meta = train_model("vae", bf16, prepared_small, tmp_path / "m", tmp_path / "ck", tmp_path / "live")
    assert meta["steps"] == 10
    loss = (tmp_path / "live" / "plots" / "metrics" / "loss.tsv").read_text().splitlines()[1:]
    assert all(math.isfinite(float(r.split("\t")[1])) for r in loss)


def test_layout_switches_keep_the_checkpoint(prepared_small):
    """channels_last and compile change how the same maths runs, not what a checkpoint holds: same keys,
    same fingerprint, so a run can resume across them."""
    p = small_params()
    p = dataclasses.replace(p, model=dataclasses.replace(p.model, arch="conv", h=8))
    fast = dataclasses.replace(p, train=dataclasses.replace(p.train, channels_last=True))
    plain, nhwc = setup_run("vae", p, prepared_small), setup_run("vae", fast, prepared_small)
    assert plain.fingerprint == nhwc.fingerprint
    assert plain.model.state_dict().keys() == nhwc.model.state_dict().keys()
    conv = next(m for m in nhwc.model.modules() if isinstance(m, nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    for k, v in plain.model.state_dict().items():  # same seed, same initial weights
        assert torch.equal(v, nhwc.model.state_dict()[k]), k


@pytest.mark.slow
def test_compiled_training_matches_eager(prepared_small, tmp_path):
    """train.compile: same state-dict keys and (to float tolerance) the same weights after a few steps."""
    p = small_params(steps=6)
    fast = dataclasses.replace(p, train=dataclasses.replace(p.train, compile=True))
    train_model("vae", p, prepared_small, tmp_path / "a", tmp_path / "ck_a", tmp_path / "live_a")
    train_model("vae", fast, prepared_small, tmp_path / "b", tmp_path / "ck_b", tmp_path / "live_b")
    from genlab.io import load_torch

    wa, wb = load_torch(tmp_path / "a" / "model.pt")["weights"], load_torch(tmp_path / "b" / "model.pt")["weights"]
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-3, atol=1e-4)


def test_compile_with_a_gradient_penalty_is_a_clear_error(prepared_small):
    from genlab.config import ConfigError

    p = small_params()
    p = dataclasses.replace(p, train=dataclasses.replace(p.train, compile=True))
    with pytest.raises(ConfigError, match="train.compile.*WGAN-GP"):
        setup_run("pggan", p, prepared_small)


def test_bench_without_prepared_data_is_one_clear_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from stages.app import make_app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    result = CliRunner().invoke(make_app(), ["bench", "vae"])
    assert result.exit_code == 2
    assert "data/prepared/manifest.json: not found; run `dvc repro classifier` first" in result.output
    assert not (tmp_path / "metrics").exists()
