"""What the loop builds from a model's declared phases, and one training step over them.

For every phase of :class:`~genlab.models.base.GenerativeModel` (StyleGAN2-ADA's phase loop): one fused Adam over
the parameters of its networks and an lr schedule (``torch.optim.lr_scheduler.LambdaLR``); each step runs the
phases in order, each ``repeats`` times, with every other trained network frozen (so D's weights get no gradient
from G's loss, and a frozen G's samples carry no graph):

    zero the phase's gradients -> loss(phase, x, y) -> backward -> :class:`~genlab.training.update.Updater`
    (average over processes, skip a non-finite update, clip)

A phase whose loss is one scalar per network (VAE-GAN) gets each network's gradient of its own scalar from the one
forward pass, all taken before the update. After the phases the EMA of a network, if declared, is updated.
"""

from __future__ import annotations

import contextlib
import math

import torch

from genlab.config import TrainConfig
from genlab.models.base import GenerativeModel, Phase
from genlab.nn.ema import ema_update
from genlab.training.update import Updater


def lr_factor(cfg: TrainConfig):
    """Multiplier of each base lr at a step: 1, or ½(1 + cos(π t / T)) for ``lr_schedule: cosine`` (Loshchilov &
    Hutter 2017, SGDR without restarts, decaying to 0 at T = ``train.steps``)."""
    if cfg.lr_schedule == "cosine":
        return lambda step: 0.5 * (1.0 + math.cos(math.pi * step / cfg.steps))
    return lambda step: 1.0


class Optimization:
    """The optimizers, schedules and update rule of one model, built from its phases."""

    def __init__(self, model: GenerativeModel, cfg: TrainConfig):
        self.model, self.cfg = model, cfg
        self.params = {ph.name: [p for net in ph.networks for p in getattr(model, net).parameters()]
                       for ph in model.phases}
        self.optimizers = {
            ph.name: torch.optim.Adam(self.params[ph.name], lr=ph.lr or cfg.lr, betas=ph.betas or (cfg.beta1, cfg.beta2),
                                      fused=True)  # one pass over all parameters: ~25% faster steps on CPU (MLPs)
            for ph in model.phases}
        self.schedulers = {name: torch.optim.lr_scheduler.LambdaLR(opt, lr_factor(cfg))
                           for name, opt in self.optimizers.items()}
        self.updater = Updater(cfg.max_grad_norm)
        self._trained = list({id(p): p for ps in self.params.values() for p in ps}.values())

    @contextlib.contextmanager
    def _only(self, phase: Phase):
        """Freeze every trained parameter that ``phase`` does not update, for the duration of the phase."""
        mine = {id(p) for p in self.params[phase.name]}
        frozen = [p for p in self._trained if id(p) not in mine]
        for p in frozen:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in frozen:
                p.requires_grad_(True)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """One training step on the minibatch: every phase, then the EMA; returns the logged values."""
        logs: dict[str, torch.Tensor] = {}
        for phase in self.model.phases:
            opt = self.optimizers[phase.name]
            with self._only(phase):
                for _ in range(phase.repeats):
                    out = self.model.loss(phase.name, x, y)
                    opt.zero_grad(set_to_none=True)
                    value = self._backward(phase, out.value)
                    self.updater.apply(opt, value, f"{phase.name} loss")
                    logs.update(out.logs)
        ema = self.model.ema
        if ema is not None:
            ema_update(getattr(self.model, ema.average), getattr(self.model, ema.network), ema.decay_for(x.shape[0]))
        for sched in self.schedulers.values():
            sched.step()
        return logs

    def _backward(self, phase: Phase, value) -> torch.Tensor:
        """Put the phase's gradients in ``.grad``; returns the scalar whose finiteness the update checks."""
        if isinstance(value, torch.Tensor):
            value.backward()
            return value
        grads = {net: torch.autograd.grad(value[net], list(getattr(self.model, net).parameters()), retain_graph=True)
                 for net in phase.networks}
        for net, gs in grads.items():
            for p, g in zip(getattr(self.model, net).parameters(), gs):
                p.grad = g
        return torch.stack([value[net].detach() for net in phase.networks]).sum()

    def reset_moments(self) -> None:
        """Forget Adam's moments (and step counts): what Progressive GAN's code does when a level is added."""
        for opt in self.optimizers.values():
            opt.state.clear()

    def state_dict(self) -> dict:
        return {"optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()}}

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict`; moments whose shape is not their parameter's raise ValueError."""
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
            self.schedulers[name].load_state_dict(state["schedulers"][name])
            for p, moments in opt.state.items():
                if any(isinstance(m, torch.Tensor) and m.ndim and m.shape != p.shape for m in moments.values()):
                    raise ValueError(f"phase {name}: Adam moments of another shape than their parameter")

    def continue_from(self, state: dict) -> None:
        """Load another run's optimizer states and schedule positions, then this run's declared lr and betas (a
        phase may set its own)."""
        self.load_state_dict(state)
        for phase in self.model.phases:
            lr, betas = phase.lr or self.cfg.lr, phase.betas or (self.cfg.beta1, self.cfg.beta2)
            sched = self.schedulers[phase.name]
            sched.base_lrs = [lr for _ in sched.base_lrs]
            for group in self.optimizers[phase.name].param_groups:
                group.update(initial_lr=lr, lr=lr * sched.lr_lambdas[0](sched.last_epoch), betas=betas)
