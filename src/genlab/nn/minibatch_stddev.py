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


def minibatch_stddev(x: torch.Tensor, group_size: int = 4, eps: float = 1e-8, batches: int = 1) -> torch.Tensor:
    """Append the mean over features of the per-group std as one extra channel / feature.

    ``x`` is N×C×H×W (an extra constant map is appended) or N×F (an extra feature is appended).
    N must be divisible by the group size (the group is clipped to N). ``batches`` > 1: x holds that many
    independent batches one after another (an ensemble's members), each grouped on its own.
    """
    n = x.shape[0] // batches
    g = min(group_size, n)
    if n % g or n * batches != x.shape[0]:
        raise ValueError(f"minibatch_stddev: batch {n} is not divisible by group size {g}")
    y = x.reshape(batches, g, n // g, *x.shape[1:])  # group members along dim 1, as in the paper's implementation
    std = (y.var(dim=1, unbiased=False) + eps).sqrt()  # (batches, n/g, ...)
    stat = std.flatten(2).mean(dim=2)  # one number per group
    stat = stat.repeat(1, g)  # back to n per batch, matching the reshape order
    extra = stat.view(batches * n, *([1] * (x.dim() - 1))).expand(batches * n, 1, *x.shape[2:])
    return torch.cat([x, extra], dim=1)


class MinibatchStddev(nn.Module):
    def __init__(self, group_size: int = 4, batches: int = 1):
        super().__init__()
        self.group_size, self.batches = group_size, batches

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return minibatch_stddev(x, self.group_size, batches=self.batches)
