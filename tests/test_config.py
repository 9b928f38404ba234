"""Params parsing: every bad key, type or value is a one-line ConfigError naming the key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml

from genlab.config import ConfigError, load_params, parse_params
from genlab.device import select_device
from genlab.models.registry import config_classes

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())


def with_value(path: str, value):
    raw = copy.deepcopy(DEFAULTS)
    *parents, leaf = path.split(".")
    node = raw
    for p in parents:
        node = node[p]
    node[leaf] = value
    return raw


def test_default_params_parse():
    p = load_params(ROOT / "params.yaml", config_classes())
    assert p.data.name == "mnist" and p.model.arch in ("mlp", "conv") and p.train.steps > 0
    assert "vae" in p.models and set(p.families) == set(p.models)
    assert load_params(ROOT / "params.yaml").families == {}  # without the registry: the models' sections unparsed


@pytest.mark.parametrize("path, value, fragment", [
    ("data.name", "imagenet", "data.name: 'imagenet' is not allowed; choose one of mnist"),
    ("data.resolution", 0, "data.resolution: must be > 0"),
    ("data.resolution", "big", "data.resolution: expected an integer"),
    ("data.resolution", 28.5, "data.resolution: expected an integer"),
    ("train.steps", 0, "train.steps: must be > 0"),
    ("train.lr", -0.1, "train.lr: must be > 0"),
    ("train.lr", "1e-3", "write 1.0e-3"),
    ("train.batch_size", True, "train.batch_size: expected an integer"),
    ("model.arch", "transformer", "model.arch: 'transformer' is not allowed; choose one of mlp, conv"),
    ("vae.likelihood", "poisson", "vae.likelihood"),
    ("device", "tpu", "device: 'tpu' is not allowed"),
    ("seed", -1, "seed: expected a non-negative integer"),
    ("train.lr", float("nan"), "finite"),
])
def test_bad_values_name_the_key(path, value, fragment):
    with pytest.raises(ConfigError) as exc:
        parse_params(with_value(path, value), config_classes())
    assert fragment in str(exc.value)
    assert "\n" not in str(exc.value)


def test_unknown_keys_list_allowed_ones():
    raw = with_value("train.stpes", 10)
    with pytest.raises(ConfigError, match=r"train\.stpes: unknown key; allowed keys are batch_size, lr"):
        parse_params(raw)
    raw = copy.deepcopy(DEFAULTS)
    raw["optimiser"] = {}
    with pytest.raises(ConfigError, match=r"optimiser: unknown section; allowed sections are seed, device"):
        parse_params(raw)


def test_the_models_list_names_registered_families_once():
    for value, fragment in (([], "non-empty list"), ("vae", "non-empty list"), (["vae", "vae"], "twice"),
                            (["vae", "diffusion"], "'diffusion' is not a model family")):
        raw = copy.deepcopy(DEFAULTS)
        raw["models"] = value
        with pytest.raises(ConfigError, match=fragment):
            parse_params(raw, config_classes())
    raw = copy.deepcopy(DEFAULTS)
    raw["models"] = ["vae"]  # a family's section without its name in models is unknown ...
    with pytest.raises(ConfigError, match=": unknown section.*needs its name in models"):
        parse_params(raw)
    del raw["models"]
    with pytest.raises(ConfigError, match="models: missing"):
        parse_params(raw)
    raw = {k: v for k, v in DEFAULTS.items() if k not in ("gan", "ae", "aae", "vaegan", "pggan", "cvae")}
    raw["models"] = ["vae"]  # ... and a pipeline of one family is fine
    assert parse_params(raw, config_classes()).models == ("vae",)


def test_folder_needs_a_path():
    with pytest.raises(ConfigError, match="data.folder: required"):
        parse_params(with_value("data.name", "folder"))


def test_invalid_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(bad)
    with pytest.raises(ConfigError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")


def test_yaml_objects_are_not_constructed(tmp_path):
    """safe_load: a python object tag is a YAML error, never an executed constructor."""
    evil = tmp_path / "params.yaml"
    evil.write_text("seed: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(evil)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(ConfigError, match="CUDA is not available"):
        select_device("cuda")
    assert select_device("auto").type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_auto_picks_cuda():
    assert select_device("auto").type == "cuda"


def test_params_yaml_and_the_dataclass_defaults_are_one_source():
    """Every key of params.yaml is a field of its section's dataclass with the same default, and every field is in
    params.yaml: a value differs from the code in one place only, with its reason beside it."""
    from genlab.config import FIXED_SECTIONS, as_dict

    sections = {**FIXED_SECTIONS, **config_classes()}
    drift = []
    for name, cls in sections.items():
        defaults, written = as_dict(cls()), DEFAULTS[name]
        assert set(defaults) == set(written), (name, set(defaults) ^ set(written))
        drift += [f"{name}.{k}: dataclass {defaults[k]!r}, params.yaml {written[k]!r}"
                  for k in defaults if defaults[k] != written[k] or type(defaults[k]) is not type(written[k])]
    assert not drift, drift
    assert set(DEFAULTS) == {"seed", "device", "models", *sections}
