"""Conditional VAE (Sohn, Lee & Yan 2015, "Learning structured output representation using deep
conditional generative models").

The image is split into an observed part x1 and a part to predict x2, and the model is

    p(x2 | x1) = ∫ p(x2 | x1, z) p(z) dz,     p(z) = N(0, I),

trained by maximising the conditional ELBO (their eq. 4, with the prior p(z) not depending on x1)

    log p(x2 | x1) ≥ E_q(z|x1,x2)[log p(x2 | x1, z)] - KL(q(z | x1, x2) || p(z)).

``cvae.condition`` picks the split: ``label`` (x1 = the class, one-hot; x2 = the whole image: class-
conditional generation) or an observed region of the image (``top-half``, ``left-half``, ...,
``box``: x1 = the pixels inside, x2 = the rest: image completion). ``quadrants-1``, ``-2``, ``-3`` are the
protocol of Sohn et al.'s Table 1 as Pyro's CVAE tutorial runs it: 1, 2 or 3 of the image's quadrants
observed (the bottom-left; the left half; all but the bottom-right), the rest predicted. Networks are MLPs of width
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
to be worse than the regression's (which predicts the conditional mean). The model has the conditional
capability (:class:`genlab.metrics.conditional.Conditional`), which its evaluation asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from genlab.config import ConfigError, param
from genlab.models.base import GenerativeModel, Loss, Phase
from genlab.nn.gaussian import gaussian_kl, reparameterize
from genlab.nn.likelihood import importance_log_likelihood
from genlab.nn.observation import log_likelihood
from genlab.nn.stacks import mlp

Condition = Literal["label", "top-half", "bottom-half", "left-half", "right-half", "box", "quadrants-1",
                    "quadrants-2", "quadrants-3"]


@dataclass(frozen=True)
class CVAEConfig:
    condition: Condition = param(
        "quadrants-2", "x1, what the model is given: label (the class) or the observed region of the image "
                       "(top-half, bottom-half, left-half, right-half, box = cvae.box, or quadrants-1/2/3: the "
                       "bottom-left quadrant, the left half, all but the bottom-right one); x2 is the rest")
    box: tuple[int, ...] = param((7, 21, 7, 21), "observed rectangle for condition=box: [row0, row1, col0, col1], "
                                                 "pixels, ends excluded")
    recognition: Literal["x1x2", "x1"] = param(
        "x1x2", "what q(z|.) sees: x1x2 (the cVAE) or x1 (the paper's GSNN: no train/test mismatch, looser bound)")
    baseline: bool = param(True, "also train the deterministic baseline: the decoder without z, by regression")
    likelihood: Literal["bernoulli", "gaussian"] = param(
        "bernoulli", "p(x2 | x1, z): bernoulli on pixel intensities, or gaussian with std cvae.sigma")
    sigma: float = param(0.1, "std of the gaussian likelihood", positive=True)
    h: int = param(512, "hidden width of encoder, decoder and baseline (0 = model.h)", min=0)
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
    elif condition.startswith("quadrants-"):  # Pyro's MaskImages: the bottom-left, + the top-left, + the top-right
        m[..., h // 2:, : w // 2] = 1
        if condition != "quadrants-1":
            m[..., : h // 2, : w // 2] = 1
        if condition == "quadrants-3":
            m[..., : h // 2, w // 2:] = 1
    elif condition != "label":
        side = condition.split("-")[0]
        m[..., {"top": slice(0, h // 2), "bottom": slice(h // 2, h)}.get(side, slice(None)),
          {"left": slice(0, w // 2), "right": slice(w // 2, w)}.get(side, slice(None))] = 1
    return m


class CVAE(GenerativeModel):
    """Gaussian q(z | x1, x2) (or q(z | x1)), decoder p(x2 | x1, z), and the optional regression baseline."""

    def __init__(self, cfg: CVAEConfig, model, shape, num_classes, steps):
        super().__init__(cfg, model, shape, num_classes, steps)
        self.z, self.h = cfg.z or model.z, cfg.h or model.h
        self.condition, self.baseline = cfg.condition, cfg.baseline
        self.register_buffer("observed", observed_mask(cfg.condition, cfg.box, self.shape))
        pixels = self.observed.numel()
        cond = num_classes if cfg.condition == "label" else pixels
        self.encoder = mlp([cond + (pixels if cfg.recognition == "x1x2" else 0), self.h, self.h, 2 * self.z])
        self.decoder = mlp([self.z + cond, self.h, self.h, pixels])
        self.regression = mlp([cond, self.h, self.h, pixels]) if cfg.baseline else None
        # one Adam: its update is per parameter, so the two models train exactly as apart
        self.phases = (Phase("cvae", ("encoder", "decoder") + (("regression",) if cfg.baseline else ())),)

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

    def conditional_elbo_terms(self, x, y, generator=None):
        """(log p(x2 | x1, z), KL(q || p(z))) per image, one reparameterized z each; and the condition."""
        c = self.x1(x, y)
        mu, logvar = self.encode(x, c)
        z = reparameterize(mu, logvar, generator)
        return self.log_lik(x, self.decode(z, c)), gaussian_kl(mu, logvar), c

    def loss(self, phase, x, y):
        rec, kl, c = self.conditional_elbo_terms(x, y)
        loss = -(rec - kl).mean()
        logs = {"loss": loss.detach(), "rec": -rec.detach().mean(), "kl": kl.detach().mean()}
        if self.regression is not None:  # disjoint parameters: summing the losses trains both exactly as apart
            nll = -self.log_lik(x, self.regression(c).unflatten(1, self.shape)).mean()
            loss = loss + nll
            logs["regression_nll"] = nll.detach()
        return Loss(loss, logs)

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
    def regress(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        """The baseline's single, deterministic prediction of each image (None without a baseline)."""
        if self.regression is None:
            return None
        return self.fill(x, self.regression(self.x1(x, y)).unflatten(1, self.shape))

    @torch.no_grad()
    def sample(self, n, generator=None):
        """Class-conditional samples for uniform labels (an image completion needs images: see
        :mod:`genlab.metrics.conditional`)."""
        if self.cfg.condition != "label":
            raise RuntimeError("cvae: an image completion needs images to complete; use complete(x, y)")
        y = torch.randint(0, self.num_classes, (n,), generator=generator, device=self.device)
        return self.complete(torch.zeros(n, *self.shape, device=self.device), y, 1, generator)[0]

    def describe(self) -> dict[str, str]:
        return {"condition": self.cfg.condition, "recognition": self.cfg.recognition}

    @torch.no_grad()
    def log_conditional_likelihood(self, x, y, samples: int, generator=None) -> torch.Tensor:
        """log p(x2 | x1) per image: importance sampling with proposal q(z | x1, x2) and S = ``samples`` (for
        recognition x1, plain Monte Carlo over the predictive q(z | x1))."""
        c = self.x1(x, y)
        mu, logvar = self.encode(x, c)
        return importance_log_likelihood(lambda z: self.log_lik(x, self.decode(z, c)), mu, logvar, samples,
                                         generator, prior=self.cfg.recognition == "x1x2")

    @torch.no_grad()
    def regression_log_likelihood(self, x, y) -> torch.Tensor | None:
        """The baseline's exact log p(x2 | x1) per image (None without a baseline)."""
        if self.regression is None:
            return None
        return self.log_lik(x, self.regression(self.x1(x, y)).unflatten(1, self.shape))


# what genlab.models.registry looks up by the family name
Config, Model = CVAEConfig, CVAE


def reads_model(cfg: CVAEConfig) -> tuple[str, ...]:
    """The shared ``model`` keys this family reads: h and z where its own are 0 (its MLPs ignore arch)."""
    return tuple(k for k in ("h", "z") if not getattr(cfg, k))
