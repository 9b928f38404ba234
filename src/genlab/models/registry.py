"""The model families by name: adding one is a file in this package, one line here and its params section
(plus an entry in ``params.yaml``'s ``models``, for the pipeline to train and evaluate it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from genlab.config import ModelConfig, parse_section
from genlab.io import checked, load_module
from genlab.models.aae import AAE, AAEConfig
from genlab.models.ae import AE, AEConfig
from genlab.models.base import GenerativeModel
from genlab.models.cvae import CVAE, CVAEConfig
from genlab.models.file import fix_for, read_model_file
from genlab.models.gan import GAN, GANConfig
from genlab.models.pggan import PGGAN, PGGANConfig
from genlab.models.vae import VAE, VAEConfig
from genlab.models.vaegan import VAEGAN, VAEGANConfig


@dataclass(frozen=True)
class Family:
    config: type  # the config dataclass: the family's params.yaml section
    build: type  # the GenerativeModel subclass


FAMILIES: dict[str, Family] = {
    "vae": Family(VAEConfig, VAE),
    "gan": Family(GANConfig, GAN),
    "ae": Family(AEConfig, AE),
    "aae": Family(AAEConfig, AAE),
    "vaegan": Family(VAEGANConfig, VAEGAN),
    "pggan": Family(PGGANConfig, PGGAN),
    "cvae": Family(CVAEConfig, CVAE),
}


def config_classes() -> dict[str, type]:
    """Family name -> its config dataclass, for :func:`genlab.config.parse_params`."""
    return {name: f.config for name, f in FAMILIES.items()}


def build_model(family: str, cfg, model: ModelConfig, shape, num_classes: int, steps: int) -> GenerativeModel:
    return FAMILIES[family].build(cfg, model, tuple(shape), num_classes, steps)


def load_model(path: Path, device: torch.device | str = "cpu", family: str | None = None
               ) -> tuple[GenerativeModel, dict]:
    """Rebuild a trained model from its ``model.pt`` (weights-only load, checked: a damaged file, or one of another
    family than ``family``, is one DataError line) -> (model in eval mode, meta)."""
    ck = read_model_file(path, family)
    with checked(path, fix_for(Path(path))):
        family = ck["family"]
        if family not in FAMILIES:
            raise ValueError(f"its family {family[:40]!r} is none of {', '.join(FAMILIES)}")
        cfg = parse_section(FAMILIES[family].config, ck["cfg"], family)
        model_cfg = parse_section(ModelConfig, ck["model"], "model")
        model = load_module(lambda: build_model(family, cfg, model_cfg, ck["shape"], ck["num_classes"], ck["steps"]),
                            ck["weights"])
    return model.to(device).eval(), ck["meta"]
