"""Params parsing: every bad key, type or value is a one-line ConfigError naming the key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from genlab.config import ConfigError, load_params, parse_params
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
    assert [p.model_config(n).resolution for n in ("pggan-4", "pggan-8", "pggan-16", "pggan")] == [4, 8, 16, 32]
    assert load_params(ROOT / "params.yaml").families == {}  # without the registry: the models' sections unparsed


def test_a_stage_parses_its_own_family_and_sections_alone():
    """A model's stage imports its family's config and no other (so no other family's code is in its digest); a
    stage's own section is parsed where it is read, and asking for one that was not is one line."""
    from genlab.metrics.config import EvalConfig
    from genlab.models.registry import load_for

    p, spec = load_for(ROOT / "params.yaml", "vaegan", {"eval": EvalConfig})
    assert set(p.families) == {"vaegan"} and spec.family == "vaegan" and spec.config.h == 512
    assert p.eval.n_samples == 10000
    with pytest.raises(ConfigError, match="section 'theory' was not parsed"):
        p.theory
    with pytest.raises(ConfigError, match="models.vae.family: 'diffusion' is not a model family; choose from aae"):
        load_for(ROOT / "params.yaml", "gan") and parse_params(with_value("models.vae.family", "diffusion"),
                                                                config_classes(["gan"]), config_classes())


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


def test_the_models_mapping_names_registered_families_and_chains_of_starts():
    vae = {"family": "vae", "start": "prepared"}
    for value, fragment in (({}, "expected a mapping"), (["vae"], "expected a mapping"),
                            ({"vae": "vae"}, "models.vae: expected a mapping with family and start"),
                            ({"vae": {"family": "vae"}}, "with family and start"),
                            ({"v ae": vae}, "letters, digits"),
                            ({"vae": {**vae, "family": "diffusion"}}, "models.vae.family: 'diffusion' is not a model"),
                            ({"vae": {**vae, "start": "scratch"}}, "models.vae.start: .scratch. is neither a dataset"),
                            ({"vae": {**vae, "start": "models/gan"}, "gan": {"family": "gan", "start": "prepared"}},
                             "models.vae.start: gan is a gan, not a vae"),
                            ({"a": {"family": "vae", "start": "models/b"}, "b": {"family": "vae", "start": "models/a"}},
                             "returns to"),
                            ({"vae": {**vae, "beta": -1.0}}, "models.vae.beta: must be >= 0"),
                            ({"vae": {**vae, "bta": 1.0}}, "models.vae.bta: unknown key")):
        used = {e.get("family") for e in value.values() if isinstance(e, dict)} if isinstance(value, dict) else set()
        raw = {k: v for k, v in copy.deepcopy(DEFAULTS).items() if k not in config_classes() or k in used}
        raw["models"] = value
        with pytest.raises(ConfigError, match=fragment):
            parse_params(raw, config_classes())
    raw = copy.deepcopy(DEFAULTS)
    raw["models"] = {"vae": vae}  # a family's section without a model of it in models is unknown ...
    with pytest.raises(ConfigError, match=": unknown section.*needs a model of that family in models"):
        parse_params(raw)
    del raw["models"]
    with pytest.raises(ConfigError, match="models: missing"):
        parse_params(raw)
    raw = {k: v for k, v in DEFAULTS.items() if k not in ("gan", "ae", "aae", "vaegan", "pggan", "cvae")}
    raw["models"] = {"vae": vae, "vae-b2": {**vae, "beta": 2.0}}  # ... and a pipeline of one family is fine
    p = parse_params(raw, config_classes())
    assert list(p.models) == ["vae", "vae-b2"] and p.model_config("vae").beta == 1.0
    assert p.model_config("vae-b2").beta == 2.0  # an entry's overrides are its own
    assert p.entry("vae-b2").previous is None and p.entry("vae").family == "vae"


def test_params_yaml_and_the_dataclass_defaults_are_one_source():
    """Every key of params.yaml is a field of its section's dataclass with the same default, and every field is in
    params.yaml: a value differs from the code in one place only, with its reason beside it."""
    from genlab.config import FIXED_SECTIONS, OWN_SECTIONS, as_dict
    from genlab.gradients.config import EstimatorsConfig
    from genlab.metrics.config import ClassifierConfig, EvalConfig
    from genlab.theory.config import ModesConfig, TheoryConfig

    own = {"classifier": ClassifierConfig, "eval": EvalConfig, "theory": TheoryConfig, "modes": ModesConfig,
           "estimators": EstimatorsConfig}
    assert set(own) == set(OWN_SECTIONS)
    sections = {**FIXED_SECTIONS, **own, **config_classes()}
    drift = []
    for name, cls in sections.items():
        defaults, written = as_dict(cls()), DEFAULTS[name]
        assert set(defaults) == set(written), (name, set(defaults) ^ set(written))
        drift += [f"{name}.{k}: dataclass {defaults[k]!r}, params.yaml {written[k]!r}"
                  for k in defaults if defaults[k] != written[k] or type(defaults[k]) is not type(written[k])]
    assert not drift, drift
    assert set(DEFAULTS) == {"seed", "device", "models", *sections}
