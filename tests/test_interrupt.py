"""Ctrl-C and SIGTERM during training: a checkpoint at the current step, one line, exit 128 + the signal; the rerun
ends at the weights and curves of an uninterrupted run. One writer per model: a second ``train`` refuses, a killed
one leaves no lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from genlab.errors import TrainingError
from genlab.io import load_torch
from genlab.training.lock import single_writer

ROOT = Path(__file__).resolve().parents[1]
STEPS, LOG_EVERY, CHECKPOINT_EVERY = 400, 7, 50


def _work(stage_workdir, name: str, model: str, **train) -> tuple[Path, dict]:
    work, env = stage_workdir(name)
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    p["device"] = "cpu"
    p["model"].update(h=32, z=4)
    p["train"].update({"steps": STEPS, "batch_size": 32, "log_every": LOG_EVERY, "checkpoint_every": CHECKPOINT_EVERY,
                       **train})
    if "steps" in p[model]:
        p[model]["steps"] = 0
    if model == "gan":
        p["gan"].update(h=32, z=8)
    (work / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    return work, env


def _train(work: Path, env: dict, model: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "stages", "train", model], cwd=work, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.05)


def _curve(work: Path, model: str, metric: str) -> list[str]:
    return (work / "metrics" / "train" / model / "plots" / "metrics" / f"{metric}.tsv").read_text().splitlines()


@pytest.mark.slow
@pytest.mark.parametrize("model, sig", [("vae", signal.SIGTERM), ("gan", signal.SIGINT)])
def test_a_signal_checkpoints_the_step_and_the_rerun_ends_at_the_uninterrupted_weights(stage_workdir, model, sig):
    work_a, env = _work(stage_workdir, "a", model)
    work_b, _ = _work(stage_workdir, "b", model)
    whole = _train(work_a, env, model)
    assert whole.wait(timeout=600) == 0, whole.stderr.read()[-3000:]

    run = _train(work_b, env, model)
    _wait_for(work_b / "data" / "checkpoints" / model / f"step_{CHECKPOINT_EVERY:08d}.pt", run)
    time.sleep(0.3)  # somewhere after it, most likely between log points
    run.send_signal(sig)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 128 + sig, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"{model}: interrupted at step ") and "rerun dvc repro" in line, line
    step = int(line.split("interrupted at step ")[1].split()[0])
    newest = max(int(p.stem[5:]) for p in (work_b / "data" / "checkpoints" / model).glob("step_*.pt"))
    assert CHECKPOINT_EVERY < step < STEPS and newest == step  # the checkpoint is at the step it stopped at
    assert not (work_b / "data" / "models" / model / "model.pt").exists()

    rerun = _train(work_b, env, model)
    _, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err[-3000:]
    wa = load_torch(work_a / "data" / "models" / model / "model.pt")["weights"]
    wb = load_torch(work_b / "data" / "models" / model / "model.pt")["weights"]
    diff = max((wa[k].double() - wb[k].double()).abs().max().item() for k in wa if wa[k].is_floating_point())
    print(f"{model}: {signal.Signals(sig).name} at step {step}: max |w_resumed - w_uninterrupted| = {diff}")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    loss = "loss_d" if model == "gan" else "loss"  # the log point after the interrupt averages all its steps
    assert _curve(work_a, model, loss) == _curve(work_b, model, loss)
    assert len(_curve(work_b, model, loss)) == 1 + STEPS // LOG_EVERY + 1


def test_the_lock_refuses_a_second_writer_and_a_killed_holder_leaves_none(tmp_path):
    """Another process holds the folder's lock: refused with its pid; killed (-9), the lock is free at once."""
    folder = tmp_path / "ck"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from genlab.training.lock import "
         "single_writer\nwith single_writer(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(600)",
         str(folder)], stdout=subprocess.PIPE, text=True, env={**os.environ, "GENLAB_TRAIN_LOCK": ""})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(TrainingError, match=rf"^{folder}: another genlab train \(pid {holder.pid}\) is writing"):
            with single_writer(folder):
                pass
    finally:
        holder.kill()
        holder.wait()
    with single_writer(folder):  # no stale lock after kill -9
        assert (folder / ".lock").read_text() == str(os.getpid())
    assert "GENLAB_TRAIN_LOCK" not in os.environ


@pytest.mark.slow
def test_a_second_train_of_the_same_model_refuses_until_the_first_is_killed(stage_workdir):
    work, env = _work(stage_workdir, "w", "vae", steps=1000 * STEPS)  # still running when the second one asks
    first = _train(work, env, "vae")
    try:
        _wait_for(work / "data" / "checkpoints" / "vae" / f"step_{CHECKPOINT_EVERY:08d}.pt", first)
        second = subprocess.run([sys.executable, "-m", "stages", "train", "vae"], cwd=work, env=env,
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stderr[-3000:]
        assert second.stderr.strip().splitlines() == [
            f"error: data/checkpoints/vae: another genlab train (pid {first.pid}) is writing these checkpoints; wait "
            "for it to finish (or stop it), then rerun"]
    finally:
        first.kill()
        first.communicate()
    assert first.returncode == -signal.SIGKILL
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["train"]["steps"] = STEPS
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    again = subprocess.run([sys.executable, "-m", "stages", "train", "vae"], cwd=work, env=env, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert load_torch(work / "data" / "models" / "vae" / "model.pt")["meta"]["steps"] == STEPS


@pytest.mark.slow
def test_data_parallel_processes_stop_together_at_a_log_point_and_resume(stage_workdir):
    """SIGTERM to `genlab train` with train.nproc: 2 (torchrun on the CPU): both processes stop after the same
    step, the first log point after the signal; rank 0 alone says so; the rerun ends at the weights of an
    uninterrupted 2-process run."""
    work_a, env = _work(stage_workdir, "a", "ae", nproc=2)
    work_b, _ = _work(stage_workdir, "b", "ae", nproc=2)
    whole = _train(work_a, env, "ae")
    assert whole.wait(timeout=600) == 0, whole.stderr.read()[-3000:]
    run = _train(work_b, env, "ae")
    _wait_for(work_b / "data" / "checkpoints" / "ae" / f"step_{CHECKPOINT_EVERY:08d}.pt", run)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 128 + signal.SIGTERM and "Traceback" not in err, err[-3000:]
    said = [line for line in err.splitlines() if "interrupted at step" in line]
    assert len(said) == 1, err[-3000:]
    step = int(said[0].split("interrupted at step ")[1].split()[0])
    assert step % LOG_EVERY == 0 and (work_b / "data" / "checkpoints" / "ae" / f"step_{step:08d}.pt").exists()
    rerun = _train(work_b, env, "ae")
    assert rerun.wait(timeout=600) == 0, rerun.stderr.read()[-3000:]
    wa = load_torch(work_a / "data" / "models" / "ae" / "model.pt")["weights"]
    wb = load_torch(work_b / "data" / "models" / "ae" / "model.pt")["weights"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
