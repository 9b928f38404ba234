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
MODELS = ["vae", "gan", "ae", "aae", "vaegan", "pggan", "cvae"]
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
train_model(name, load_params(Path("params.yaml"), config_classes()), Path("data/prepared"), Path("data/models") / name,
            Path("data/checkpoints") / name, Path("metrics/train") / name, on_step=kill)
"""


def _work(stage_workdir, name: str) -> tuple[Path, dict]:
    work, env = stage_workdir(name)
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    p["device"] = "cpu"
    p["model"].update(h=32, z=4)
    p["train"].update(steps=STEPS, batch_size=32, log_every=2, checkpoint_every=EVERY)
    for model in MODELS:  # train.steps rules every model's own budget
        if "steps" in p[model]:
            p[model]["steps"] = 0
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
    """A random step between checkpoints (seeded by the model's name); for pggan one inside a fade-in."""
    rng = random.Random(name)
    if name == "pggan":
        fades = [s for s in GrowthSchedule(4, 6.0, 6.0, (16,), STEPS).segments if s.fading]
        steps = [t for s in fades for t in range(s.start + 1, s.end) if t % EVERY]
        return rng.choice(steps)
    return rng.choice([t for t in range(EVERY + 1, STEPS) if t % EVERY])


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_kill_9_then_rerun_ends_at_the_uninterrupted_weights(stage_workdir, name):
    work_a, env = _work(stage_workdir, f"{name}_a")
    work_b, _ = _work(stage_workdir, f"{name}_b")
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
