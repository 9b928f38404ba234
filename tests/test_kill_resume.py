"""kill -9 at a random step of every model's training, then the train stage again (what ``dvc repro`` runs): it
resumes from the newest checkpoint and ends at the weights of an uninterrupted run, bit for bit on the CPU."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from genlab.io import load_torch
from genlab.nn.growth import GrowthSchedule

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["vae", "gan", "ae", "aae", "vaegan", "pggan-8", "cvae"]  # pggan-8: a phase that continues pggan-4
STEPS, EVERY = 30, 4

# The train stage with a hook that SIGKILLs its own process right after optimizer step KILL_AT: no cleanup
# runs (no finally, no atexit, no flush), exactly like `kill -9` from outside.
KILLED_RUN = """
import os, signal, sys
from pathlib import Path
from genlab.config import load_params
from genlab.models.registry import config_classes
from genlab.training.run import train_model
name, at = sys.argv[1], int(sys.argv[2])
def kill(step):
    if step == at:
        os.kill(os.getpid(), signal.SIGKILL)
p = load_params(Path("params.yaml"), config_classes())
prev = p.entry(name).previous
train_model(name, p, Path("data/prepared"), Path("data/models") / name, Path("data/checkpoints") / name,
            Path("metrics/train") / name, on_step=kill, start=Path("data/models") / prev if prev else None)
"""


def _work(stage_workdir, name: str) -> tuple[Path, dict]:
    work, env = stage_workdir(name)
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    p["device"] = "cpu"
    p["model"].update(h=32, z=4)
    p["train"].update(steps=STEPS, batch_size=32, log_every=2, checkpoint_every=EVERY)
    for family in ("gan", "ae", "aae", "vaegan", "cvae"):  # train.steps rules every model's own budget
        p[family]["steps"] = 0
    p["gan"].update(h=32, z=8)
    p["pggan"].update(fmap_base=64, fmap_max=16, z=16)
    (work / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    return work, env


def _stage(work: Path, env: dict, name: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "stages", "train", name], cwd=work, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return load_torch(work / "data" / "models" / name / "model.pt")


def _kill_step(name: str) -> int:
    """A random step between checkpoints (seeded by the model's name); for the 8x8 phase one inside its fade-in
    (the 4x4 phase, capped at STEPS steps, ran steps 0 .. STEPS - 1)."""
    rng = random.Random(name)
    if name == "pggan-8":
        fade = next(s for s in GrowthSchedule(4, 6.0, 6.0, (16,), STEPS, first=1, last=1, start=(STEPS, 0)).segments
                    if s.fading)
        return rng.choice([t for t in range(fade.start + 1, fade.end) if t % EVERY])
    return rng.choice([t for t in range(EVERY + 1, STEPS) if t % EVERY])


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_kill_9_then_rerun_ends_at_the_uninterrupted_weights(stage_workdir, name):
    work_a, env = _work(stage_workdir, f"{name}_a")
    work_b, _ = _work(stage_workdir, f"{name}_b")
    if name == "pggan-8":  # the phase below, which both runs continue
        for work in (work_a, work_b):
            _stage(work, env, "pggan-4")
    uninterrupted = _stage(work_a, env, name)
    at = _kill_step(name)
    proc = subprocess.run([sys.executable, "-c", KILLED_RUN, name, str(at)], cwd=work_b, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert not (work_b / "data" / "models" / name / "model.pt").exists()
    newest = max(int(p.stem[5:]) for p in (work_b / "data" / "checkpoints" / name).glob("step_*.pt"))
    assert newest == at // EVERY * EVERY  # the kill fell between checkpoints
    resumed = _stage(work_b, env, name)
    wa, wb = uninterrupted["weights"], resumed["weights"]
    assert wa.keys() == wb.keys()
    diff = max((wa[k].double() - wb[k].double()).abs().max().item() for k in wa if wa[k].is_floating_point())
    print(f"{name}: killed at step {at}, resumed from step {newest}: max |w_resumed - w_uninterrupted| = {diff}")
    assert diff == 0.0
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    for key in ("steps", "images_seen"):
        assert resumed["meta"][key] == uninterrupted["meta"][key]
