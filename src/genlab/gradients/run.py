"""Run the estimator study on a trained VAE and on the same VAE rebuilt at its initial weights."""

from __future__ import annotations

from pathlib import Path

import torch

from genlab.config import ModelConfig, as_dict, parse_section
from genlab.gradients.config import EstimatorsConfig
from genlab.data.prepare import load_split
from genlab.data.tensors import to_unit
from genlab.device import configure, seed_everything, select_device
from genlab.gradients.plots import plot_variance
from genlab.gradients.study import study
from genlab.io import checked, load_module
from genlab.models.file import fix_for, read_model_file
from genlab.models.vae import VAE, VAEConfig


def run_study(model_path: Path, prepared: Path, cfg: EstimatorsConfig, seed: int, device: str, figure: Path) -> dict:
    """{"init": ..., "trained": ..., settings}: the study at both checkpoints on the first ``cfg.images`` test images."""
    dev = select_device(device)
    configure(dev)
    ck = read_model_file(model_path, "vae")
    with checked(model_path, fix_for(model_path)):
        args = (parse_section(VAEConfig, ck["cfg"], "vae"), parse_section(ModelConfig, ck["model"], "model"),
                tuple(ck["shape"]), ck["num_classes"], ck["steps"])
        seed_everything(seed)
        init = VAE(*args)  # the weights training started from (same seed, same construction)
        trained = load_module(lambda: VAE(*args), ck["weights"])
    init, trained = init.to(dev).eval(), trained.to(dev).eval()
    images = to_unit(load_split(prepared, "test")[0][: cfg.images]).to(dev)
    out: dict = {}
    for phase, vae in (("init", init), ("trained", trained)):
        g = torch.Generator(device=dev).manual_seed(seed + 11)
        out[phase] = study(vae, images, cfg.n, cfg.reps, cfg.pilot, cfg.reference, g)
    plot_variance(out, figure)
    out["settings"] = {**as_dict(cfg), "pool": cfg.reps * max(cfg.n), "vae": ck["cfg"], "model": ck["model"]}
    return out
