"""One optimizer update: the single place where any model's weights change.

Once a model has put its gradients in ``.grad`` the update
1. averages them (and the loss) over the data-parallel processes (:mod:`genlab.training.distributed`);
2. measures the global gradient norm ||g||₂; a non-finite loss or norm means the update is *not applied*:
   the fused Adam kernel gets ``found_inf`` and leaves weights, moments and its step count untouched, on the
   device, with no host sync (the mechanism torch's GradScaler uses);
3. optionally rescales the gradients to norm ``train.max_grad_norm`` when they exceed it
   (g ← g · c / ||g||₂, Pascanu et al. 2013).

Skipped updates are counted per loss term on the device; the loop reads the counts at its log points and
either stops with an error naming the term and its first bad step, or keeps going (``train.on_nonfinite``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genlab.training import distributed


@dataclass(frozen=True)
class NonFinite:
    """A loss term whose updates were skipped: how many, and the first one (1-based step, loss value)."""

    term: str
    count: int
    first_step: int
    first_loss: float


class Updater:
    """Applies optimizer updates for one model and counts the non-finite ones it skipped."""

    def __init__(self, max_grad_norm: float = 0.0):
        self.max_grad_norm = max_grad_norm
        self.step = 0  # the loop's current (1-based) step, recorded with the first non-finite update
        self._bad: dict[str, dict[str, torch.Tensor]] = {}

    def apply(self, opt: torch.optim.Optimizer, loss: torch.Tensor, term: str) -> None:
        """Step ``opt`` on the gradients in its parameters' ``.grad`` (``loss`` is the scalar they came from)."""
        params = [p for group in opt.param_groups for p in group["params"] if p.grad is not None]
        grads = [p.grad for p in params]
        value = loss.detach().float().reshape(1)
        distributed.all_average(grads + [value])
        norm = torch.nn.utils.get_total_norm(grads) if grads else value.new_zeros(())
        bad = ~(torch.isfinite(norm) & torch.isfinite(value[0]))
        if self.max_grad_norm > 0:
            torch.nn.utils.clip_grads_with_norm_(params, self.max_grad_norm, norm)
        self._count(term, bad, value[0])
        if opt.defaults.get("fused"):
            opt.found_inf = bad.float()  # read by the fused kernel: skip the whole update where it is 1
            opt.step()
        elif not bad:  # other optimizers have no on-device skip: this costs a host sync
            opt.step()

    def _count(self, term: str, bad: torch.Tensor, value: torch.Tensor) -> None:
        rec = self._bad.get(term)
        if rec is None:
            rec = self._bad[term] = {"count": torch.zeros((), dtype=torch.long, device=bad.device),
                                     "step": torch.zeros((), dtype=torch.long, device=bad.device),
                                     "loss": torch.zeros((), device=bad.device)}
        first = bad & (rec["count"] == 0)
        rec["step"] = torch.where(first, self.step, rec["step"])
        rec["loss"] = torch.where(first, value, rec["loss"])
        rec["count"] += bad

    def nonfinite(self) -> list[NonFinite]:
        """The terms with skipped updates so far (reads the device counters: a host sync)."""
        out = []
        for term, rec in self._bad.items():
            count = int(rec["count"])
            if count:
                out.append(NonFinite(term, count, int(rec["step"]), float(rec["loss"])))
        return out

    def skipped(self) -> int:
        return sum(b.count for b in self.nonfinite())
