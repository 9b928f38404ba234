"""The shared loop: resume after an interruption ends at the same weights; checkpoints are weights-only."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from helpers import default_params

from genlab.io import load_torch, save_torch
from genlab.models.registry import load_model
from genlab.training.checkpoint import latest_checkpoint
from genlab.training.run import train_model

ROOT = Path(__file__).resolve().parents[1]


class Interrupt(Exception):
    pass


def small_params(steps=40, lr_schedule="constant"):
    p = default_params()
    return dataclasses.replace(
        p, device="cpu", model=dataclasses.replace(p.model, h=32, z=4),
        train=dataclasses.replace(p.train, steps=steps, batch_size=32, log_every=5, checkpoint_every=10,
                                  lr_schedule=lr_schedule))


def _weights(path: Path) -> dict:
    return load_torch(path)["weights"]


@pytest.mark.parametrize("lr_schedule", ["constant", "cosine"])
def test_resume_equals_uninterrupted_run(prepared_small, tmp_path, lr_schedule):
    p = small_params(lr_schedule=lr_schedule)
    train_model("vae", p, prepared_small, tmp_path / "a", tmp_path / "ck_a", tmp_path / "live_a")

    def stop_at_27(step):
        if step == 27:
            raise Interrupt

    with pytest.raises(Interrupt):
        train_model("vae", p, prepared_small, tmp_path / "b", tmp_path / "ck_b", tmp_path / "live_b", on_step=stop_at_27)
    assert not (tmp_path / "b" / "model.pt").exists()
    assert latest_checkpoint(tmp_path / "ck_b", load_torch(sorted((tmp_path / "ck_b").glob("*.pt"))[-1])["fingerprint"])["step"] == 20
    # a truncated newest checkpoint is skipped with a warning: resume falls back to the one before
    newest = sorted((tmp_path / "ck_b").glob("*.pt"))[-1]
    save_torch(newest.with_name("step_00000025.pt"), {"garbage": torch.zeros(1)})
    (newest.with_name("step_00000025.pt")).write_bytes(b"truncated")
    meta = train_model("vae", p, prepared_small, tmp_path / "b", tmp_path / "ck_b", tmp_path / "live_b")
    assert meta["steps"] == 40
    wa, wb = _weights(tmp_path / "a" / "model.pt"), _weights(tmp_path / "b" / "model.pt")
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    # the dvclive curve of the resumed run is whole (replayed from the checkpoint history)
    loss_a = (tmp_path / "live_a" / "plots" / "metrics" / "loss.tsv").read_text().splitlines()
    loss_b = (tmp_path / "live_b" / "plots" / "metrics" / "loss.tsv").read_text().splitlines()
    assert len(loss_a) == len(loss_b) == 1 + 40 // 5
    assert [r.split("\t")[1] for r in loss_a] == [r.split("\t")[1] for r in loss_b]


def test_other_params_do_not_resume(prepared_small, tmp_path):
    p = small_params(steps=10)
    train_model("vae", p, prepared_small, tmp_path / "a", tmp_path / "ck", tmp_path / "live")
    q = dataclasses.replace(p, model=dataclasses.replace(p.model, h=16))
    train_model("vae", q, prepared_small, tmp_path / "b", tmp_path / "ck", tmp_path / "live")
    model, meta = load_model(tmp_path / "b" / "model.pt", torch.device("cpu"))
    assert model.model_cfg.h == 16 and meta["steps"] == 10


def test_loss_falls_over_training(prepared_small, tmp_path):
    p = small_params(steps=60)
    train_model("vae", p, prepared_small, tmp_path / "m", tmp_path / "ck", tmp_path / "live")
    rows = (tmp_path / "live" / "plots" / "metrics" / "loss.tsv").read_text().splitlines()[1:]
    losses = [float(r.split("\t")[-1]) for r in rows]
    assert losses[-1] < 0.8 * losses[0], losses


def test_checkpoints_with_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"weights": {}, "obj": Interrupt()}, path)
    with pytest.raises(Exception, match="[Ww]eights only load failed|Unsupported global"):
        load_torch(path)


def test_cosine_schedule_decays_to_zero():
    """torch's LambdaLR runs the schedule: the lr of every phase's optimizer at step t is lr · ½(1 + cos(π t / T))."""
    from genlab.models.gan import GAN, GANConfig
    from genlab.training.optimization import Optimization

    p = small_params(steps=100, lr_schedule="cosine")
    gan = GAN(GANConfig(h=8, z=2), p.model, (1, 8, 8), 10, 100)
    opt = Optimization(gan, p.train)
    lrs = []
    for _ in range(100):
        lrs.append([o.param_groups[0]["lr"] for o in opt.optimizers.values()])
        opt.step(torch.rand(4, 1, 8, 8), None)
    base = gan.cfg.lr
    assert lrs[0] == [base, base] and all(abs(lr - base / 2) < 1e-12 for lr in lrs[50]) and max(lrs[99]) < 1e-3 * base
    flat = Optimization(gan, small_params(steps=100).train)
    for _ in range(5):
        flat.step(torch.rand(4, 1, 8, 8), None)
    assert [o.param_groups[0]["lr"] for o in flat.optimizers.values()] == [base, base]


@pytest.mark.parametrize("name", ["gan", "ae", "aae", "vaegan"])
def test_resume_equals_uninterrupted_run_for_multi_network_models(prepared_small, tmp_path, name):
    """Several optimizers, EMA weights and fitted buffers survive a kill between checkpoints."""
    p = small_params(steps=30)
    cfg = p.families[name]
    if hasattr(cfg, "h"):
        cfg = dataclasses.replace(cfg, h=32)
    if name == "gan":
        cfg = dataclasses.replace(cfg, z=8)
    p = dataclasses.replace(p, families={**p.families, name: cfg})
    train_model(name, p, prepared_small, tmp_path / "a", tmp_path / "ck_a", tmp_path / "live_a")

    def stop_at_17(step):
        if step == 17:
            raise Interrupt

    with pytest.raises(Interrupt):
        train_model(name, p, prepared_small, tmp_path / "b", tmp_path / "ck_b", tmp_path / "live_b", on_step=stop_at_17)
    train_model(name, p, prepared_small, tmp_path / "b", tmp_path / "ck_b", tmp_path / "live_b")
    wa, wb = _weights(tmp_path / "a" / "model.pt"), _weights(tmp_path / "b" / "model.pt")
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


def test_rerunning_a_finished_run_keeps_its_model_file(prepared_small, tmp_path):
    """A finished run resumed for zero steps writes the same model.pt (same recorded time), so DVC does not
    rerun every stage after it."""
    p = small_params(steps=10)
    first = train_model("vae", p, prepared_small, tmp_path / "m", tmp_path / "ck", tmp_path / "live")
    before = (tmp_path / "m" / "model.pt").read_bytes()
    again = train_model("vae", p, prepared_small, tmp_path / "m", tmp_path / "ck", tmp_path / "live")
    assert again["train_seconds"] == first["train_seconds"]
    assert (tmp_path / "m" / "model.pt").read_bytes() == before
