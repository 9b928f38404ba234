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

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that logs, checkpoints and writes the outputs."""
        return self.rank == 0


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


def init(world: World, device: torch.device) -> None:
    """Join the process group: NCCL on CUDA, Gloo on the CPU (no-op for a single process)."""
    if world.size == 1 or dist.is_initialized():
        return
    if device.type == "cuda":
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")


def finish() -> None:
    """Leave the process group (every rank waits for the others first)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def size() -> int:
    """Processes in the running group (1 when there is none)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def broadcast_module(module: nn.Module) -> None:
    """Copy rank 0's parameters and buffers into every replica (what DDP does when it wraps a module)."""
    if size() == 1:
        return
    with torch.no_grad():
        for tensor in module.state_dict().values():
            dist.broadcast(tensor, src=0)


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


def all_max(value: int, device: torch.device) -> int:
    """The largest ``value`` over the processes (one all-reduce; every process gets the same answer)."""
    if size() == 1:
        return value
    t = torch.tensor([value], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


def all_gather(obj) -> list:
    """``obj`` of every rank, in rank order (e.g. the RNG states a checkpoint must hold for each process)."""
    if size() == 1:
        return [obj]
    out = [None] * size()
    dist.all_gather_object(out, obj)
    return out


def launch(nproc: int, argv: list[str]) -> int:
    """Run ``python -m <argv>`` in ``nproc`` processes on this machine with torchrun (``--standalone``), its launcher
    running in this process -> the exit code: 0, the first failed process's, or 128 + the signal (Ctrl-C, SIGTERM)
    that stopped this launcher. torchrun passes such a signal on to the processes, which then checkpoint and stop
    together (:mod:`genlab.training.interrupt`), and kills those still running 30 s later; nothing of torchrun's own
    traceback is printed."""
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    try:
        torchrun.run(torchrun.parse_args(["--standalone", f"--nproc-per-node={nproc}", "-m", *argv]))
    except SignalException as exc:
        return 128 + int(exc.sigval)
    except ChildFailedError as exc:
        code = exc.get_first_failure()[1].exitcode
        return code if code > 0 else 128 - code  # killed by a signal: the shell's convention
    return 0
