"""The contract between a model family and the training loop.

A family *declares* what to optimise and never runs an update itself (the split of StyleGAN2-ADA's
``training_loop.py`` / ``loss.py``, and of pythae's models and trainers):

- its networks are sub-modules;
- ``phases``: its named objectives in the order every training step runs them, each with the networks whose
  parameters it updates, its Adam settings and how many times it runs per step;
- ``loss(phase, x, y)``: what that phase minimises and the values to log;
- ``sample(n, generator)``: new images in [0, 1];
- optionally ``ema``: a network whose weights another sub-module averages, for sampling.

The loop (:mod:`genlab.training.optimization`) does everything mechanical from this declaration, once, for
every family. Further capabilities (an encoder, a pixel likelihood, conditioning, a growth schedule, several
samplers) are protocols defined next to the code that uses them, and a model has them by having their methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from genlab.config import ModelConfig
from genlab.nn.stacks import Shape


@dataclass(frozen=True)
class Phase:
    """One objective: ``loss(name, ...)`` is minimised over the parameters of ``networks`` (attribute names of the
    model's sub-modules) by one Adam with ``lr`` and ``betas`` (None: the ``train`` section's), ``repeats`` times per
    step on the same minibatch. While it runs, the loop freezes every other network the model trains."""

    name: str
    networks: tuple[str, ...]
    lr: float | None = None
    betas: tuple[float, float] | None = None
    repeats: int = 1


@dataclass
class Loss:
    """What a phase minimises: one scalar, or (a phase whose networks play different parts in one forward pass,
    like VAE-GAN's) one scalar per network, each network descending its own; ``logs`` are detached scalars."""

    value: torch.Tensor | dict[str, torch.Tensor]
    logs: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass(frozen=True)
class EMA:
    """Sub-module ``average`` holds an exponential moving average of network ``network``'s weights, updated after
    every step with ``decay``, or with 0.5 ** (batch / ``half_life_images``) when a half-life in images is set."""

    network: str
    average: str
    decay: float = 0.0
    half_life_images: float = 0.0

    def decay_for(self, batch: int) -> float:
        return 0.5 ** (batch / self.half_life_images) if self.half_life_images else self.decay


class GenerativeModel(nn.Module):
    """Base class of every family: its config, the shared model config, the data shape; the contract above."""

    phases: tuple[Phase, ...] = ()
    ema: EMA | None = None
    #: the loss differentiates through a gradient (WGAN-GP's penalty), which torch.compile cannot do
    differentiates_twice: bool = False

    def __init__(self, cfg, model: ModelConfig, shape: Shape, num_classes: int, steps: int):
        super().__init__()
        self.cfg, self.model_cfg = cfg, model
        self.shape, self.num_classes, self.steps = tuple(shape), num_classes, steps

    def loss(self, phase: str, x: torch.Tensor, y: torch.Tensor) -> Loss:
        """What ``phase`` minimises on images ``x`` in [0, 1] with labels ``y``."""
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` new images in [0, 1], N×C×H×W."""
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device
