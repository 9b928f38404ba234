"""FLOP counts and the machine's dense-matmul throughput: the two halves of model FLOPs utilization (MFU).

MFU = achieved FLOP/s / peak FLOP/s (Chowdhery et al. 2022, PaLM, App. B), with the peak *measured* here as
the throughput of one large dense matmul rather than read from a datasheet. FLOPs are counted by torch's
``FlopCounterMode`` (matmuls, convolutions and attention; elementwise ops are not counted, as is usual for MFU):
a Linear layer costs 2·in·out per sample forward and twice that backward, 6·in·out per trained sample.
"""

from __future__ import annotations

import time
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode


class _GlobalOnly:
    """Stands in for FlopCounterMode's per-module tracker, whose backward hooks break ``autograd.grad`` (the
    gradient penalty of WGAN-GP): only the global total is needed here."""

    parents = ("Global",)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of everything ``fn()`` runs (forward, backward and optimizer kernels that torch counts)."""
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _GlobalOnly()
    with counter:
        fn()
    return int(counter.get_total_flops())


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_flops_per_s(device: torch.device, n: int = 2048, dtype: torch.dtype = torch.float32,
                       seconds: float = 1.0) -> float:
    """Measured dense ``n×n @ n×n`` throughput (2n³ FLOPs per product) on ``device``, after one warm-up product;
    repeats for at least ``seconds``."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    torch.mm(a, b)
    synchronize(device)
    reps, t0 = 0, time.perf_counter()
    while True:
        torch.mm(a, b)
        reps += 1
        if reps % 4 == 0 or device.type != "cuda":
            synchronize(device)
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds:
                return 2 * n ** 3 * reps / elapsed
