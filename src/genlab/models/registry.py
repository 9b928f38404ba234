"""The model families by name: a family is a module of this package that defines ``Config`` (its params.yaml
section) and ``Model`` (its :class:`GenerativeModel`). Adding one is a file here and its params section (plus an
entry in ``params.yaml``'s ``models``); nothing is listed, so that a model's code closure holds its own family's
file alone and a new family retrains nothing else.

A model is resolved once into a :class:`ModelSpec` (its entry, family, parsed config and dataset), which the
stages pass down instead of its name.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from pathlib import Path

import torch

from genlab.config import (ConfigError, DataConfig, ModelConfig, Params, TrainConfig, as_dict, load_params, parse_params,
                           parse_section, read_params, shaping_keys)
from genlab.io import checked, load_module
from genlab.models.base import GenerativeModel
from genlab.models.file import fix_for, read_model_file

PACKAGE = Path(__file__).resolve().parent
NOT_FAMILIES = {"__init__", "base", "file", "registry", "autoencoder"}  # the package's shared modules


def family_names() -> tuple[str, ...]:
    """Every family, by its module's name (found on disk: nothing is imported)."""
    return tuple(sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in NOT_FAMILIES))


def family_module(family: str) -> str:
    """The module that defines ``family``."""
    if family not in family_names():
        raise ConfigError(f"family {family[:40]!r} is none of {', '.join(family_names())}")
    return f"{__package__}.{family}"


def _family(family: str):
    return importlib.import_module(family_module(family))


def config_classes(families=None) -> dict[str, type]:
    """Family name -> its config dataclass, for :func:`genlab.config.parse_params`: of ``families`` (names) only when
    given, so that a stage imports the families it builds and no other."""
    return {name: _family(name).Config for name in (family_names() if families is None else families)}


@dataclass(frozen=True)
class ModelSpec:
    """A model of the pipeline, resolved once: its entry's name and family, its parsed config (the family's
    section with the entry's overrides), the data folder it trains on and the model it continues (or None)."""

    name: str
    family: str
    config: object
    dataset: str  # prepared | stacked: the folder under data/
    previous: str | None


def resolve(params: Params, name: str) -> ModelSpec:
    """Model ``name`` of ``params`` (parsed with its family's config class): one ConfigError line when unknown."""
    entry = params.entry(name)
    return ModelSpec(name, entry.family, params.model_config(name), params.dataset(name), entry.previous)


def as_spec(params: Params, model: ModelSpec | str) -> ModelSpec:
    """``model`` itself, or the spec of the model of that name: what the library's entry points take."""
    return model if isinstance(model, ModelSpec) else resolve(params, model)


def load(path: Path = Path("params.yaml"), families=None, sections: dict[str, type] | None = None) -> Params:
    """params.yaml parsed with the config classes of ``families`` (names; None: every family) and the stage's own
    ``sections``; every model's family name is checked."""
    return load_params(path, config_classes(families), family_names(), sections)


def load_for(path: Path, name: str, sections: dict[str, type] | None = None) -> tuple[Params, ModelSpec]:
    """params.yaml parsed with model ``name``'s family alone (and ``sections``), and the model's spec."""
    raw = read_params(path)
    models = raw.get("models") if isinstance(raw, dict) else None
    entry = models.get(name) if isinstance(models, dict) else None
    family = entry.get("family") if isinstance(entry, dict) else None
    p = parse_params(raw, config_classes([family] if family in family_names() else []), family_names(), sections)
    return p, resolve(p, name)


def model_keys(spec: ModelSpec) -> tuple[str, ...]:
    """The keys of the shared ``model`` section that ``spec``'s networks read: its family module's
    ``reads_model(config)`` where it has one, else every key its own config does not set (``h: 0`` reads model.h)."""
    module = _family(spec.family)
    if hasattr(module, "reads_model"):
        return tuple(module.reads_model(spec.config))
    return tuple(f.name for f in dataclasses.fields(ModelConfig) if not getattr(spec.config, f.name, 0))


def chain(params: Params, spec: ModelSpec) -> list[str]:
    """``spec``'s model and the models it continues, back to the one trained from scratch."""
    names, entry = [spec.name], params.entry(spec.name)
    while entry.previous is not None:
        names.append(entry.previous)
        entry = params.entry(entry.previous)
    return names


def reads(params: Params, spec: ModelSpec) -> list[str]:
    """The params keys (dotted; a section stands for all its keys) that ``spec``'s trained weights depend on: the
    seed and device, the data, its family's section and the entries of its chain, the ``model`` keys its networks
    read and every ``train`` key but the run-only ones."""
    return ["seed", "device", *(f"data.{k}" for k in shaping_keys(DataConfig)),
            *(["stacked"] if spec.dataset == "stacked" else []), spec.family,
            *(f"models.{n}" for n in chain(params, spec)), *(f"model.{k}" for k in model_keys(spec)),
            *(f"train.{k}" for k in shaping_keys(TrainConfig))]


def training_params(params: Params, spec: ModelSpec) -> dict:
    """The values of :func:`reads`, parsed (defaults filled in, each entry's overrides applied): what DVC compares
    to decide whether the model retrains."""
    out = {"seed": params.seed, "device": params.device,
           "data": {k: getattr(params.data, k) for k in shaping_keys(DataConfig)},
           "model": {k: getattr(params.model, k) for k in model_keys(spec)},
           "train": {k: getattr(params.train, k) for k in shaping_keys(TrainConfig)},
           "models": {n: {"start": params.entry(n).start, spec.family: as_dict(params.model_config(n))}
                      for n in chain(params, spec)}}
    if spec.dataset == "stacked":
        out["stacked"] = as_dict(params.stacked)
    return out


def build_model(family: str, cfg, model: ModelConfig, shape, num_classes: int, steps: int) -> GenerativeModel:
    return _family(family).Model(cfg, model, tuple(shape), num_classes, steps)


def load_model(path: Path, device: torch.device | str = "cpu", family: str | None = None
               ) -> tuple[GenerativeModel, dict]:
    """Rebuild a trained model from its ``model.pt`` (weights-only load, checked: a damaged file, or one of another
    family than ``family``, is one DataError line) -> (model in eval mode, meta)."""
    ck = read_model_file(path, family)
    with checked(path, fix_for(Path(path))):
        family = ck["family"]
        if family not in family_names():
            raise ValueError(f"its family {family[:40]!r} is none of {', '.join(family_names())}")
        cfg = parse_section(_family(family).Config, ck["cfg"], family)
        model_cfg = parse_section(ModelConfig, ck["model"], "model")
        model = load_module(lambda: build_model(family, cfg, model_cfg, ck["shape"], ck["num_classes"], ck["steps"]),
                            ck["weights"])
    return model.to(device).eval(), ck["meta"]
