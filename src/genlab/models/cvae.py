"""Conditional VAE (Sohn, Lee & Yan 2015, "Learning structured output representation using deep
conditional generative models").

The image is split into an observed part x1 and a part to predict x2, and the model is

    p(x2 | x1) = ∫ p(x2 | x1, z) p(z) dz,     p(z) = N(0, I),

trained by maximising the conditional ELBO (their eq. 4, with the prior p(z) not depending on x1)

    log p(x2 | x1) ≥ E_q(z|x1,x2)[log p(x2 | x1, z)] - KL(q(z | x1, x2) || p(z)).

``cvae.condition`` picks the split: ``label`` (x1 = the class, one-hot; x2 = the whole image: class-
conditional generation) or an observed region of the image (``top-half``, ``left-half``, ...,
``box``: x1 = the pixels inside, x2 = the rest: image completion). Networks are MLPs of width
``model.h`` on flattened pixels, whatever ``model.arch``; the decoder outputs every pixel and the
likelihood counts only x2's, so a completion is x1's pixels plus the decoded mean of the rest.

``cvae.recognition: x1`` is the paper's Gaussian stochastic neural network (GSNN, their eq. 8's
model): q sees only x1, as if x1 and x2 were two views of z, p(x1, x2, z) = p(z) p(x1|z) p(x2|z).
The same bound holds (any q gives a lower bound), but q(z|x1) cannot look at the answer x2, so
training samples z exactly as prediction does (no train/test mismatch between q(z|x1, x2) and
p(z)) at the price of a looser bound: z cannot carry which of several completions is right, and
the predictive is ∫ p(x2 | x1, z) q(z|x1) dz, sampled with z ~ q(z|x1).

``cvae.baseline`` trains alongside it the deterministic network the paper compares with: the
decoder without z, x1 -> x2 by regression (the same log-likelihood). It can only predict one
(blurred) answer per x1; the cVAE's advantage, if it captures several, shows in the conditional
log-likelihood (``ncll``) and the best of k completions, while its one-sample pixel MSE is expected
to be worse than the regression's (which predicts the conditional mean).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from genlab.config import ConfigError, EvalConfig, param
from genlab.metrics.likelihood import importance_log_likelihood
from genlab.models.base import GenerativeModel
from genlab.models.vae import gaussian_kl, log_likelihood, reparameterize
from genlab.nn.stacks import mlp

Condition = Literal["label", "top-half", "bottom-half", "left-half", "right-half", "box"]
BEST_OF = 8  # completions per test image for completion_mse_best_of_8 and completion_diversity


@dataclass(frozen=True)
class CVAEConfig:
    condition: Condition = param(
        "top-half", "x1, what the model is given: label (the class) or the observed region of the image "
                    "(top-half, bottom-half, left-half, right-half, or box = cvae.box); x2 is the rest")
    box: tuple[int, ...] = param((7, 21, 7, 21), "observed rectangle for condition=box: [row0, row1, col0, col1], "
                                                 "pixels, ends excluded")
    recognition: Literal["x1x2", "x1"] = param(
        "x1x2", "what q(z|.) sees: x1x2 (the cVAE) or x1 (the paper's GSNN: no train/test mismatch, looser bound)")
    baseline: bool = param(True, "also train the deterministic baseline: the decoder without z, by regression")
    likelihood: Literal["bernoulli", "gaussian"] = param(
        "bernoulli", "p(x2 | x1, z): bernoulli on pixel intensities, or gaussian with std cvae.sigma")
    sigma: float = param(0.1, "std of the gaussian likelihood", positive=True)
    h: int = param(0, "hidden width of encoder, decoder and baseline (0 = model.h)", min=0)
    z: int = param(0, "latent size (0 = model.z)", min=0)
    steps: int = param(4000, "training steps (0 = train.steps); train.steps still caps it", min=0)

    def check(self, prefix: str) -> None:
        if len(self.box) != 4 or self.box[0] >= self.box[1] or self.box[2] >= self.box[3] or min(self.box) < 0:
            raise ConfigError(f"{prefix}.box: expected [row0, row1, col0, col1] with row0 < row1 and col0 < col1, "
                              f"all >= 0; got {list(self.box)}")


def observed_mask(condition: str, box: tuple[int, ...], shape: tuple[int, int, int]) -> torch.Tensor:
    """1×C×H×W mask of x1's pixels (1 = observed); all zeros for ``label`` (the whole image is x2)."""
    c, h, w = shape
    m = torch.zeros(1, c, h, w)
    if condition == "box":
        r0, r1, c0, c1 = box
        if r1 > h or c1 > w:
            raise ConfigError(f"cvae.box: {list(box)} does not fit {h}×{w} images; keep row1 <= {h}, col1 <= {w}")
        m[..., r0:r1, c0:c1] = 1
    elif condition != "label":
        side = condition.split("-")[0]
        m[..., {"top": slice(0, h // 2), "bottom": slice(h // 2, h)}.get(side, slice(None)),
          {"left": slice(0, w // 2), "right": slice(w // 2, w)}.get(side, slice(None))] = 1
    return m


class CVAE(GenerativeModel):
    """Gaussian q(z | x1, x2) (or q(z | x1)), decoder p(x2 | x1, z), and the optional regression baseline."""

    def __init__(self, cfg: CVAEConfig, model, train, shape, num_classes):
        super().__init__(cfg, model, train, shape, num_classes)
        self.z, self.h = cfg.z or model.z, cfg.h or model.h
        self.register_buffer("observed", observed_mask(cfg.condition, cfg.box, self.shape))
        pixels = self.observed.numel()
        cond = num_classes if cfg.condition == "label" else pixels
        self.encoder = mlp([cond + (pixels if cfg.recognition == "x1x2" else 0), self.h, self.h, 2 * self.z])
        self.decoder = mlp([self.z + cond, self.h, self.h, pixels])
        self.regression = mlp([cond, self.h, self.h, pixels]) if cfg.baseline else None
        self.optimizers = {"cvae": self.adam(self.parameters())}  # one Adam: its update is per parameter
        self.pool: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def missing(self) -> torch.Tensor:
        """Mask of x2's pixels (1 = to predict)."""
        return 1.0 - self.observed

    # ------------------------------------------------------------------------ the model
    def x1(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The condition as a vector: the one-hot label, or the image with x2's pixels zeroed, flattened."""
        if self.cfg.condition == "label":
            return F.one_hot(y, self.num_classes).to(x.dtype)
        return (x * self.observed).flatten(1)

    def encode(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z | x1, x2), or of q(z | x1) for recognition x1."""
        inp = torch.cat([(x * self.missing).flatten(1), c], 1) if self.cfg.recognition == "x1x2" else c
        return self.encoder(inp).chunk(2, dim=1)

    def decode(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Logits / pre-sigmoid means of p(x2 | x1, z) for every pixel (x1's are ignored); z may be K×N×z."""
        c = c.expand(*z.shape[:-1], c.shape[-1])
        return self.decoder(torch.cat([z, c], -1)).unflatten(-1, self.shape)

    def log_lik(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """log p(x2 | x1, z): the likelihood of x2's pixels only."""
        return log_likelihood(x, out, self.cfg.likelihood, self.cfg.sigma, self.missing)

    def elbo_terms(self, x, y, generator=None):
        """(log p(x2 | x1, z), KL(q || p(z))) per image, one reparameterized z each; and the condition."""
        c = self.x1(x, y)
        mu, logvar = self.encode(x, c)
        z = reparameterize(mu, logvar, generator)
        return self.log_lik(x, self.decode(z, c)), gaussian_kl(mu, logvar), c

    def train_step(self, x, y):
        rec, kl, c = self.elbo_terms(x, y)
        loss = -(rec - kl).mean()
        out = {"loss": loss.detach(), "rec": -rec.detach().mean(), "kl": kl.detach().mean()}
        if self.regression is not None:  # disjoint parameters: summing the losses trains both exactly as apart
            nll = -self.log_lik(x, self.regression(c).unflatten(1, self.shape)).mean()
            loss = loss + nll
            out["regression_nll"] = nll.detach()
        self.step("cvae", loss)
        return out

    # ------------------------------------------------------------------------ prediction
    def latent(self, c: torch.Tensor, k: int, generator=None) -> torch.Tensor:
        """k×N×z draws of z for prediction: p(z) = N(0, I), or q(z | x1) for recognition x1."""
        if self.cfg.recognition == "x1":
            mu, logvar = self.encode(None, c)
            return reparameterize(mu.expand(k, *mu.shape), logvar.expand(k, *logvar.shape), generator)
        return torch.randn((k, len(c), self.z), generator=generator, device=c.device)

    def fill(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """The image with x1's pixels from ``x`` (zeros for labels) and the mean of p(x2 | ...) elsewhere."""
        return x * self.observed + torch.sigmoid(out) * self.missing

    @torch.no_grad()
    def complete(self, x: torch.Tensor, y: torch.Tensor, k: int = 1, generator=None) -> torch.Tensor:
        """k completions per image (k×N×C×H×W): x1 kept, x2 drawn from the model's predictive."""
        c = self.x1(x, y)
        return self.fill(x, self.decode(self.latent(c, k, generator), c))

    @torch.no_grad()
    def regress(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The baseline's single, deterministic prediction of each image."""
        return self.fill(x, self.regression(self.x1(x, y)).unflatten(1, self.shape))

    def condition_on(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.pool = (images, labels)

    def draw_conditions(self, n: int, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
        """n conditions: uniform labels, or random images of the pool given by :meth:`condition_on`."""
        if self.cfg.condition == "label":
            y = torch.randint(0, self.num_classes, (n,), generator=generator, device=self.device)
            return torch.zeros(n, *self.shape, device=self.device), y
        if self.pool is None:
            raise RuntimeError("cvae: image completion needs images to complete; call condition_on(images, labels)")
        idx = torch.randint(0, len(self.pool[0]), (n,), generator=generator, device=self.device)
        return self.pool[0][idx], self.pool[1][idx]

    @torch.no_grad()
    def sample(self, n, generator=None):
        x, y = self.draw_conditions(n, generator)
        return self.complete(x, y, 1, generator)[0]

    @torch.no_grad()
    def sample_regression(self, n, generator=None):
        x, y = self.draw_conditions(n, generator)
        return self.regress(x, y)

    def samplers(self):
        out = {"prior": self.sample}
        if self.regression is not None:
            out["regression"] = self.sample_regression
        return out

    def conditioned_on(self) -> str:
        return ("the class label" if self.cfg.condition == "label"
                else f"the {self.cfg.condition} of test images (x1's pixels are real)")

    @torch.no_grad()
    def labelled_samples(self, n: int, generator=None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Generated images with the class they should show, scored by the domain classifier's accuracy:
        ``cond`` (samples for requested labels) or ``completion`` (completed test images: their label)."""
        x, y = self.draw_conditions(n, generator)
        key = "cond" if self.cfg.condition == "label" else "completion"
        out = {key: (self.complete(x, y, 1, generator)[0], y)}
        if self.regression is not None:
            out[f"{key}_regression"] = (self.regress(x, y), y)
        return out

    # ------------------------------------------------------------------------ metrics
    @torch.no_grad()
    def evaluate(self, images, labels, generator, cfg: EvalConfig):
        """On the test split: the conditional ELBO ``cond_elbo`` (one z), pixel MSE of x2 for one completion, the best of 8 and
        the regression; the spread of 8 completions; and, on the first eval.iw_images test images, the negative
        conditional log-likelihood -log p(x2 | x1) by importance sampling with K = eval.iw_samples (nats)."""
        sums: dict[str, float] = {}
        miss = self.missing
        area = float(miss.sum())

        def add(key, value):
            sums[key] = sums.get(key, 0.0) + float(value.sum())

        for x, y in zip(images.split(cfg.batch_size), labels.split(cfg.batch_size)):
            rec, kl, _ = self.elbo_terms(x, y, generator)
            add("cond_elbo", rec - kl)
            draws = self.complete(x, y, BEST_OF, generator)
            err = ((draws - x) ** 2 * miss).flatten(2).sum(2) / area  # k×N
            add("completion_mse", err[0])
            add(f"completion_mse_best_of_{BEST_OF}", err.min(0).values)
            add("completion_diversity", (draws.std(0) * miss).flatten(1).sum(1) / area)
            if self.regression is not None:
                add("completion_mse_regression", ((self.regress(x, y) - x) ** 2 * miss).flatten(1).sum(1) / area)
        out = {k: v / len(images) for k, v in sums.items()}
        n = cfg.iw_subset(self.device.type, len(images))
        out.update(self.ncll(images[:n], labels[:n], cfg.iw_samples, generator, cfg.batch_size))
        out.update({"iw_images": n, "iw_samples": cfg.iw_samples, "condition": self.cfg.condition,
                    "recognition": self.cfg.recognition})
        return out

    @torch.no_grad()
    def ncll(self, images, labels, samples: int, generator, batch_size: int) -> dict[str, float]:
        """-log p(x2 | x1) per image (nats): importance sampling with proposal q(z | x1, x2) and S = ``samples``
        (for recognition x1, plain Monte Carlo over the predictive q(z | x1)); the regression's is exact."""
        total, total_reg = 0.0, 0.0
        for x, y in zip(images.split(max(1, batch_size // 10)), labels.split(max(1, batch_size // 10))):
            c = self.x1(x, y)
            mu, logvar = self.encode(x, c)
            ll = importance_log_likelihood(lambda z: self.log_lik(x, self.decode(z, c)), mu, logvar, samples,
                                           generator, prior=self.cfg.recognition == "x1x2")
            total -= float(ll.sum())
            if self.regression is not None:
                total_reg -= float(self.log_lik(x, self.regression(c).unflatten(1, self.shape)).sum())
        out = {"ncll": total / len(images)}
        if self.regression is not None:
            out["ncll_regression"] = total_reg / len(images)
        return out

    @torch.no_grad()
    def figures(self, images, labels, generator, k: int) -> dict[str, tuple[torch.Tensor, int]]:
        """``classes``: one row per class, k samples each; or ``completions``: for k test images, a row of the
        observed part (x2 shaded grey), the original, the regression and k - 3 cVAE completions."""
        if self.cfg.condition == "label":
            y = torch.arange(self.num_classes, device=self.device).repeat_interleave(k)
            x = torch.zeros(len(y), *self.shape, device=self.device)
            return {"classes": (self.complete(x, y, 1, generator)[0], k)}
        x, y = images[:k], labels[:k]
        shown = x * self.observed + 0.3 * self.missing
        cols = [shown, x, self.regress(x, y) if self.regression is not None else shown]
        cols += list(self.complete(x, y, max(1, k - 3), generator))
        return {"completions": (torch.stack(cols, 1).flatten(0, 1), len(cols))}
