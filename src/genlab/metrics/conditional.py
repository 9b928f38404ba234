"""Metrics of a conditional model p(x2 | x1) (Sohn et al. 2015): x1 is the class label or the observed part of an
image, x2 the rest.

Its samples are completions of conditions drawn from the test split (uniform labels, or random test images, whose
observed pixels stay real), so their scores are not comparable with unconditional samples. Beside them: the
conditional ELBO, the per-pixel error of x2 for one completion and the best of :data:`BEST_OF`, the spread of those
completions, -log p(x2 | x1) by importance sampling, the domain classifier's accuracy on completions against the
condition's class, and the same for the deterministic regression baseline, when the model has one.
"""

from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

import torch

from genlab.metrics.config import EvalConfig

BEST_OF = 8  # completions per test image for completion_mse_best_of_8 and completion_diversity
Sampler = Callable[[int, torch.Generator | None], torch.Tensor]


@runtime_checkable
class Conditional(Protocol):
    """A model of p(x2 | x1)."""

    condition: str  # "label", or the name of the observed region
    observed: torch.Tensor  # 1×C×H×W mask of x1's pixels (all zeros for label)
    baseline: bool  # whether it has the deterministic regression baseline (then ``regress`` is not None)
    num_classes: int
    shape: tuple[int, int, int]

    def complete(self, x: torch.Tensor, y: torch.Tensor, k: int, generator: torch.Generator | None) -> torch.Tensor:
        """k completions (k×N×C×H×W) of images ``x`` / labels ``y``: x1 kept, x2 drawn."""

    def regress(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None: ...

    def conditional_elbo_terms(self, x, y, generator=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(log p(x2 | x1, z), KL(q || p(z)), x1) per image, one z each."""

    def log_conditional_likelihood(self, x, y, samples: int, generator=None) -> torch.Tensor: ...

    def regression_log_likelihood(self, x, y) -> torch.Tensor | None: ...

    def describe(self) -> dict[str, str]: ...


def conditioned_on(model: Conditional) -> str:
    """What the samples are conditioned on, for the report."""
    return ("the class label" if model.condition == "label"
            else f"the {model.condition} of test images (x1's pixels are real)")


def draw_conditions(model: Conditional, images: torch.Tensor, labels: torch.Tensor, n: int,
                    generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """n conditions: uniform labels (with blank images), or random test ``images`` with their labels."""
    device = images.device
    if model.condition == "label":
        y = torch.randint(0, model.num_classes, (n,), generator=generator, device=device)
        return torch.zeros(n, *model.shape, device=device), y
    idx = torch.randint(0, len(images), (n,), generator=generator, device=device)
    return images[idx], labels[idx]


def samplers(model: Conditional, images: torch.Tensor, labels: torch.Tensor) -> dict[str, Sampler]:
    """The model's completions (``prior``: z from its predictive) and the regression's, of drawn conditions."""
    out = {"prior": lambda n, g=None: model.complete(*draw_conditions(model, images, labels, n, g), 1, g)[0]}
    if model.baseline:
        out["regression"] = lambda n, g=None: model.regress(*draw_conditions(model, images, labels, n, g))
    return out


@torch.no_grad()
def conditional_metrics(model: Conditional, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator,
                        cfg: EvalConfig) -> dict:
    """On the test split (images in [0, 1]): ``cond_elbo`` (one z), pixel MSE of x2 for one completion, the best of
    8 and the regression; the spread of 8 completions; and, on the first eval.iw_images test images, -log p(x2 | x1)
    by importance sampling with K = eval.iw_samples (``ncll``, nats; the regression's is exact)."""
    sums: dict[str, float] = {}
    miss = 1.0 - model.observed
    area = float(miss.sum())

    def add(key, value):
        sums[key] = sums.get(key, 0.0) + float(value.sum())

    for x, y in zip(images.split(cfg.batch_size), labels.split(cfg.batch_size)):
        rec, kl, _ = model.conditional_elbo_terms(x, y, generator)
        add("cond_elbo", rec - kl)
        draws = model.complete(x, y, BEST_OF, generator)
        err = ((draws - x) ** 2 * miss).flatten(2).sum(2) / area  # k×N
        add("completion_mse", err[0])
        add(f"completion_mse_best_of_{BEST_OF}", err.min(0).values)
        add("completion_diversity", (draws.std(0) * miss).flatten(1).sum(1) / area)
        if model.baseline:
            add("completion_mse_regression", ((model.regress(x, y) - x) ** 2 * miss).flatten(1).sum(1) / area)
    out = {k: v / len(images) for k, v in sums.items()}
    n = cfg.iw_subset(images.device.type, len(images))
    total, total_reg, chunk = 0.0, 0.0, max(1, cfg.batch_size // 10)
    for x, y in zip(images[:n].split(chunk), labels[:n].split(chunk)):
        total -= float(model.log_conditional_likelihood(x, y, cfg.iw_samples, generator).sum())
        if model.baseline:
            total_reg -= float(model.regression_log_likelihood(x, y).sum())
    out["ncll"] = total / n
    if model.baseline:
        out["ncll_regression"] = total_reg / n
    out.update({"iw_images": n, "iw_samples": cfg.iw_samples, **model.describe()})
    return out


@torch.no_grad()
def labelled_samples(model: Conditional, images: torch.Tensor, labels: torch.Tensor, n: int,
                     generator: torch.Generator | None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Generated images with the class each should show, named for ``<name>_accuracy``: ``cond`` (samples for
    requested labels) or ``completion`` (completed test images, against their label), and the regression's."""
    x, y = draw_conditions(model, images, labels, n, generator)
    key = "cond" if model.condition == "label" else "completion"
    out = {key: (model.complete(x, y, 1, generator)[0], y)}
    if model.baseline:
        out[f"{key}_regression"] = (model.regress(x, y), y)
    return out


@torch.no_grad()
def figure(model: Conditional, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator | None,
           k: int) -> tuple[str, torch.Tensor, int]:
    """(name, images, per row): ``classes``, one row per class with k samples each; or ``completions``, for k test
    images a row of the observed part (x2 shaded grey), the original, the regression and k - 3 completions."""
    if model.condition == "label":
        y = torch.arange(model.num_classes, device=images.device).repeat_interleave(k)
        x = torch.zeros(len(y), *model.shape, device=images.device)
        return "classes", model.complete(x, y, 1, generator)[0], k
    x, y = images[:k], labels[:k]
    shown = x * model.observed + 0.3 * (1.0 - model.observed)
    cols = [shown, x, model.regress(x, y) if model.baseline else shown]
    cols += list(model.complete(x, y, max(1, k - 3), generator))
    return "completions", torch.stack(cols, 1).flatten(0, 1), len(cols)
