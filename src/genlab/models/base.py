"""The contract every model family fulfils; the training loop and evaluation know only this.

A model owns its networks and optimizers. ``train_step`` takes one batch and returns detached
scalar tensors (no host sync: the loop reads them every ``train.log_every`` steps). Every optimizer update
goes through :meth:`GenerativeModel.step` (or :func:`step` with the model's ``updater``), which averages the
gradients over data-parallel processes, skips non-finite updates and clips (:mod:`genlab.training.update`).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from genlab.config import EvalConfig, ModelConfig, TrainConfig
from genlab.nn.stacks import Shape
from genlab.training.update import Updater


class GenerativeModel(nn.Module):
    """Base class: networks as sub-modules, optimizers in ``self.optimizers`` (name -> optimizer)."""

    def __init__(self, cfg, model: ModelConfig, train: TrainConfig, shape: Shape, num_classes: int):
        super().__init__()
        self.cfg, self.model_cfg, self.train_cfg = cfg, model, train
        self.shape, self.num_classes = tuple(shape), num_classes
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.updater = Updater(train.max_grad_norm)

    def step(self, name: str, loss: torch.Tensor, term: str = "loss") -> None:
        """Update the parameters of optimizer ``name`` on ``loss`` (``term``: its name in errors and counts)."""
        step(self.optimizers[name], loss, self.updater, term)

    def adam(self, params, lr: float | None = None, betas: tuple[float, float] | None = None) -> torch.optim.Optimizer:
        """Adam, by default with the ``train`` section's lr and betas; see :func:`adam`."""
        return adam(params, lr or self.train_cfg.lr, betas or (self.train_cfg.beta1, self.train_cfg.beta2))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def total_steps(self) -> int:
        """Optimizer steps of a full run: ``train.steps`` unless the model has its own schedule."""
        return self.train_cfg.steps

    def batch_sizes(self) -> set[int]:
        """Every global minibatch size the run uses (each must split over the data-parallel processes)."""
        return {self.train_cfg.batch_size}

    def schedule_key(self) -> object:
        """What of the model's own schedule must match for a checkpoint to resume (default: nothing)."""
        return None

    def begin_step(self, step: int, batches) -> tuple[torch.Tensor, torch.Tensor]:
        """Start optimizer step ``step``: advance the model's schedule if it has one, return the minibatch."""
        return batches.batch(step)

    def progress_state(self) -> dict[str, float]:
        """Schedule values logged with the curves at each log point (e.g. resolution and fade-in α)."""
        return {}

    def run_summary(self, history: list[dict]) -> dict:
        """Extra entries for train.json computed from the logged history (default: none)."""
        return {}

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """One optimisation step on images ``x`` in [0, 1] (labels ``y``); returns detached scalars."""
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` new images in [0, 1], N×C×H×W."""
        raise NotImplementedError

    def samplers(self) -> dict[str, Callable[[int, torch.Generator | None], torch.Tensor]]:
        """Named ways to draw new images; the first is the model's own and gives its main metrics."""
        return {"prior": self.sample}

    @torch.no_grad()
    def after_training(self, images: torch.Tensor) -> None:
        """Hook run once after the last step with the uint8 training images (e.g. fit a sampler). Default: none."""

    @torch.no_grad()
    def evaluate(self, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator,
                 cfg: EvalConfig) -> dict[str, float]:
        """Model-specific test metrics (e.g. ELBO); images in [0, 1]. Default: none."""
        return {}

    # ---------------------------------------------------------------- conditional models
    def condition_on(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        """Give a conditional model the images its samplers draw conditions from (the test split). Default: unused."""

    def conditioned_on(self) -> str | None:
        """What the samples are conditioned on, for the report (None: unconditional samples)."""
        return None

    @torch.no_grad()
    def labelled_samples(self, n: int, generator: torch.Generator | None = None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Named sets of (generated images in [0, 1], the class each should show), for conditional models; the
        domain classifier's accuracy on each becomes the metric ``<name>_accuracy``. Default: none."""
        return {}

    @torch.no_grad()
    def figures(self, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator,
                k: int) -> dict[str, tuple[torch.Tensor, int]]:
        """Extra grids, name -> (images in [0, 1], images per row), saved as ``<model>_<name>.png``. Default: none."""
        return {}

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor | None:
        """Reconstructions of ``x`` for models with an encoder, else None."""
        return None

    # ---------------------------------------------------------------- checkpoint state
    def training_state(self) -> dict:
        """Everything needed to resume: weights and optimizer states (tensors and plain values only)."""
        return {"weights": self.state_dict(), "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()}}

    def load_training_state(self, state: dict) -> None:
        self.load_state_dict(state["weights"])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])


def step(opt: torch.optim.Optimizer, loss: torch.Tensor, updater: Updater | None = None, term: str = "loss") -> None:
    """One update of ``opt``'s parameters on ``loss``: clear their grads, backpropagate, step (through
    ``updater`` when given: averaged over processes, skipped when non-finite, clipped)."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if updater is None:
        opt.step()
    else:
        updater.apply(opt, loss, term)


def adam(params, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    """torch.optim.Adam with the fused kernel (one pass over all parameters: ~25% faster steps on CPU for the MLPs)."""
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
