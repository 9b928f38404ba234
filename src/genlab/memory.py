"""What the params ask of the machine, checked before anything is allocated: one line, never an allocator's traceback.

Estimates, in bytes, of what the params imply (rough: allocator overheads and short-lived copies are left out, so
a run that passes can still run out of memory, but one that is refused asks for more than the machine has):

- prepared data: the images at ``data.resolution``, held :data:`PREPARE_COPIES` times while they are resized
  and saved, plus the float chunks of the resize;
- training: every parameter and buffer of the model, built on the ``meta`` device (nothing allocated), with a
  gradient and Adam's two moments for each trained parameter (EMA copies are sub-modules, so counted); the
  activations of one step (the largest phase), tallied op by op on ``meta`` tensors; the training images when
  they go to a GPU; per extra data-parallel process on the CPU, its own copy of all that and of this process;
- evaluation: the uint8 samples, the features of samples and reference, the blocks of distances behind
  precision/recall, the test images as floats.

Available memory: on the CPU ``MemAvailable`` of ``/proc/meminfo``, capped by the cgroup's limit minus its usage
(v2 ``memory.max``/``memory.current``, v1 ``memory.limit_in_bytes``/``memory.usage_in_bytes``); on CUDA the free
memory of the device (``torch.cuda.mem_get_info``). Where neither can be read, nothing is checked.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from genlab.errors import ResourceError

log = logging.getLogger(__name__)

PREPARE_COPIES = 2  # the resized chunks and their concatenation (then a split and its serialization)
RESIZE_CHUNK = 1024  # images resized at once by genlab.data.tensors.fit_resolution
PRC_BLOCK = 10000  # torch-fidelity's precision/recall distance blocks (prc_batch_size)
CGROUP = Path("/sys/fs/cgroup")


def gib(n: float) -> str:
    """Bytes as a short human number."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n / 2**10:.1f} KiB"


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max": no limit


def _cgroup_room() -> int | None:
    """What this process's cgroup still allows (limit minus usage), or None without a limit."""
    for limit, usage in (("memory.max", "memory.current"), ("memory/memory.limit_in_bytes",
                                                            "memory/memory.usage_in_bytes")):
        lim, used = _read_int(CGROUP / limit), _read_int(CGROUP / usage)
        if lim is not None and used is not None and lim < 2**60:  # v1 writes a huge number for "no limit"
            return max(0, lim - used)
    return None


def available(device: torch.device) -> int | None:
    """Free memory for ``device`` in bytes (None where it cannot be read)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type != "cpu":
        return None
    try:
        info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        free = int(info["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None
    room = _cgroup_room()
    return free if room is None else min(free, room)


def require(need: int, device: torch.device, what: str, lower: str) -> None:
    """ResourceError when ``need`` bytes exceed what ``device`` has free: ``what`` says what needs them, ``lower``
    the param(s) to lower (the message starts with the first)."""
    have = available(device)
    if have is not None and need > have:
        where = "this machine has" if device.type == "cpu" else f"{device} has"
        raise ResourceError(f"{lower.split()[0].rstrip(',')}: {what} needs ~{gib(need)} of memory but {where} "
                            f"{gib(have)} available; lower {lower}")


# ----------------------------------------------------------------------------- prepared data


def check_prepared(n: int, channels: int, resolution: int, source: str) -> None:
    """Refuse preparing ``n`` images of ``channels``×``resolution``² that do not fit in RAM (before any resize)."""
    size = channels * resolution * resolution
    need = PREPARE_COPIES * n * size + 2 * 4 * min(n, RESIZE_CHUNK) * size
    require(need, torch.device("cpu"), f"preparing {n} images of {channels}x{resolution}x{resolution} from {source}",
            "data.resolution (or data.limit)")


# ----------------------------------------------------------------------------- training


class _Tally(TorchDispatchMode):
    """Sums the bytes of every tensor an op creates (views excluded): what a forward pass keeps for backward, at
    most."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        outs = out if isinstance(out, (tuple, list)) else (out,)
        for ret, t in zip(func._schema.returns, outs):
            if isinstance(t, torch.Tensor) and ret.alias_info is None:
                self.bytes += t.numel() * t.element_size()
        return out


def _bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def model_bytes(model: torch.nn.Module, batch: int, processes: int = 1) -> tuple[int, int]:
    """(weights with their gradients and Adam moments, activations of one training step on this process's share of
    a global ``batch``) of a model built on the ``meta`` device, through the loop's contract (``phases``, ``loss``,
    ``shape``; a growing model at its last level, with its largest batch)."""
    trained = {id(p): p for ph in model.phases for net in ph.networks for p in getattr(model, net).parameters()}
    weights = _bytes(model.parameters()) + _bytes(model.buffers()) + 3 * _bytes(trained.values())
    schedule = getattr(model, "schedule", None)
    if schedule is not None:
        model.set_growth(schedule.segments[-1].level, 1.0)
        batch = max(seg.batch_size for seg in schedule.segments)
    batch = max(1, batch // processes)
    x = torch.rand(batch, *model.shape, device="meta")
    y = torch.zeros(batch, dtype=torch.long, device="meta")
    largest = 0
    for phase in model.phases:
        with _Tally() as tally:
            model.loss(phase.name, x, y)
        largest = max(largest, tally.bytes)
    return weights, largest


def _process_bytes() -> int:
    """This process's resident memory: what each further data-parallel process costs before it builds anything."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def training_bytes(build: Callable[[Any], torch.nn.Module], params, batch: int, data: int, device: torch.device,
                   processes: int) -> tuple[int, str]:
    """(bytes, how they split) of training the model ``build(params)`` gives, with global minibatch ``batch``,
    ``data`` bytes of training images, on ``device`` in ``processes`` data-parallel processes."""
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        weights, activations = model_bytes(build(params), batch, processes)
    per_process = weights + activations + (data if device.type == "cuda" else 0)
    if device.type == "cpu" and processes > 1:  # every process on this machine's RAM
        need = processes * per_process + (processes - 1) * (data + _process_bytes())
        return need, f"{processes} processes of {gib(per_process + data + _process_bytes())}"
    return per_process, f"weights and Adam states {gib(weights)}, activations {gib(activations)}"


def _halved(params, section: str, key: str):
    """``params`` with ``section.key`` halved (None when it cannot be: not a size above 1)."""
    cfg = getattr(params, section, None) if section in ("model", "train") else params.families.get(section)
    value = getattr(cfg, key, None)
    if isinstance(value, tuple) and all(type(v) is int for v in value):
        smaller = tuple(max(1, v // 2) for v in value)
    elif type(value) is int and value > 1:
        smaller = value // 2
    else:
        return None
    cfg = dataclasses.replace(cfg, **{key: smaller})
    if section in ("model", "train"):
        return dataclasses.replace(params, **{section: cfg})
    return dataclasses.replace(params, families={**params.families, section: cfg})


SIZES = ("h", "z", "d_h", "fmap_base", "fmap_max")  # the fields of a family's section that size its networks


def check_training(build: Callable[[Any], torch.nn.Module], params, name: str, data: int, device: torch.device,
                   processes: int = 1) -> None:
    """Refuse training model ``name`` (``build(params)`` builds it) when it does not fit ``device``'s free memory;
    the message names the param whose halving saves the most."""
    total, parts = training_bytes(build, params, params.train.batch_size, data, device, processes)
    have = available(device)
    if have is None or total <= have:
        return
    knobs = [("model", "h"), ("model", "z"), *((name, k) for k in SIZES), (name, "batch_sizes"), ("train", "batch_size")]
    savings = {}
    for section, key in knobs + ([("train", "nproc")] if processes > 1 else []):
        smaller = _halved(params, section, key)
        if smaller is None:
            continue
        nproc = smaller.train.nproc if key == "nproc" else processes
        try:
            savings[f"{section}.{key}"] = total - training_bytes(build, smaller, smaller.train.batch_size, data,
                                                                 device, nproc)[0]
        except (ValueError, RuntimeError, TypeError):  # a halved value the model refuses is no advice
            continue
    require(total, device, f"training {name} ({parts})", max(savings, key=savings.get) if savings else "model.h")


def check_processes(processes: int, device: torch.device, cores: int) -> None:
    """More data-parallel processes than GPUs is an error (each needs its own); more than CPU cores only a warning:
    they share the cores (slower, the same numbers), which is how a larger run is reproduced on a small machine."""
    if processes <= 1:
        return
    if device.type == "cuda":
        gpus = torch.cuda.device_count()
        if processes > gpus:
            raise ResourceError(f"train.nproc: {processes} processes but this machine has {gpus} GPU(s), one per "
                                f"process; lower train.nproc to {gpus} or less")
    elif processes > cores:
        log.warning("train.nproc: %d processes share %d CPU cores, one thread each: slower than %d processes, "
                    "the same numbers", processes, cores, cores)


# ----------------------------------------------------------------------------- evaluation


def check_evaluation(n_samples: int, shape, n_reference: int, feature_dims: int, device: torch.device) -> None:
    """Refuse an evaluation whose uint8 samples, features (``feature_dims`` per image, of samples and reference) and
    precision/recall distance blocks do not fit in RAM (where they live, whatever the device)."""
    pixels = 1
    for s in shape:
        pixels *= s
    n = max(n_samples, n_reference)
    need = n_samples * pixels + 2 * 4 * feature_dims * (n_samples + n_reference) + 2 * 4 * min(n, PRC_BLOCK) * n
    if device.type == "cpu":
        need += 4 * n_reference * pixels  # the test images as floats
    require(need, torch.device("cpu"), f"evaluating {n_samples} samples of {'x'.join(map(str, shape))} against "
            f"{n_reference} (samples, features, precision/recall distances)", "eval.n_samples")
