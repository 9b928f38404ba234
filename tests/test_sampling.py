"""Samples out of the lab: `genlab sample` / `genlab interpolate`, the Python API of the README (run as written),
and exported folders read by torch-fidelity's own command line."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import genlab
from genlab.data.prepare import load_split
from genlab.data.tensors import to_uint8
from genlab.export import save_folder
from helpers import default_params
from stages.app import make_app

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("gan", "ae", "cvae")


@pytest.fixture(scope="module")
def lab(tmp_path_factory, prepared_small) -> Path:
    """A work folder with data/prepared and tiny trained gan, ae and cvae models in data/models."""
    from genlab.training.run import train_model

    work = tmp_path_factory.mktemp("lab")
    (work / "data").mkdir()
    (work / "data" / "prepared").symlink_to(prepared_small)
    p = default_params()
    p = dataclasses.replace(p, device="cpu", model=dataclasses.replace(p.model, h=32, z=4),
                            train=dataclasses.replace(p.train, steps=3, log_every=1, checkpoint_every=3))
    for name in MODELS:
        train_model(name, p, work / "data" / "prepared", work / "data" / "models" / name, work / "ck" / name,
                    work / "live" / name)
    return work


def _cli(work: Path, monkeypatch, *args: str):
    monkeypatch.chdir(work)
    return CliRunner().invoke(make_app(), list(args))


def _readme_python_block(section: str) -> str:
    text = (ROOT / "README.md").read_text()
    body = text[text.index(f"## {section}\n"):]
    body = body[: body.index("\n## ", 4)]
    return re.search(r"```python\n(.*?)```", body, re.S).group(1)


def test_the_readme_example_runs_as_written(lab, monkeypatch, capsys):
    monkeypatch.chdir(lab)
    ns: dict = {}
    exec(compile(_readme_python_block("Samples out of the lab"), "README.md", "exec"), ns)
    x, z, recon, paths = ns["x"], ns["z"], ns["recon"], ns["paths"]
    assert x.shape == (16, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
    assert z.shape == (16, 4) and recon.shape == x.shape and paths.shape == (4 * 8, 1, 28, 28)
    ae = ns["ae"]
    ends = paths.view(4, 8, 1, 28, 28)
    assert torch.allclose(ends[:, 0], ae.decode(ae.encode(x[:4])), atol=1e-6)  # t = 0: the reconstruction
    assert torch.allclose(ends[:, -1], ae.decode(ae.encode(x[4:8])), atol=1e-6)
    assert torch.equal(ns["gan"].sample(16, seed=0), x) and not torch.equal(ns["gan"].sample(16, seed=1), x)
    assert list(ae.samplers) == ["prior", "fitted_gaussian"] and "gan (16, 1, 28, 28)" in capsys.readouterr().out


def test_sample_writes_the_same_images_as_a_grid_a_folder_and_an_npz(lab, monkeypatch):
    for args in (["--folder", "f"], ["--npz", "s.npz"], ["--out", "g.png"]):
        result = _cli(lab, monkeypatch, "sample", "gan", "-n", "10", "--seed", "3", *args)
        assert result.exit_code == 0, result.output
    expected = to_uint8(genlab.load(lab / "data" / "models" / "gan", "cpu").sample(10, seed=3))
    files = sorted((lab / "f").iterdir())
    assert [f.name for f in files] == [f"{i:06d}.png" for i in range(10)]
    folder = np.stack([np.asarray(Image.open(f)) for f in files])
    arr = np.load(lab / "s.npz")["arr_0"]
    assert arr.shape == (10, 28, 28, 1) and arr.dtype == np.uint8
    assert np.array_equal(folder, expected[:, 0].numpy()) and np.array_equal(arr[..., 0], folder)
    grid = np.asarray(Image.open(lab / "g.png"))
    assert grid.shape[:2] == (2 + 2 * 30, 2 + 8 * 30)  # 2 rows of 8 (28 px + 2 px padding)
    result = _cli(lab, monkeypatch, "sample", "gan", "-n", "4", "--folder", "f")  # a new export replaces the old
    assert result.exit_code == 0 and len(list((lab / "f").iterdir())) == 4


def test_a_conditional_model_samples_completions_of_test_images(lab):
    cvae = genlab.load(lab / "data" / "models" / "cvae", "cpu", lab / "data" / "prepared")
    x = to_uint8(cvae.sample(8, seed=0))
    test, _ = load_split(lab / "data" / "prepared", "test")
    mask = cvae.model.observed.bool().expand_as(x[:1])[0]
    observed = x[:, mask].int()  # the top half of each completion is that of a real test image
    nearest = (test[:, mask].int()[None] - observed[:, None]).abs().amax(-1).min(1).values
    assert nearest.tolist() == [0] * 8
    assert x[:, ~mask].float().std() > 0  # the rest is drawn


def test_interpolate_writes_paths_and_refuses_a_model_without_an_encoder(lab, monkeypatch):
    result = _cli(lab, monkeypatch, "interpolate", "ae", "--pairs", "3", "--steps", "5", "--npz", "i.npz")
    assert result.exit_code == 0, result.output
    assert np.load(lab / "i.npz")["arr_0"].shape == (15, 28, 28, 1)
    result = _cli(lab, monkeypatch, "interpolate", "gan")
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and lines == ["error: interpolate: gan has no encoder (genlab.metrics.latent.Encoder); "
                                               "use a model with one, such as vae, ae, aae or vaegan"]
    for args, message in ((["sample", "nosuch"], "data/models/nosuch/model.pt: not found"),
                          (["sample", "gan", "--out", "a.png", "--npz", "b.npz"], "--out, --folder, --npz: give one"),
                          (["sample", "gan", "--sampler", "fitted"], "sampler 'fitted': gan has prior")):
        result = _cli(lab, monkeypatch, *args)
        assert result.exit_code == 2 and message in result.stderr, (args, result.stderr)
    assert not (lab / "a.png").exists() and not (lab / "b.npz").exists()


@pytest.mark.slow
def test_an_exported_folder_gives_torch_fidelitys_cli_genlabs_inception_fid(lab, inception_weights, tmp_path):
    """torch-fidelity's own command line (`python -m torch_fidelity.fidelity --fid`, its inception-v3-compat) on
    folders written by `genlab sample --folder` and genlab.export.save_folder equals genlab's FID through the
    library (FeatureScorer with the Inception extractor) on the same uint8 images."""
    from genlab.metrics.fidelity import FeatureScorer
    from genlab.metrics.inception import CLASSIFIER_KEYS, NUM_LOGITS, read_weights

    n = 64
    result = CliRunner().invoke(make_app(), ["sample", str(lab / "data" / "models" / "gan"), "-n", str(n),
                                             "--folder", str(tmp_path / "fake"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    real = load_split(lab / "data" / "prepared", "test")[0][:n]
    save_folder(real, tmp_path / "real")
    weights = inception_weights
    state = read_weights(weights)
    if not all(k in state for k in CLASSIFIER_KEYS):  # the offline conversion has no classifier layer, which
        state.update({"fc.weight": torch.zeros(NUM_LOGITS, 2048), "fc.bias": torch.zeros(NUM_LOGITS)})  # FID skips
        weights = tmp_path / "inception.pth"
        torch.save(state, weights)
    proc = subprocess.run([sys.executable, "-m", "torch_fidelity.fidelity", "--fid", "--json", "--cpu", "--silent",
                           "--input1", str(tmp_path / "fake"), "--input2", str(tmp_path / "real"),
                           "--feature-extractor", "inception-v3-compat", "--feature-extractor-weights-path",
                           str(weights), "--no-cache"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cli = json.loads(proc.stdout[proc.stdout.index("{"):])["frechet_inception_distance"]
    fake = to_uint8(genlab.load(lab / "data" / "models" / "gan", "cpu").sample(n, seed=0))
    scorer = FeatureScorer("inception", inception_weights, torch.device("cpu"), batch_size=64, kid_subset_size=n)
    ours = scorer.score(fake, scorer.reference(real, cache=False))["fid_inception"]
    print(f"FID (Inception) of {n} exported samples vs {n} test images: torch-fidelity CLI {cli:.6f}, "
          f"genlab {ours:.6f}, relative difference {abs(cli - ours) / ours:.2e}")
    assert cli > 0 and abs(cli - ours) <= 1e-4 * ours
