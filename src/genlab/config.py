"""Typed, validated configuration parsed once from ``params.yaml``.

Every section of ``params.yaml`` maps onto a dataclass below (a model family's section onto the config
class in its file, see :mod:`genlab.models.registry`). Parsing checks unknown keys, types and value ranges and raises
:class:`ConfigError` with a one-line message naming the key and what is allowed, before any data
is touched.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal

import yaml


class ConfigError(ValueError):
    """A parameter is unknown, of the wrong type or impossible; the message names key and fix."""


def param(default: Any, help: str, *, min: float | None = None, max: float | None = None,
          positive: bool = False, pow2: bool = False, switch: bool = False, run_only: bool = False) -> Any:
    """A dataclass field with a help text and range checks used by :func:`parse_section`; ``switch`` marks a
    technique of the paper that an ablation turns off (see :mod:`genlab.ablation`); ``run_only`` a knob that changes
    how a run goes but not what it computes (a cadence, a rendezvous): no result depends on it."""
    meta = {"help": help, "min": min, "max": max, "positive": positive, "pow2": pow2, "switch": switch,
            "run_only": run_only}
    return field(default=default, metadata=meta)


def shaping_keys(cls: type) -> tuple[str, ...]:
    """The fields of config dataclass ``cls`` that results depend on: all but the ``run_only`` ones."""
    return tuple(f.name for f in dataclasses.fields(cls) if not f.metadata.get("run_only"))


def switches(cls: type) -> tuple[str, ...]:
    """The fields of config dataclass ``cls`` marked as ablation switches."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("switch"))


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is tuple:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    if typing.get_origin(tp) is Literal:
        return " | ".join(str(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp))


def _check_value(key: str, tp: Any, value: Any, meta: dict) -> Any:
    """Check one value against its annotated type and range metadata; return it normalised."""
    origin = typing.get_origin(tp)
    if origin is tuple:  # tuple[T, ...]: a non-empty YAML list, each item checked as T
        if not isinstance(value, (list, tuple)) or not value:
            raise ConfigError(f"{key}: expected a non-empty list like [64, 32], got {value!r}")
        item = typing.get_args(tp)[0]
        return tuple(_check_value(f"{key}[{i}]", item, v, meta) for i, v in enumerate(value))
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{key}: {value!r} is not allowed; choose one of {', '.join(map(str, allowed))}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r} ({type(value).__name__})")
    elif tp is float:
        if isinstance(value, str):
            hint = " (YAML reads 1e-3 as text: write 1.0e-3 or 0.001)" if _looks_numeric(value) else ""
            raise ConfigError(f"{key}: expected a number, got the string {value!r}{hint}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r} ({type(value).__name__})")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{key}: expected a finite number, got {value!r}")
    elif tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r} ({type(value).__name__})")
        return value
    if meta.get("positive") and value <= 0:
        raise ConfigError(f"{key}: must be > 0, got {value!r}")
    if meta.get("min") is not None and value < meta["min"]:
        raise ConfigError(f"{key}: must be >= {meta['min']}, got {value!r}")
    if meta.get("max") is not None and value > meta["max"]:
        raise ConfigError(f"{key}: must be <= {meta['max']}, got {value!r}")
    if meta.get("pow2") and (value < 1 or value & (value - 1)):
        raise ConfigError(f"{key}: must be a power of two (4, 8, 16, ...), got {value!r}")
    return value


def _key(name: str) -> str:
    """An unknown key as it can be shown on one line: as written when plain, else quoted with escapes."""
    return name if name.isprintable() and name.strip() == name and name else repr(name)


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def parse_section(cls: type, data: Any, prefix: str):
    """Build dataclass ``cls`` from the mapping ``data``; unknown keys and bad values raise ConfigError."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix}: expected a mapping of keys, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(map(str, data)) - set(fields))
    if unknown:
        raise ConfigError(f"{prefix}.{_key(unknown[0])}: unknown key; allowed keys are {', '.join(fields)}")
    values = {}
    for name, f in fields.items():
        if name in data:
            values[name] = _check_value(f"{prefix}.{name}", hints[name], data[name], dict(f.metadata))
    obj = cls(**values)
    check = getattr(obj, "check", None)
    if check is not None:
        check(prefix)
    return obj


def describe(cls: type, prefix: str) -> str:
    """One line per key of a config section, for ``--help`` texts."""
    hints = typing.get_type_hints(cls)
    lines = []
    for f in dataclasses.fields(cls):
        lines.append(f"{prefix}.{f.name} ({_type_name(hints[f.name])}, default {f.default!r}): {f.metadata.get('help', '')}")
    return "\n\n".join(lines)


# ----------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class DataConfig:
    name: Literal["mnist", "fashion-mnist", "cifar10", "folder", "stacked-mnist"] = param(
        "mnist", "dataset source; folder reads images from data.folder; stacked-mnist: three MNIST digits as the "
                 "channels (1,000 modes)")
    root: str = param("data/raw", "where raw files are looked for and downloads go", run_only=True)
    folder: str = param("", "image folder for data.name=folder (class = sub-folder name, if any)")
    resolution: int = param(28, "image side in pixels; images are resized to it when they differ", positive=True)
    limit: int = param(0, "cap on training images (0 = all)", min=0)
    test_fraction: float = param(0.1, "share of a folder dataset held out as the test split", min=0.0, max=0.5)
    binarize: bool = param(False, "binarize pixels once, stochastically (255 with probability value/255, fixed "
                                  "seed): the binarized MNIST of the likelihood literature")

    def check(self, prefix: str) -> None:
        if self.name == "folder" and not self.folder:
            raise ConfigError(f"{prefix}.folder: required when {prefix}.name is folder; set it to an image folder")


@dataclass(frozen=True)
class StackedConfig:
    size: int = param(60000, "training images of stacked MNIST (data/stacked, built by the stack stage from the "
                             "prepared digits; or the main dataset with data.name: stacked-mnist); its test split "
                             "stacks the test digits, as many as they are", positive=True)


@dataclass(frozen=True)
class ModelConfig:
    arch: Literal["mlp", "conv"] = param("mlp", "network family shared by every model")
    h: int = param(768, "hidden width: MLP units, or base channels of conv nets", positive=True)
    z: int = param(8, "latent size", positive=True)


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = param(128, "images per optimizer step, over all processes (global: each of the train.nnodes x "
                            "train.nproc processes takes its share)", positive=True)
    lr: float = param(1.0e-3, "Adam learning rate", positive=True)
    beta1: float = param(0.9, "Adam beta1", min=0.0, max=1.0)
    beta2: float = param(0.999, "Adam beta2", min=0.0, max=1.0)
    steps: int = param(8000, "optimizer steps; a small value turns any model into a smoke run", positive=True)
    lr_schedule: Literal["constant", "cosine"] = param(
        "constant", "learning rate over the run: constant, or cosine decay to 0 at train.steps")
    log_every: int = param(100, "steps between logged (dvclive) points", positive=True, run_only=True)
    checkpoint_every: int = param(500, "steps between resumable checkpoints", positive=True, run_only=True)
    precision: Literal["auto", "bf16", "fp32"] = param(
        "auto", "training arithmetic: bf16 autocast or fp32; auto = bf16 on CUDA, fp32 on the CPU")
    compile: bool = param(False, "torch.compile every network (first steps slower while it compiles; see README)",
                          run_only=True)
    channels_last: bool = param(False, "NHWC memory format for the conv layers (see README for when it helps)",
                                run_only=True)
    nproc: int = param(1, "data-parallel training processes per machine (torchrun; NCCL on CUDA with one GPU "
                       "each, Gloo on the CPU); results differ from 1 process only by the noise each draws", positive=True)
    nnodes: int = param(1, "machines training together, train.nproc processes each: start `genlab train MODEL` (or "
                        "dvc repro) on every one with the same params; they meet at train.rdzv_endpoint", positive=True)
    rdzv_endpoint: str = param("", "host:port of the c10d rendezvous for train.nnodes > 1: an address of one node that "
                               "every node reaches (that node hosts it); required then", run_only=True)
    rdzv_id: str = param("genlab", "rendezvous run id, to which -MODEL is appended: the same on every node of one "
                         "run, another for a second run on the same endpoint", run_only=True)
    rdzv_timeout: int = param(600, "seconds a node waits for the other nodes to join the run", positive=True,
                              run_only=True)
    dist_timeout: int = param(300, "seconds a process waits for the others in a collective (all-reduce) before it "
                              "stops with an error: a lost node ends the run instead of hanging it", positive=True,
                              run_only=True)
    max_grad_norm: float = param(0.0, "clip each optimizer's gradient to this global 2-norm (0 = off)", min=0.0)
    on_nonfinite: Literal["error", "skip"] = param(
        "error", "a NaN/inf loss or gradient is never applied; error: stop at the next log point naming the model, "
        "step and loss term (the last checkpoint is kept); skip: count it in train.json and go on")

    def check(self, prefix: str) -> None:
        if self.nnodes > 1 or self.rdzv_endpoint:
            host, _, port = self.rdzv_endpoint.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ConfigError(f"{prefix}.rdzv_endpoint: {self.rdzv_endpoint!r} is not host:port; with "
                                  f"{prefix}.nnodes > 1 set it to one node's address and a free port, e.g. node0:29400")


_DEVICE_HELP = "auto (cuda when present, else cpu) | cpu | cuda | cuda:N"


@dataclass(frozen=True)
class ModelEntry:
    """One model of the pipeline (``train@<name>``, ``evaluate@<name>``): a family, what its training starts from,
    and overrides of the family's section for this model alone."""

    name: str
    family: str
    start: str  # a dataset folder of data/ (from scratch): prepared | stacked; or models/<entry>: its run, continued
    overrides: dict[str, Any]

    @property
    def previous(self) -> str | None:
        """The entry whose trained state this one continues (a growing family's phase before), or None."""
        return self.start.removeprefix("models/") if self.start.startswith("models/") else None


@dataclass(frozen=True)
class Params:
    seed: int
    device: str
    models: dict[str, ModelEntry]  # the pipeline's models, in order
    data: DataConfig
    stacked: StackedConfig
    model: ModelConfig
    train: TrainConfig
    families: dict[str, Any]  # model name -> its parsed config: the family's section with the entry's overrides, for
    #                           the models of the families parsed (see parse_params)
    sections: dict[str, Any] = field(default_factory=dict)  # the stage's own sections (eval, theory, ...), parsed

    def __getattr__(self, name: str) -> Any:
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        if name in OWN_SECTIONS:
            raise ConfigError(f"section {name!r} was not parsed (load_params needs its class)")
        raise AttributeError(name)

    def with_section(self, name: str, cfg: Any) -> "Params":
        """These params with section ``name`` replaced by ``cfg``."""
        return dataclasses.replace(self, sections={**self.sections, name: cfg})

    def entry(self, name: str) -> ModelEntry:
        if name not in self.models:
            raise ConfigError(f"model {name!r} is not in params' models; choose one of {', '.join(self.models)} "
                              "(or add it to models)")
        return self.models[name]

    def dataset(self, name: str) -> str:
        """The data folder (under data/) model ``name`` trains on: its start's, for a model that continues another."""
        entry = self.entry(name)
        while entry.previous is not None:
            entry = self.models[entry.previous]
        return entry.start

    def model_config(self, name: str):
        """The config of model ``name``: its family's section with its entry's overrides."""
        self.entry(name)
        if name not in self.families:
            raise ConfigError(f"model {name!r}: its section was not parsed (parse_params needs its family's class)")
        return self.families[name]


# What every stage reads; a stage's own sections (OWN_SECTIONS) are parsed by the stages that read them, from
# classes defined beside their code (genlab.metrics.config, genlab.theory.config, genlab.gradients.config), so that
# editing one retrains nothing.
FIXED_SECTIONS = {"data": DataConfig, "stacked": StackedConfig, "model": ModelConfig, "train": TrainConfig}
OWN_SECTIONS = ("classifier", "eval", "theory", "modes", "estimators")


def _check_device(value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"device: expected a string ({_DEVICE_HELP}), got {value!r}")
    if value in ("auto", "cpu", "cuda", "mps") or (value.startswith("cuda:") and value[5:].isdigit()):
        return value
    raise ConfigError(f"device: {value!r} is not allowed; use {_DEVICE_HELP}")


_ENTRY_EXAMPLE = "e.g. models: {vae: {family: vae, start: prepared}}"
DATASETS = ("prepared", "stacked")  # the data folders a model can start from: data/prepared, data/stacked


def _check_models(value: Any, known: Iterable[str] | None) -> dict[str, ModelEntry]:
    """The ``models`` mapping: name -> {family, start, overrides...}; each start is ``prepared`` or another entry of
    the same family (no cycle); the family is one of ``known``, when given."""
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"models: expected a mapping of model names to {{family, start}}, {_ENTRY_EXAMPLE}; "
                          f"got {value!r}")
    known = None if known is None else tuple(known)
    entries = {}
    for name, spec in value.items():
        key = f"models.{_key(str(name))}"
        if not isinstance(name, str) or not name.replace("-", "_").isidentifier():
            raise ConfigError(f"{key}: a model name is letters, digits, _ and - (like pggan-8)")
        if not isinstance(spec, dict) or not isinstance(spec.get("family"), str) or not isinstance(spec.get("start"), str):
            raise ConfigError(f"{key}: expected a mapping with family and start, {_ENTRY_EXAMPLE}; got {spec!r}")
        if known is not None and spec["family"] not in known:
            raise ConfigError(f"{key}.family: {spec['family']!r} is not a model family; choose from {', '.join(known)}")
        entries[name] = ModelEntry(name, spec["family"], spec["start"],
                                   {k: v for k, v in spec.items() if k not in ("family", "start")})
    for entry in entries.values():
        prev = entry.previous
        if entry.start not in DATASETS and (prev is None or prev not in entries):
            raise ConfigError(f"models.{entry.name}.start: {entry.start!r} is neither a dataset ({', '.join(DATASETS)}) "
                              f"nor models/<a model of models>; choose one of {', '.join(DATASETS)}, "
                              f"{', '.join('models/' + n for n in entries)}")
        if prev is not None and entries[prev].family != entry.family:
            raise ConfigError(f"models.{entry.name}.start: {prev} is a {entries[prev].family}, not a {entry.family}; "
                              "a model continues one of its own family")
        seen, node = {entry.name}, entries.get(prev) if prev else None
        while node is not None:
            if node.name in seen:
                raise ConfigError(f"models.{entry.name}.start: the chain of starts returns to {node.name}; break it")
            seen.add(node.name)
            node = entries.get(node.previous) if node.previous else None
    return entries


def _entry_config(cls: type, section: Any, entry: ModelEntry):
    """The family's section with the entry's overrides (each checked and named as models.<name>.<key>)."""
    base = parse_section(cls, section, entry.family)
    if not entry.overrides:
        return base
    fields = {f.name: f for f in dataclasses.fields(cls)}
    prefix = f"models.{entry.name}"
    unknown = sorted(set(map(str, entry.overrides)) - set(fields))
    if unknown:
        raise ConfigError(f"{prefix}.{_key(unknown[0])}: unknown key; allowed are family, start and the "
                          f"{entry.family} keys {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    changes = {k: _check_value(f"{prefix}.{k}", hints[k], v, dict(fields[k].metadata)) for k, v in entry.overrides.items()}
    cfg = dataclasses.replace(base, **changes)
    check = getattr(cfg, "check", None)
    if check is not None:
        check(prefix)
    return cfg


def parse_params(raw: Any, families: dict[str, type] | None = None, known: Iterable[str] | None = None,
                 sections: dict[str, type] | None = None) -> Params:
    """Parse the mapping read from params.yaml into :class:`Params`.

    ``families`` (family name -> config dataclass, from :mod:`genlab.models.registry`) parses the configs of the
    models of those families (their family's section with their overrides); ``known``: every family's name, to
    check the models' (default: those of ``families``, when given). ``sections`` (name -> dataclass) parses a stage's
    own sections (:data:`OWN_SECTIONS`). A stage parses what it reads, so that its code (and its digest) holds no
    other family's or stage's config."""
    if not isinstance(raw, dict):
        raise ConfigError("params.yaml: expected a mapping of sections (seed, device, models, data, model, ...)")
    if "models" not in raw:
        raise ConfigError(f"models: missing; list the models the pipeline trains, {_ENTRY_EXAMPLE}")
    models = _check_models(raw["models"], known if known is not None else (list(families) if families else None))
    used = list(dict.fromkeys(e.family for e in models.values()))
    allowed = ["seed", "device", "models", *FIXED_SECTIONS, *OWN_SECTIONS, *used]
    unknown = sorted(set(map(str, raw)) - set(allowed))
    if unknown:
        raise ConfigError(f"{_key(unknown[0])}: unknown section; allowed sections are {', '.join(allowed)} "
                          "(a model family's section needs a model of that family in models)")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed: expected a non-negative integer, got {seed!r}")
    fixed = {name: parse_section(cls, raw.get(name), name) for name, cls in FIXED_SECTIONS.items()}
    own = {name: parse_section(cls, raw.get(name), name) for name, cls in (sections or {}).items()}
    parsed = {name: _entry_config(families[e.family], raw.get(e.family), e) for name, e in models.items()
              if families and e.family in families}
    return Params(seed=seed, device=_check_device(raw.get("device", "auto")), models=models, families=parsed,
                  sections=own, **fixed)


def read_params(path: str | Path = "params.yaml") -> Any:
    """The mapping ``path`` holds, read with ``yaml.safe_load``; a missing or unreadable file is a ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: params file not found; run from the repository root or pass --params")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None


def load_params(path: str | Path = "params.yaml", families: dict[str, type] | None = None,
                known: Iterable[str] | None = None, sections: dict[str, type] | None = None) -> Params:
    """Read ``path`` (:func:`read_params`) and parse it (see :func:`parse_params`); any problem is a
    :class:`ConfigError`."""
    return parse_params(read_params(path), families, known, sections)


def as_dict(obj: Any) -> Any:
    """Plain-python view of a config (dataclasses to dicts), for checkpoints and manifests."""
    if dataclasses.is_dataclass(obj):
        return {f.name: as_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: as_dict(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return [as_dict(v) for v in obj]
    return obj
