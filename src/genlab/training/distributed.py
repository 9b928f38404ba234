"""Data-parallel training over processes started by ``torchrun`` (torch.distributed; Li et al. 2020, "PyTorch
Distributed: Experiences on Accelerating Data Parallel Training").

Each process holds a replica of every network, starts from rank 0's weights (broadcast, as DDP does when it
wraps a module), trains on its own shard of each global minibatch, and before every optimizer update the
gradients are averaged over the processes with one all-reduce (DDP's reduction, on one flat bucket). Since
every replica applies the same averaged gradient to the same weights, they stay identical, and the update
equals a single process's on the whole global batch (for losses that are means over the batch).

The all-reduce runs at the optimizer update (:mod:`genlab.training.update`) rather than inside a
``DistributedDataParallel`` wrapper because genlab's models do what DDP's autograd hooks do not support: the
VAE-GAN takes its three gradients with ``torch.autograd.grad`` (no hooks fire), Progressive GAN's WGAN-GP
differentiates twice, and the GANs run D several times per step with its ``requires_grad`` toggled off for
G's update. One reduction at the update point covers every model, the growing networks included: they
never need re-wrapping.

Backends: NCCL on CUDA (one GPU per process, ``cuda:LOCAL_RANK``), Gloo on the CPU.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from genlab.config import TrainConfig
from genlab.errors import TrainingError
from genlab.training import agent


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def is_main(self) -> bool:
        """Local rank 0, the first process on its machine: it logs, checkpoints and writes the outputs there. The
        replicas are identical, so every node holds the run's files (its own ``dvc repro`` finds them) and resumes
        from its own checkpoints; on one machine this is rank 0 alone."""
        return self.local_rank == 0


def under_torchrun() -> bool:
    """Whether torchrun started this process (it sets RANK and WORLD_SIZE, also for a single process)."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def world_from_env() -> World:
    """The world torchrun describes in RANK / WORLD_SIZE / LOCAL_RANK / LOCAL_WORLD_SIZE (1 process without it)."""
    if not under_torchrun():
        return World()
    env = os.environ
    return World(int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", 0)),
                 int(env.get("LOCAL_WORLD_SIZE", env["WORLD_SIZE"])))


def init(world: World, device: torch.device, timeout: float = 300) -> None:
    """Join the process group: NCCL on CUDA, Gloo on the CPU (no-op for a single process). A collective that waits
    longer than ``timeout`` seconds for the others (a lost node) raises instead of hanging."""
    if world.size == 1 or dist.is_initialized():
        return
    wait = timedelta(seconds=timeout)
    if device.type == "cuda":
        dist.init_process_group("nccl", device_id=device, timeout=wait)
    else:
        dist.init_process_group("gloo", timeout=wait)


class PeerLost(TrainingError):
    """A collective failed: another process or node died, or did not answer within ``train.dist_timeout``."""


def collective(fn):
    """Run a collective; its failure (Gloo and NCCL raise RuntimeError) becomes one :class:`PeerLost` line that
    says how to go on."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RuntimeError as exc:
            line = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
            reason = re.sub(r"^\[[^\]]*\]\s*", "", line).split(". ")[0][:160]  # no C++ source location
            raise PeerLost(f"lost another training process ({reason}); start the run again on every node "
                           "(genlab train MODEL or dvc repro): it resumes from the last checkpoint") from None

    return wrapper


@collective
def finish() -> None:
    """Leave the process group (every rank waits for the others first)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def size() -> int:
    """Processes in the running group (1 when there is none)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


@collective
def broadcast_module(module: nn.Module) -> None:
    """Copy rank 0's parameters and buffers into every replica (what DDP does when it wraps a module)."""
    if size() == 1:
        return
    with torch.no_grad():
        for tensor in module.state_dict().values():
            dist.broadcast(tensor, src=0)


@collective
def all_average(tensors: list[torch.Tensor]) -> None:
    """Replace each tensor by its mean over the processes, in place, with one all-reduce of a flat buffer."""
    n = size()
    if n == 1 or not tensors:
        return
    flat = torch.cat([t.reshape(-1).float() for t in tensors])
    dist.all_reduce(flat)  # SUM: Gloo has no AVG
    flat /= n
    offset = 0
    for t in tensors:
        t.copy_(flat[offset:offset + t.numel()].view_as(t))
        offset += t.numel()


@collective
def all_max(value: int, device: torch.device) -> int:
    """The largest ``value`` over the processes (one all-reduce; every process gets the same answer)."""
    if size() == 1:
        return value
    t = torch.tensor([value], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


@collective
def all_gather(obj) -> list:
    """``obj`` of every rank, in rank order (e.g. the RNG states a checkpoint must hold for each process)."""
    if size() == 1:
        return [obj]
    out = [None] * size()
    dist.all_gather_object(out, obj)
    return out


def torchrun_args(train: TrainConfig, run: str) -> list[str]:
    """torchrun's options for ``train``: ``--standalone`` on one machine; with ``train.nnodes`` > 1 the c10d
    rendezvous at ``train.rdzv_endpoint`` under the id ``<train.rdzv_id>-<run>`` (one per model, so that the
    train stages of one ``dvc repro`` meet one after the other), no restarts (a lost node ends the run)."""
    if train.nnodes == 1:
        return ["--standalone", f"--nproc-per-node={train.nproc}"]
    return [f"--nnodes={train.nnodes}", f"--nproc-per-node={train.nproc}", "--rdzv-backend=c10d",
            f"--rdzv-endpoint={train.rdzv_endpoint}", f"--rdzv-id={train.rdzv_id}-{run}",
            f"--rdzv-conf=join_timeout={train.rdzv_timeout}", "--max-restarts=0"]


def launch(train: TrainConfig, run: str, argv: list[str]) -> int:
    """Run ``python -m <argv>`` under torchrun (:func:`torchrun_args`) through :mod:`genlab.training.agent`;
    returns its exit code (a failure has printed one ``error:`` line). The agent runs in a session of its own and
    gets Ctrl-C and SIGTERM from this process, once: torchrun passes the signal on to the training processes,
    which checkpoint and stop together (:mod:`genlab.training.interrupt`); the code is then 128 + the signal."""
    env = {"TORCH_CPP_LOG_LEVEL": "ERROR", **os.environ}  # torch's C++ warnings of a lost store, unless asked for
    proc = subprocess.Popen([sys.executable, "-m", agent.__name__, *torchrun_args(train, run), "-m", *argv], env=env,
                            start_new_session=True)
    forward = {s: signal.signal(s, lambda signum, frame: proc.send_signal(signum))
               for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return proc.wait()
    finally:
        for s, handler in forward.items():
            signal.signal(s, handler)
