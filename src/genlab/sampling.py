"""A trained model as a Python object: ``genlab.load("data/models/gan")``, then ``sample``, and ``encode``,
``decode`` and ``interpolate`` where the model has an encoder (:class:`genlab.metrics.latent.Encoder`).

Samples are drawn the way ``evaluate`` draws them (:func:`genlab.metrics.scoring.generate` over
:func:`genlab.metrics.evaluate.samplers_of`): a model with several samplers offers each by name, and a conditional
model (:class:`genlab.metrics.conditional.Conditional`) samples completions of test images (or of uniform labels),
which it reads from the prepared test split.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import torch

from genlab.config import ConfigError
from genlab.data.prepare import load_split
from genlab.data.tensors import to_unit
from genlab.device import select_device
from genlab.errors import DataError
from genlab.metrics import latent
from genlab.metrics.conditional import Conditional
from genlab.metrics.evaluate import samplers_of
from genlab.metrics.scoring import generate
from genlab.models.registry import load_model

BATCH = 500  # samples drawn per batch (eval.batch_size's default)


def model_file(model: str | Path) -> Path:
    """``model.pt`` of a model given by its name (``data/models/<name>``), its folder or its file."""
    path = Path(model)
    if path.suffix != ".pt":
        path = (path if path.is_dir() or path.parent != Path(".") else Path("data/models") / path) / "model.pt"
    if not path.is_file():
        raise DataError(f"{path}: not found; train the model (dvc repro train@<model>) or fetch it (dvc pull)")
    return path


def load(model: str | Path, device: str = "auto", prepared: str | Path = "data/prepared") -> "Trained":
    """The trained model in ``model`` (a name, ``data/models/<name>`` or its ``model.pt``), in eval mode on
    ``device`` (``auto``: CUDA when present); ``prepared`` is the data folder a conditional model takes its test
    conditions from."""
    net, meta = load_model(model_file(model), select_device(device))
    return Trained(net, meta, Path(prepared))


class Trained:
    """A loaded model: ``sample`` always; ``encode``, ``decode``, ``interpolate`` with an encoder. Images are float
    N×C×H×W in [0, 1] on the CPU (uint8 inputs are accepted too)."""

    def __init__(self, model: torch.nn.Module, meta: dict, prepared: Path):
        self.model, self.meta, self.prepared = model, meta, prepared
        self.name = meta["model"]

    @property
    def has_encoder(self) -> bool:
        return isinstance(self.model, latent.Encoder)

    @property
    def conditional(self) -> bool:
        return isinstance(self.model, Conditional)

    @cached_property
    def samplers(self) -> dict:
        """The model's samplers by name, its own first (``prior``)."""
        if not self.conditional:
            return samplers_of(self.model, torch.empty(0), torch.empty(0))
        images, labels = load_split(self.prepared, "test")
        return samplers_of(self.model, to_unit(images.to(self.model.device)), labels.to(self.model.device))

    @torch.no_grad()
    def sample(self, n: int = 64, seed: int = 0, sampler: str = "prior") -> torch.Tensor:
        """``n`` samples drawn from ``seed`` by ``sampler`` (one of :attr:`samplers`)."""
        if sampler not in self.samplers:
            raise ConfigError(f"sampler {sampler!r}: {self.name} has {', '.join(self.samplers)}")
        return to_unit(generate(self.samplers[sampler], n, BATCH, seed, self.model.device))

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """The codes of ``images`` (the posterior mean for a VAE): N×z."""
        return self._encoder("encode").code(self._unit(images)).cpu()

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The mean of p(x | z) of codes ``z`` (N×z)."""
        return self._encoder("decode").decode_mean(z.to(self.model.device)).clamp(0, 1).cpu()

    @torch.no_grad()
    def interpolate(self, a: torch.Tensor, b: torch.Tensor, steps: int = 10) -> torch.Tensor:
        """Decoded straight latent paths from each image of ``a`` to the same one of ``b``: (N·steps)×C×H×W, each
        path contiguous, t = 0 and 1 the reconstructions."""
        model = self._encoder("interpolate")
        return latent.interpolate(model, self._unit(a), self._unit(b), steps).clamp(0, 1).cpu()

    def _encoder(self, what: str) -> latent.Encoder:
        if not self.has_encoder:
            raise ConfigError(f"{what}: {self.name} has no encoder (genlab.metrics.latent.Encoder); use a model with "
                              "one, such as vae, ae, aae or vaegan")
        return self.model

    def _unit(self, images: torch.Tensor) -> torch.Tensor:
        x = to_unit(images) if images.dtype == torch.uint8 else images.float()
        return x.to(self.model.device)
