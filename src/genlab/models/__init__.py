"""Model registry: adding a model family is one file in this package plus one line here."""

from __future__ import annotations

from dataclasses import dataclass

from genlab.models.aae import AAE, AAEConfig
from genlab.models.ae import AE, AEConfig
from genlab.models.cvae import CVAE, CVAEConfig
from genlab.models.gan import GAN, GANConfig
from genlab.models.pggan import PGGAN, PGGANConfig
from genlab.models.vae import VAE, VAEConfig
from genlab.models.vaegan import VAEGAN, VAEGANConfig


@dataclass(frozen=True)
class ModelEntry:
    config: type  # the model's config dataclass (its params.yaml section)
    build: type  # the GenerativeModel subclass


MODELS: dict[str, ModelEntry] = {
    "vae": ModelEntry(VAEConfig, VAE),
    "gan": ModelEntry(GANConfig, GAN),
    "ae": ModelEntry(AEConfig, AE),
    "aae": ModelEntry(AAEConfig, AAE),
    "vaegan": ModelEntry(VAEGANConfig, VAEGAN),
    "pggan": ModelEntry(PGGANConfig, PGGAN),
    "cvae": ModelEntry(CVAEConfig, CVAE),
}
