"""Faults lose nothing: non-finite updates are never applied, clipping bounds the gradient norm, a full disk
or an unwritable folder is one clear line and leaves what was written before intact."""

from __future__ import annotations

import dataclasses
import errno
import os
import subprocess
from pathlib import Path

import pytest
import torch
import typer

from helpers import default_params, with_family

from genlab.errors import TrainingError
from genlab.io import load_torch, save_torch, write_json
from genlab.models.ae import AE
from genlab.training.run import train_model
from genlab.training.update import Updater
from stages.common import stage

ROOT = Path(__file__).resolve().parents[1]


def _linear_with_adam():
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 3)
    return net, torch.optim.Adam(net.parameters(), 1e-2, (0.9, 0.999), fused=True)


def test_a_nonfinite_update_is_not_applied_and_is_counted():
    net, opt = _linear_with_adam()
    up = Updater()
    x = torch.randn(8, 4)
    up.step = 1
    loss = net(x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    up.apply(opt, loss, "loss")  # a good update: applied
    before = {k: v.clone() for k, v in net.state_dict().items()}
    state = {k: v.clone() for k, v in opt.state[net.weight].items()}
    assert state["step"].item() == 1
    for step, corrupt in ((2, "loss"), (3, "grad")):
        up.step = step
        loss = net(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        if corrupt == "loss":
            loss = loss * float("nan")
        else:
            net.bias.grad[0] = float("inf")
        up.apply(opt, loss, "loss")
        for k, v in net.state_dict().items():
            assert torch.equal(v, before[k]), (corrupt, k)
        for k, v in opt.state[net.weight].items():  # Adam's moments and step count untouched too
            assert torch.equal(v, state[k]), (corrupt, k)
    (bad,) = up.nonfinite()
    assert (bad.term, bad.count, bad.first_step) == ("loss", 2, 2) and bad.first_loss != bad.first_loss  # NaN
    up.step = 4
    loss = net(x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    up.apply(opt, loss, "loss")  # finite again: applied
    assert not torch.equal(net.weight, before["weight"]) and opt.state[net.weight]["step"].item() == 2


def test_max_grad_norm_rescales_a_large_gradient_to_it_and_leaves_a_small_one():
    net, opt = _linear_with_adam()
    up = Updater(max_grad_norm=1.0)
    for scale, expected in ((100.0, 1.0), (1e-3, None)):
        loss = scale * net(torch.randn(8, 4)).sum()
        opt.zero_grad()
        loss.backward()
        raw = torch.nn.utils.get_total_norm([p.grad for p in net.parameters()]).item()
        up.apply(opt, loss, "loss")
        norm = torch.nn.utils.get_total_norm([p.grad for p in net.parameters()]).item()
        assert norm == pytest.approx(expected if expected is not None else raw, rel=1e-4), (scale, raw, norm)


def _small_params(on_nonfinite: str):
    p = with_family(default_params(), "ae", steps=0)
    return dataclasses.replace(
        p, device="cpu", model=dataclasses.replace(p.model, h=32, z=4),
        train=dataclasses.replace(p.train, steps=20, batch_size=32, log_every=5, checkpoint_every=5,
                                  on_nonfinite=on_nonfinite))


def _nan_from_step_7(monkeypatch):
    """AE's loss turns NaN at its 7th and 8th steps (e.g. an overflow), finite otherwise."""
    calls = {"n": 0}
    original = AE.reconstruction_nll

    def loss(self, x):
        calls["n"] += x.device.type != "meta"  # not the memory estimate's pass (genlab.memory)
        out = original(self, x)
        return out * float("nan") if calls["n"] in (7, 8) else out

    monkeypatch.setattr(AE, "reconstruction_nll", loss)


def test_a_nan_loss_stops_training_naming_model_step_and_term_and_keeps_the_last_good_checkpoint(
        prepared_small, tmp_path, monkeypatch):
    _nan_from_step_7(monkeypatch)
    ck = tmp_path / "ck"
    with pytest.raises(TrainingError, match=r"ae: non-finite ae loss at step 7 \(value nan.*nor 1 later"):
        train_model("ae", _small_params("error"), prepared_small, tmp_path / "out", ck, tmp_path / "live")
    assert sorted(p.name for p in ck.glob("*.pt")) == ["step_00000005.pt"]  # step 10's never written
    assert not (tmp_path / "out" / "model.pt").exists()
    weights = load_torch(ck / "step_00000005.pt")["state"]["weights"]
    assert all(torch.isfinite(w).all() for w in weights.values())


def test_with_on_nonfinite_skip_the_bad_updates_are_counted_and_training_finishes(prepared_small, tmp_path,
                                                                                   monkeypatch):
    _nan_from_step_7(monkeypatch)
    meta = train_model("ae", _small_params("skip"), prepared_small, tmp_path / "out", tmp_path / "ck", tmp_path / "lv")
    assert meta["skipped_updates"] == 2 and meta["steps"] == 20
    weights = load_torch(tmp_path / "out" / "model.pt")["weights"]
    assert all(torch.isfinite(w).all() for w in weights.values())


def test_a_failed_write_names_the_output_and_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "model.pt"
    save_torch(target, {"w": torch.ones(3)})
    write_json(tmp_path / "m.json", {"a": 1})

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError, match="No space left") as exc:
        save_torch(target, {"w": torch.zeros(3)})
    assert exc.value.filename == str(target) and exc.value.errno == errno.ENOSPC
    with pytest.raises(OSError, match="No space left"):
        write_json(tmp_path / "m.json", {"a": 2})
    monkeypatch.undo()
    assert torch.equal(load_torch(target)["w"], torch.ones(3)) and (tmp_path / "m.json").read_text() == '{\n  "a": 1\n}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "model.pt"]  # no temporary files left


@pytest.mark.parametrize("code, fix", [(errno.ENOSPC, "free disk space"), (errno.EACCES, "make the folder writable"),
                                       (errno.EROFS, "file system is writable")])
def test_a_stage_that_cannot_write_exits_with_one_line(code, fix, capsys):
    @stage
    def run():
        raise OSError(code, os.strerror(code), "data/models/vae/model.pt")

    with pytest.raises(typer.Exit) as exit_:
        run()
    err = capsys.readouterr().err.strip()
    assert exit_.value.exit_code == 2 and len(err.splitlines()) == 1
    assert err.startswith("error: cannot write data/models/vae/model.pt: ") and fix in err, err


def _tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_a_real_full_disk_mid_training_keeps_the_previous_checkpoint(prepared_small, tmp_path):
    """A tiny tmpfs fills up while training writes checkpoints (needs mount rights; skipped without)."""
    disk = tmp_path / "disk"
    if not _tmpfs(disk, "1600k"):  # room for two checkpoints of 0.66 MB, not a third beside them
        pytest.skip("cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN)")
    try:
        with pytest.raises(OSError) as exc:
            train_model("ae", _small_params("error"), prepared_small, disk / "out", disk / "ck", tmp_path / "live")
        assert exc.value.errno == errno.ENOSPC and exc.value.filename.startswith(str(disk / "ck"))
        kept = sorted(disk.glob("ck/step_*.pt"))
        assert [p.name for p in kept] == ["step_00000005.pt", "step_00000010.pt"] and not list(disk.glob("ck/.*"))
        ck = load_torch(kept[-1])  # the newest checkpoint on disk loads: nothing half-written
        assert ck["step"] % 5 == 0 and all(torch.isfinite(w).all() for w in ck["state"]["weights"].values())
    finally:
        subprocess.run(["umount", str(disk)], check=False)
