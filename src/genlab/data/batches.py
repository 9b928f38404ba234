"""In-memory minibatches: one uint8 tensor on the device, sliced and converted there.

The order is a function of (seed, epoch) alone, so step ``t`` always sees the same batch and a
resumed run continues exactly where an uninterrupted one would be. With data-parallel processes every
process computes the same global minibatch and keeps its own contiguous shard of it (rank r of w takes
rows r·n/w .. (r+1)·n/w): together they see exactly the single-process batch.
"""

from __future__ import annotations

import torch

from genlab.config import ConfigError
from genlab.data.tensors import to_unit


class InMemoryBatches:
    """Shuffled, drop-last minibatches of images in [0, 1] (and labels) held on ``device``."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, seed: int,
                 device: torch.device, rank: int = 0, world: int = 1):
        if batch_size > len(images):
            raise ConfigError(f"train.batch_size: {batch_size} exceeds the {len(images)} training images; "
                              "lower it or raise data.limit")
        self.images = images.to(device)
        self.labels = labels.to(device)
        self.batch_size = batch_size  # global, over all processes
        self.seed = seed
        self.rank, self.world = rank, world
        self.steps_per_epoch = len(images) // batch_size
        self._epoch, self._order = -1, None

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._order = torch.randperm(len(self.images), generator=g).to(self.images.device)
            self._epoch = epoch
        return self._order

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The (images, labels) minibatch of optimizer step ``step`` (0-based)."""
        epoch, pos = divmod(step, self.steps_per_epoch)
        idx = self._permutation(epoch)[pos * self.batch_size:(pos + 1) * self.batch_size]
        return self._take(idx)

    def _take(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """This process's shard of the global minibatch ``idx``, as images in [0, 1] and labels."""
        if self.world > 1:
            if len(idx) % self.world:
                raise ConfigError(f"a minibatch of {len(idx)} images does not split over {self.world} processes; "
                                  "use batch sizes divisible by train.nproc")
            per = len(idx) // self.world
            idx = idx[self.rank * per:(self.rank + 1) * per]
        return to_unit(self.images[idx]), self.labels[idx]

    def span(self, offset: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Images ``offset`` .. ``offset + size`` of the stream of epochs (each a fresh permutation of all
        images): batches whose size changes during training (Progressive GAN) without skipping or
        repeating images, and still a function of (seed, offset) alone."""
        n, parts = len(self.images), []
        while size > 0:
            epoch, pos = divmod(offset, n)
            take = min(size, n - pos)
            parts.append(self._permutation(epoch)[pos:pos + take])
            offset, size = offset + take, size - take
        idx = parts[0] if len(parts) == 1 else torch.cat(parts)
        return self._take(idx)
