"""Metrics separate real data from noise; coverage counts modes; the report ranks models."""

from __future__ import annotations

import torch

from genlab.data.prepare import load_split
from genlab.metrics.coverage import class_coverage
from genlab.metrics.fidelity import fidelity
from genlab.report import markdown, summarize


def test_fid_real_vs_real_far_below_real_vs_noise(prepared_small, classifier_small):
    train, _ = load_split(prepared_small, "train")
    test, _ = load_split(prepared_small, "test")
    real, ref = train[:1000], test[:1000]
    noise = torch.randint(0, 256, real.shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    cpu = torch.device("cpu")
    m_real = fidelity(real, ref, classifier_small, cpu, batch_size=250, kid_subset_size=500)
    m_noise = fidelity(noise, ref, classifier_small, cpu, batch_size=250, kid_subset_size=500)
    assert m_real["fid"] * 20 < m_noise["fid"], (m_real["fid"], m_noise["fid"])
    assert m_real["kid"] < m_noise["kid"] and m_real["precision"] > m_noise["precision"]
    assert m_real["recall"] > m_noise["recall"] and m_real["is"] > m_noise["is"] + 2


def test_class_coverage_counts_modes():
    k = 10
    labels = torch.tensor([0, 3, 3, 7] * 250)
    probs = torch.nn.functional.one_hot(labels, k).float()
    cov = class_coverage(probs, k)
    assert cov["classes_covered"] == 3
    # three classes with shares 1/4, 1/2, 1/4: KL from uniform = Σ p log(10 p)
    import math
    expected = 0.25 * math.log(2.5) * 2 + 0.5 * math.log(5)
    assert abs(cov["class_kl"] - expected) < 1e-9
    uniform = class_coverage(torch.eye(k).repeat(100, 1), k)
    assert uniform == {"classes_covered": 10, "class_kl": 0.0}


def test_report_marks_best_and_lists_every_model():
    models = {"vae": {"fid": 30.0, "is": 6.0}, "gan": {"fid": 20.0, "is": 5.0}}
    summary = summarize(models, {"fid": 0.5, "is": 9.4}, {"test_accuracy": 0.99})
    assert summary["best"] == {"fid": "gan", "is": "vae"}
    md = markdown(summary, {"vae": ["vae.png"], "gan": ["gan.png"]})
    assert "| vae | 30 | **6** |" in md and "| gan | **20** | 5 |" in md
    assert "real data" in md and "![vae vae.png](grids/vae.png)" in md
