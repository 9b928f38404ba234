"""Many copies of one small network trained as one batched model (``torch.func``): their parameters are stacked
along a leading dimension and one vmapped forward runs them all, so S seeds of a toy experiment cost about one
run's Python overhead. Member s starts from the weights a single network built after ``torch.manual_seed(seed_s)``
would have; Adam is per element, so each member trains as it would alone (within float tolerance: batched
matrix products may round differently)."""

from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap


class Ensemble(nn.Module):
    """``len(seeds)`` independent copies of ``make()``; call with inputs of shape S×N×... ."""

    def __init__(self, make: Callable[[], nn.Module], seeds: list[int]):
        super().__init__()
        members = []
        for seed in seeds:
            torch.manual_seed(seed)
            members.append(make())
        params, buffers = stack_module_state(members)
        self.stacked = nn.ParameterDict({k.replace(".", "/"): nn.Parameter(v.detach().clone()) for k, v in params.items()})
        for k, v in buffers.items():
            self.register_buffer(k.replace(".", "/"), v.clone())
        self._buffer_names = list(buffers)
        self.base = [copy.deepcopy(members[0]).to("meta")]  # the architecture, without weights (not a sub-module)
        self.size = len(seeds)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        params = {k.replace("/", "."): v for k, v in self.stacked.items()}
        buffers = {k: getattr(self, k.replace(".", "/")) for k in self._buffer_names}
        return vmap(lambda p, b, xi: functional_call(self.base[0], (p, b), (xi,)))(params, buffers, x)

    def member(self, s: int) -> dict[str, torch.Tensor]:
        """Member ``s``'s weights as the state dict of one network."""
        return {k.replace("/", "."): v[s].detach() for k, v in self.stacked.items()}
