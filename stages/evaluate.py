"""``evaluate MODEL``: sample, score against the test split, write metrics/MODEL.json and grids."""

import json
from pathlib import Path

import typer

from genlab.config import describe
from genlab.metrics.config import EvalConfig
from genlab.models.registry import family_names, load_for
from stages.common import CLASSIFIER, EVAL, GRIDS, MODELS_DIR, PREPARED, ParamsOption, log, stage

HELP = f"""Evaluate a trained MODEL (an entry of params.yaml's models, of a family {" | ".join(family_names())}):
eval.n_samples samples scored against the test split with the domain classifier (torch-fidelity): fid, is, kid, precision, recall, class coverage,
sharpness; with eval.extractor both or inception also fid_inception, kid_inception, precision_inception,
recall_inception (and is_inception when the weights have a classifier) for the main sampler; plus the
model's own metrics, by what it can do (an ELBO: test elbo; a pixel likelihood: nll_iw, the importance-weighted
bound; an encoder: recon_mse, latent_prior_gap, interp_confident; a conditional model: cond_elbo, ncll, completion
MSEs and spread, and the classifier's accuracy on its conditional samples). A model with several samplers (AE:
N(0, I) and a fitted Gaussian; cVAE: its completions and the regression baseline's) is scored once per sampler;
a growing model's phase below the data's resolution samples at its own level, upsampled. A model trained on
stacked MNIST gets its mode coverage instead (stacked_modes of 1,000 and stacked_kl over eval.mode_samples
samples, each channel read by the domain classifier). Writes {EVAL}/MODEL.json and
the figures in {GRIDS}/MODEL/: samples.png (samples_SAMPLER.png for the others) and, for models with an encoder,
recon.png, interp.png (and latent.png, manifold.png with a 2-D latent); completions.png (or classes.png) for a
conditional model.

Params read: seed, device, and

{describe(EvalConfig, "eval")}"""


@stage
def run(model: str = typer.Argument(..., help="model to evaluate: an entry of params.yaml's models"),
        params: Path = ParamsOption) -> None:
    p, spec = load_for(params, model, {"eval": EvalConfig})
    # Heavy imports only once the params are valid: a bad param fails fast.
    from genlab.data.prepare import load_split, read_manifest
    from genlab.errors import DataError
    from genlab.io import write_json
    from genlab.metrics.evaluate import evaluate_model
    from genlab.metrics.scoring import check_extractors, check_memory
    from genlab.metrics.stacked import evaluate_stacked
    from genlab.models.registry import family_module, load_model, reads
    from genlab.metrics.setup import evaluation_code, evaluation_setup
    from genlab.device import configure, select_device

    path = MODELS_DIR / model / "model.pt"
    if not path.is_file():
        raise DataError(f"{path}: not found; train it first (dvc repro train@{model})")
    device = select_device(p.device)
    configure(device)
    check_extractors(p.eval, device)  # a missing Inception file fails here, before any data is read
    net, meta = load_model(path, device, spec.family)
    manifest = read_manifest(PREPARED)
    if meta.get("dataset", "").startswith("stacked-"):  # three digits per image: its modes are counted
        metrics = evaluate_stacked(net.sample, CLASSIFIER, p.eval, p.seed, device, GRIDS / model)
    else:
        check_memory(p.eval, p.eval.n_samples, net.shape, manifest["splits"]["test"]["shape"][0], device)
        images, labels = load_split(PREPARED, "test")
        metrics = evaluate_model(net, images, labels, CLASSIFIER, p.eval, p.seed, GRIDS / model, model,
                                 manifest["num_classes"])
    metrics.update({k: meta[k] for k in ("family", "dataset", "steps", "images_seen", "width", "z", "train_seconds",
                                          "parameters", "grows", "phases") if k in meta})
    metrics["seed"] = p.seed
    # which code and setup the numbers come from: the claims pool only runs whose code and setup agree
    metrics["code"] = evaluation_code(family_module(spec.family), stacked=spec.dataset == "stacked")
    metrics["reads"] = [*reads(p, spec), "eval"]  # the params its numbers depend on: runs pool by these alone
    metrics["setup"] = evaluation_setup(meta, CLASSIFIER, p.eval, device, manifest["splits"]["test"]["shape"][0])
    write_json(EVAL / f"{model}.json", metrics)
    log.info("%s: %s", model, json.dumps({k: v for k, v in metrics.items() if isinstance(v, float)}))
