"""The RNG state a checkpoint holds, so that a resumed run draws the numbers an uninterrupted one would."""

from __future__ import annotations

import torch


def rng_state() -> dict:
    """Torch RNG state as tensors (CPU and, when present, every CUDA device) for checkpoints."""
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.stack(torch.cuda.get_rng_state_all())
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(state["cuda"]))
