"""Evaluate a trained model by what it can do, never by what it is: its samplers -> FID/IS/KID/PR, coverage and
sharpness; a VAE's test ELBO; nll_iw where there is a pixel likelihood; latent-space numbers for an encoder;
completion numbers for a conditional model; grids."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch

from genlab.metrics.config import EvalConfig
from genlab.data.tensors import to_uint8, to_unit
from genlab.metrics import conditional
from genlab.metrics.domain import DomainClassifier, load_classifier, predict
from genlab.metrics.latent import Encoder, confident_share, interpolate, mmd2, recon_mse, reconstruct
from genlab.metrics.likelihood import ELBO, PixelLikelihood, average_elbo, nll_iw
from genlab.metrics.scoring import INTERP_STEPS, Sampler, Scoring, generate, interp_pairs, score_samples
from genlab.models.base import GenerativeModel
from genlab.viz.grids import interleave_rows, save_grid
from genlab.viz.latent import plot_latent, save_manifold

log = logging.getLogger(__name__)



@runtime_checkable
class ManySamplers(Protocol):
    """A model with several ways to draw images (the AE's fitted Gaussian, Progressive GAN's phase generators)."""

    def samplers(self) -> dict[str, Sampler]:
        """Named samplers; the first is the model's own and gives its main metrics."""


def samplers_of(model: GenerativeModel, images: torch.Tensor, labels: torch.Tensor) -> dict[str, Sampler]:
    """Every sampler of ``model``: a conditional model's complete conditions drawn from the test split."""
    if isinstance(model, conditional.Conditional):
        return conditional.samplers(model, images, labels)
    return model.samplers() if isinstance(model, ManySamplers) else {"prior": model.sample}


def evaluate_model(model: GenerativeModel, test_images: torch.Tensor, test_labels: torch.Tensor,
                   classifier_path: Path, cfg: EvalConfig, seed: int, grid_dir: Path, name: str,
                   num_classes: int) -> dict:
    """All metrics of ``model`` (called ``name`` in figure titles) against the test split, and its figures in the
    folder ``grid_dir``.

    Every sampler of the model is scored (the Inception extractor, when chosen, scores the first only); the
    first gives the top-level metrics and ``samples.png``, each other one a nested dict and
    ``samples_<sampler>.png``. A model with an encoder also gets ``recon.png``, ``interp.png`` and, with a 2-D
    latent, ``latent.png`` and ``manifold.png``; a conditional one ``completions.png`` (or ``classes.png``).
    """
    device, k = model.device, cfg.grid
    clf = load_classifier(classifier_path, device)
    metrics: dict = {}
    test_unit, test_labels = to_unit(test_images.to(device)), test_labels.to(device)
    is_conditional = isinstance(model, conditional.Conditional)
    if is_conditional:
        metrics["conditioned_on"] = conditional.conditioned_on(model)
    scoring = Scoring(test_images, classifier_path, cfg, device)
    for i, (sampler_name, sampler) in enumerate(samplers_of(model, test_unit, test_labels).items()):
        fake = generate(sampler, cfg.n_samples, cfg.batch_size, seed, device)
        scores = score_samples(fake, scoring, clf, num_classes, domain_only=i > 0)
        if i == 0:
            metrics.update(scores)
            save_grid(to_unit(fake[: k * k]), grid_dir / "samples.png", nrow=k)
        else:
            metrics[sampler_name] = scores
            save_grid(to_unit(fake[: k * k]), grid_dir / f"samples_{sampler_name}.png", nrow=k)
    g = torch.Generator(device=device).manual_seed(seed + 1)
    if isinstance(model, ELBO):
        metrics["elbo"] = average_elbo(model, test_unit, g)
    if isinstance(model, Encoder):
        metrics["recon_mse"] = recon_mse(model, test_unit)
    if is_conditional:
        metrics.update(conditional.conditional_metrics(model, test_unit, test_labels, g, cfg))
        g = torch.Generator(device=device).manual_seed(seed + 3)
        for key, (images, wanted) in conditional.labelled_samples(model, test_unit, test_labels, cfg.n_samples,
                                                                  g).items():
            metrics[f"{key}_accuracy"] = float((predict(clf, to_uint8(images)).argmax(1) == wanted.cpu()).float().mean())
        key, images, nrow = conditional.figure(model, test_unit, test_labels, g, k)
        save_grid(images, grid_dir / f"{key}.png", nrow=nrow)
    if isinstance(model, Encoder):
        originals = test_unit[: k * k // 2]
        save_grid(interleave_rows(originals, reconstruct(model, originals), k), grid_dir / "recon.png", nrow=k)
    if isinstance(model, PixelLikelihood):
        n = cfg.iw_subset(device.type, len(test_unit))
        metrics.update(nll_iw(model, test_unit[:n], cfg.iw_samples, torch.Generator(device=device).manual_seed(seed + 4)))
    if isinstance(model, Encoder):
        metrics.update(latent_metrics(model, test_images, test_labels, clf, cfg, seed, grid_dir, name))
    return metrics


@torch.no_grad()
def latent_metrics(model: Encoder, images: torch.Tensor, labels: torch.Tensor, classifier: DomainClassifier,
                   cfg: EvalConfig, seed: int, grid_dir: Path, name: str) -> dict:
    """``latent_prior_gap`` (MMD² between codes of test images and prior draws), ``interp_confident``
    (confident share of the interior points of decoded test-pair paths), and their figures."""
    device = model.device
    g = torch.Generator(device=device).manual_seed(seed + 2)
    n = min(cfg.gap_samples, len(images))
    codes = torch.cat([model.code(to_unit(b.to(device))) for b in images[:n].split(cfg.batch_size)])
    prior = model.prior(n, g)
    out = {"latent_prior_gap": mmd2(codes, prior), "latent_samples": n}
    a, b = interp_pairs(len(images), cfg.interp_pairs, seed)
    paths = torch.cat([interpolate(model, to_unit(images[ia].to(device)), to_unit(images[ib].to(device)), INTERP_STEPS)
                       for ia, ib in zip(a.split(cfg.batch_size // INTERP_STEPS + 1),
                                         b.split(cfg.batch_size // INTERP_STEPS + 1))])
    interior = paths.view(len(a), INTERP_STEPS, *paths.shape[1:])[:, 1:-1].flatten(0, 1)
    out["interp_confident"] = confident_share(predict(classifier, to_uint8(interior)))
    out["interp_pairs"] = len(a)
    save_grid(paths[: cfg.grid * INTERP_STEPS], grid_dir / "interp.png", nrow=INTERP_STEPS)
    if model.z == 2:
        plot_latent(codes.cpu(), labels[:n].cpu(), prior.cpu(), grid_dir / "latent.png", name)
        save_manifold(model, prior, grid_dir / "manifold.png")
    return out
