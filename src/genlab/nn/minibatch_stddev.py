"""Minibatch standard deviation (Karras et al. 2018, section 3).

GANs tend to capture only a subset of the variation in the data. Salimans et al. (2016) proposed
minibatch discrimination: D sees statistics across the batch, so a batch of near-identical fakes
is easy to reject and G is pushed towards the data's variation. Karras et al. simplify it to a
layer with no parameters: compute each feature's standard deviation over a group of samples,
average it over features (and positions) into one number, and append that number as an extra
feature (map) to every sample of the group, near the end of D.
"""

from __future__ import annotations

import torch
from torch import nn


def minibatch_stddev(x: torch.Tensor, group_size: int = 4, eps: float = 1e-8) -> torch.Tensor:
    """Append the mean over features of the per-group std as one extra channel / feature.

    ``x`` is N×C×H×W (an extra constant map is appended) or N×F (an extra feature is appended).
    N must be divisible by the group size (the group is clipped to N).
    """
    n = x.shape[0]
    g = min(group_size, n)
    if n % g:
        raise ValueError(f"minibatch_stddev: batch {n} is not divisible by group size {g}")
    y = x.reshape(g, n // g, *x.shape[1:])  # group members along dim 0, as in the paper's implementation
    std = (y.var(dim=0, unbiased=False) + eps).sqrt()  # (n/g, ...)
    stat = std.flatten(1).mean(dim=1)  # one number per group
    stat = stat.repeat(g)  # back to N, matching the reshape order
    extra = stat.view(n, *([1] * (x.dim() - 1))).expand(n, 1, *x.shape[2:])
    return torch.cat([x, extra], dim=1)


class MinibatchStddev(nn.Module):
    def __init__(self, group_size: int = 4):
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return minibatch_stddev(x, self.group_size)
