"""Stacked MNIST (Metz et al. 2017; Srivastava et al. 2017; Lin et al. 2018): three MNIST digits as the three
channels of one image, so the data have 10³ = 1,000 modes, one per digit triplet; its label is
100·d_red + 10·d_green + d_blue. Built once, deterministically, from MNIST images: seeded random triplets."""

from __future__ import annotations

import torch

STACK_SEED = 0
MODES = 1000


def stack(images: torch.Tensor, labels: torch.Tensor, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` stacked images (uint8 n×3×H×W) from random triplets of the 1-channel ``images``, and their labels."""
    if images.shape[1] != 1 or int(labels.max()) > 9:
        raise ValueError("stacked MNIST is built from 1-channel digits with labels 0..9")
    idx = torch.randint(len(images), (n, 3), generator=torch.Generator().manual_seed(seed))
    stacked = images[idx].squeeze(2)  # n×3×H×W: channel k is digit idx[:, k]
    digits = labels[idx]
    return stacked.contiguous(), digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


def stack_splits(splits: dict[str, torch.Tensor], train: int, test: int, seed: int) -> dict[str, torch.Tensor]:
    """The stacked train split from MNIST's train images and the stacked test split from its test images."""
    out = {}
    for i, (split, n) in enumerate((("train", train), ("test", test))):
        out[f"{split}_images"], out[f"{split}_labels"] = stack(splits[f"{split}_images"], splits[f"{split}_labels"],
                                                               n, seed + i)
    return out


def digits(label: torch.Tensor) -> torch.Tensor:
    """A stacked label's three digits (N×3)."""
    return torch.stack([label // 100, label // 10 % 10, label % 10], 1)
