"""Two nodes of one process each, as two launches of the train stage on 127.0.0.1 (c10d rendezvous): the weights of
one process on the same global batch; a node killed mid-run ends the other with one clear line, and rerunning both
resumes from the last checkpoint."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from genlab.io import load_torch

ROOT = Path(__file__).resolve().parents[1]
NODES = ("node0", "node1")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _params(work: Path, steps: int, **train) -> None:
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    p["device"] = "cpu"
    p["model"].update(h=32, z=4)
    p["train"].update({"steps": steps, "batch_size": 32, "log_every": 2, "checkpoint_every": 3, **train})
    p["ae"]["steps"] = 0
    (work / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))


def _start(work: Path, env: dict) -> subprocess.Popen:
    """``python -m stages train ae`` in ``work``: a node (this process is its torchrun agent, which starts the
    worker)."""
    return subprocess.Popen([sys.executable, "-m", "stages", "train", "ae"], cwd=work, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _kill_node(proc: subprocess.Popen) -> None:
    """SIGKILL a node as a machine dies: ``proc``, the torchrun agent it starts and the workers the agent starts
    in sessions of their own (all found through /proc)."""
    parents = {int(p.name): _parent(p) for p in Path("/proc").iterdir() if p.name.isdigit()}
    tree = [proc.pid]
    for pid in tree:
        tree += [child for child, parent in parents.items() if parent == pid]
    for pid in tree:
        os.kill(pid, signal.SIGKILL)


def _parent(proc_dir: Path) -> int | None:
    try:
        return int((proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _nodes(stage_workdir, steps: int, run_id: str, **train) -> tuple[list[Path], dict]:
    """Two node folders (each its own data/checkpoints and outputs, as on two machines) with the same params."""
    port = _free_port()
    works = []
    for name in NODES:
        work, env = stage_workdir(name)
        _params(work, steps, nnodes=2, rdzv_endpoint=f"127.0.0.1:{port}", rdzv_id=run_id, rdzv_timeout=120,
                dist_timeout=30, **train)
        works.append(work)
    return works, env


def _run_both(works: list[Path], env: dict) -> list[subprocess.CompletedProcess]:
    procs = [_start(w, env) for w in works]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=600)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


@pytest.mark.slow
def test_two_nodes_train_the_weights_of_one_process(stage_workdir):
    """The AE (no noise, no batch statistic): 2 nodes x 1 process x 16 images give the weights of 1 x 32 (the
    tolerance of tests/test_distributed.py); each node's first process writes the model on its own node."""
    single, env = stage_workdir("single")
    _params(single, 8)
    proc = subprocess.run([sys.executable, "-m", "stages", "train", "ae"], cwd=single, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    one = load_torch(single / "data" / "models" / "ae" / "model.pt")
    works, env = _nodes(stage_workdir, 8, "match")
    for done in _run_both(works, env):
        assert done.returncode == 0, done.stderr[-3000:]
    for work in works:
        two = load_torch(work / "data" / "models" / "ae" / "model.pt")
        assert two["meta"]["processes"] == 2 and two["meta"]["images_seen"] == 8 * 32
        err = _max_diff(one["weights"], two["weights"])
        print(f"{work.name}: max |w_1proc - w_2nodes| after 8 steps: {err:.3g}")
        assert 0 <= err < 1e-5


@pytest.mark.slow
def test_a_killed_node_ends_the_other_with_one_line_and_both_resume(stage_workdir):
    """kill -9 of one node (agent and worker) mid-run: the other exits non-zero within dist_timeout with one
    ``error:`` line and no traceback; rerunning both resumes from the last checkpoint and finishes with equal
    weights on both nodes."""
    steps = 400
    works, env = _nodes(stage_workdir, steps, "kill", checkpoint_every=20, log_every=20)
    procs = [_start(w, env) for w in works]
    ckpts = [w / "data" / "checkpoints" / "ae" for w in works]
    deadline = time.monotonic() + 300
    while not all(list(c.glob("step_*.pt")) for c in ckpts):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.2)
    time.sleep(1.0)
    _kill_node(procs[1])
    procs[1].communicate()
    start = time.monotonic()
    _, stderr = procs[0].communicate(timeout=120)
    waited = time.monotonic() - start
    errors = re.findall(r"error: [^\r\n]*", stderr)  # the line may follow a progress bar that was stopped
    print(f"survivor exited {procs[0].returncode} after {waited:.1f}s: {errors}")
    assert procs[0].returncode == 2, stderr[-3000:]
    assert len(errors) == 1 and "it resumes from the last checkpoint" in errors[0], stderr[-3000:]
    assert "lost another training process" in errors[0] or "the rendezvous at 127.0.0.1" in errors[0], errors
    assert "Traceback" not in stderr, stderr[-3000:]
    killed_at = [max(int(p.stem[5:]) for p in c.glob("step_*.pt")) for c in ckpts]
    assert 0 < min(killed_at) < steps and not (works[0] / "data" / "models" / "ae" / "model.pt").exists()
    results = _run_both(works, env)
    for done in results:
        assert done.returncode == 0, done.stderr[-3000:]
    resumed_from = [int(line.rsplit("step ", 1)[1].rstrip(")")) for r in results for line in r.stderr.splitlines()
                    if "resuming from" in line]
    print(f"checkpoints at the kill: {killed_at}; resumed from: {resumed_from}")
    assert resumed_from and set(resumed_from) == {min(killed_at)}, resumed_from
    a, b = (load_torch(w / "data" / "models" / "ae" / "model.pt") for w in works)
    assert a["meta"]["steps"] == b["meta"]["steps"] == steps
    assert _max_diff(a["weights"], b["weights"]) == 0.0
