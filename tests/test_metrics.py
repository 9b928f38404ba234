"""Metrics separate real data from noise; coverage counts modes; the report ranks models."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from genlab.data.prepare import load_split
from genlab.metrics.coverage import class_coverage
from genlab.metrics.fidelity import FeatureScorer
from genlab.report.page import markdown, summarize


def fidelity(fake, real, classifier, device, batch_size, kid_subset_size):
    """Domain FID/KID/PR of ``fake`` against ``real``, and domain IS of ``fake`` (no feature cache)."""
    scorer = FeatureScorer("domain", classifier, device, batch_size, kid_subset_size)
    return scorer.score(fake, scorer.reference(real, cache=False))


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


class Images(torch.utils.data.Dataset):
    """uint8 images as torch-fidelity reads an input: one C×H×W tensor per item."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


def test_fidelity_equals_torch_fidelity_calculate_metrics(prepared_small, classifier_small):
    """FeatureScorer's FID, KID, IS and (rewritten) precision/recall are torch-fidelity's own numbers, from the
    same domain features; the fake set is partly copied from the reference so that k-NN balls overlap both ways."""
    import torch_fidelity

    train, _ = load_split(prepared_small, "train")
    test, _ = load_split(prepared_small, "test")
    fake, real = torch.cat([train[:250], test[:50]]), test[:400]
    ours = fidelity(fake, real, classifier_small, torch.device("cpu"), batch_size=100, kid_subset_size=200)
    theirs = torch_fidelity.calculate_metrics(
        input1=Images(fake), input2=Images(real), feature_extractor="genlab-domain",
        feature_extractor_weights_path=str(classifier_small), isc=True, fid=True, kid=True, prc=True,
        kid_subset_size=200, batch_size=100, cuda=False, cache=False, verbose=False, save_cpu_ram=True)
    assert ours["fid"] == pytest.approx(theirs["frechet_inception_distance"], rel=1e-6)
    assert ours["kid"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-6)
    assert ours["kid_std"] == pytest.approx(theirs["kernel_inception_distance_std"], rel=1e-6)
    assert ours["is"] == pytest.approx(theirs["inception_score_mean"], rel=1e-6)
    assert ours["is_std"] == pytest.approx(theirs["inception_score_std"], rel=1e-6)
    assert (ours["precision"], ours["recall"]) == pytest.approx((theirs["precision"], theirs["recall"]), abs=1e-7)
    assert 0 < ours["recall"] < 1 and 0 < ours["precision"] < 1


def test_knn_radii_and_precision_recall_equal_torch_fidelity_in_blocks():
    """The blocked k-NN radii and the one-pass precision/recall equal torch-fidelity's unblocked computation."""
    from torch_fidelity.metric_prc import prc_features_to_metric

    from genlab.metrics.fidelity import knn_radii, precision_recall

    g = torch.Generator().manual_seed(0)
    fake, real = torch.randn(700, 16, generator=g), torch.randn(900, 16, generator=g) + 0.3
    expected = torch.cdist(real, real).kthvalue(4).values
    assert torch.equal(knn_radii(real, block=256), expected)
    ours = precision_recall(fake, real, knn_radii(fake, block=256), knn_radii(real, block=256), block=256)
    theirs = prc_features_to_metric(fake, real, save_cpu_ram=True, verbose=False)
    assert (ours["precision"], ours["recall"]) == (theirs["precision"], theirs["recall"])


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
    md = markdown(summary, {"vae": ["grids/vae/samples.png"], "gan": ["grids/gan/samples.png"]})
    assert "| vae | 30 | **6** |" in md and "| gan | **20** | 5 |" in md
    assert "real data" in md and "![vae: samples](grids/vae/samples.png)" in md
    # with the seeds of claims.json the headline cells are mean ± std; the full table keeps this seed's value
    claims = {"claims": [], "spread": {"vae": {"fid": [30.0, 32.0, 34.0]}, "gan": {"fid": [20.0]}}}
    md = markdown(summarize(models, None, None, claims=claims), {})
    headline, full = md.split("All numbers:")
    assert "| vae | 32 ± 2 |" in headline and "| gan | **20** |" in headline and "up to 3 seeds" in headline
    assert "| vae | 30 |" in full


def test_conditional_rows_are_marked_not_ranked_and_compared_with_their_baseline():
    cvae = {"fid": 5.0, "recall": 0.8, "conditioned_on": "the top-half of test images", "condition": "top-half",
            "recognition": "x1x2", "ncll": 46.0, "ncll_regression": 62.0, "completion_mse": 0.057,
            "completion_mse_best_of_8": 0.029, "completion_mse_regression": 0.031, "completion_diversity": 0.08,
            "completion_accuracy": 0.85, "completion_regression_accuracy": 0.93, "iw_samples": 100, "iw_images": 1000,
            "regression": {"fid": 9.0, "recall": 0.4}}
    summary = summarize({"vae": {"fid": 30.0}, "cvae": cvae}, None, {"test_accuracy": 0.99})
    assert summary["best"]["fid"] == "vae"  # the completions' FID 5 is not comparable: half of each image is real
    md = markdown(summary, {})
    assert "| cvae † |" in md and "| cvae (regression) † |" in md and "† Conditional samples, not ranked" in md
    assert "| cvae | 46 | 0.057 | 0.029 |" in md and "| regression (no z) | 62 | 0.031 |" in md
    assert "its completions are multi-modal" in md and "real test images: 0.99" in md
    worse = {**cvae, "ncll": 70.0}
    assert "they do not both favour the latent-variable model" in markdown(summarize({"cvae": worse}, None, None), {})
    assert "Completing quadrants" not in md  # no quadrant-conditioned model
    # the quadrant models beside Pyro's tutorial: ours, the gap, theirs (1 quadrant: 100.4 vs 71.8)
    quadrants = {f"cvae-q{q}": {**cvae, "condition": f"quadrants-{q}", "ncll": 80.0 / q, "ncll_regression": 90.0 / q}
                 for q in (3, 1)}
    md = markdown(summarize(quadrants, None, None), {})
    table = md[md.index("## Completing quadrants"):].splitlines()
    assert table[6] == "| 1 quadrant | cvae-q1 | 90 | 80 | 10 | 100.4 | 71.8 | 28.6 |"
    assert table[7].startswith("| 3 quadrants | cvae-q3 | 30 | 26.67 | 3.333 | 25.4 | 24.2 | 1.2")


def test_sharpness_ranks_blurred_digits_below_real_ones(prepared_small):
    from genlab.metrics.sharpness import laplacian_variance

    test, _ = load_split(prepared_small, "test")
    x = test[:500].float() / 255
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1)
    assert laplacian_variance(blurred) < 0.5 * laplacian_variance(test[:500])
    assert abs(laplacian_variance(test[:500]) - laplacian_variance(x)) < 1e-6  # uint8 and [0, 1] agree


def test_evaluate_autoencoder_writes_latent_numbers_and_figures(prepared_small, classifier_small, tmp_path):
    from genlab.config import ModelConfig, TrainConfig
    from genlab.metrics.config import EvalConfig
    from genlab.metrics.evaluate import evaluate_model
    from genlab.models.ae import AE, AEConfig
    from genlab.training.optimization import Optimization

    train, _ = load_split(prepared_small, "train")
    test, labels = load_split(prepared_small, "test")
    torch.manual_seed(0)
    ae = AE(AEConfig(), ModelConfig(arch="mlp", h=64, z=2), (1, 28, 28), 10, 30)
    opt = Optimization(ae, TrainConfig())
    for step in range(30):
        opt.step(train[step * 64:(step + 1) * 64].float() / 255, None)
    ae.eval().after_training(train)
    cfg = EvalConfig(n_samples=300, batch_size=100, kid_subset_size=100, gap_samples=300, interp_pairs=20)
    m = evaluate_model(ae, test[:500], labels[:500], classifier_small, cfg, 0, tmp_path, "ae", 10)
    assert {"fid", "is", "recon_mse", "latent_prior_gap", "interp_confident", "sharpness"} <= set(m)
    assert {"fid", "is", "kid", "precision", "recall"} <= set(m["fitted_gaussian"])
    assert m["fitted_gaussian"]["fid"] != m["fid"] and 0 <= m["interp_confident"] <= 1
    for name in ("samples.png", "samples_fitted_gaussian.png", "recon.png", "interp.png", "latent.png",
                 "manifold.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    summary = summarize({"ae": m}, None, None)
    md = markdown(summary, {})
    assert "| ae (fitted gaussian) |" in md and "| ae |" in md


def test_report_code_names_no_model():
    """The report's sections come from what the results hold and from the claims registry, never from names."""
    from genlab.models.registry import family_names

    for path in [*Path(__file__).resolve().parents[1].joinpath("src/genlab/report").glob("*.py"),
                 Path(__file__).resolve().parents[1] / "stages" / "report.py"]:
        text = path.read_text()
        quoted = [f for f in family_names() if f'"{f}"' in text or f"'{f}'" in text]
        assert not quoted, f"{path.name} names the models {quoted}"


def _report_dir(tmp_path):
    """A metrics folder with two models (one with Inception numbers), the baseline, grids and curves."""
    from genlab.viz.curves import plot_curves
    from genlab.viz.grids import save_grid

    models = {"vae": {"fid": 30.0, "is": 6.0, "fid_inception": 40.0, "nll_iw": 99.5, "iw_samples": 200,
                      "iw_images": 1000, "n_samples": 100, "n_reference": 100,
                      "inception_weights": "genlab-inception.pth"},
              "gan": {"fid": 20.0, "is": 5.0, "fid_inception": 25.0, "n_samples": 100, "n_reference": 100}}
    summary = summarize(models, {"fid": 0.5, "is": 9.4, "fid_inception": 1.0}, {"test_accuracy": 0.99})
    for m in models:
        save_grid(torch.rand(4, 1, 8, 8), tmp_path / "grids" / m / "samples.png", nrow=2)
        logs = tmp_path / "train" / m
        logs.mkdir(parents=True)
        (logs / "loss.tsv").write_text("step\tloss\n100\t3.0\n200\t2.0\n")
        assert plot_curves(logs, tmp_path / "curves" / f"{m}.png", m)
    text = markdown(summary, {m: [f"grids/{m}/samples.png"] for m in models}, {m: f"curves/{m}.png" for m in models})
    return summary, text


def test_report_has_both_extractors_the_likelihood_and_a_self_contained_html(tmp_path):
    from genlab.report.html import render_html
    from genlab.report.tables import scores_table

    summary, md = _report_dir(tmp_path)
    assert summary["best"]["fid_inception"] == "gan" and summary["best"]["nll_iw"] == "vae"
    assert "FID ↓ (domain)" in md and "FID ↓ (Inception)" in md and "IS (Inception) is unavailable" in md
    assert "| vae | 30 | **6** | **40**" not in md and "| gan | **20** | 5 | **25** |" in md
    assert "K = 200 on the first 1,000 test images" in md and "![vae training curves](curves/vae.png)" in md
    assert "*vae: samples of its own sampler (seed –).*" in md
    page = render_html(md, tmp_path)
    assert page.count("<tr>") == 2 * (1 + 2 + 1)  # headline and full tables: header, two models, the real data
    assert page.count('src="data:image/png;base64,') == 4 and "grids/" not in page.split("<body>")[1].split("<img")[1]
    records = scores_table(summary["models"], summary["baseline"])
    assert [r["model"] for r in records] == ["real data", "vae", "gan"]
    assert records[1]["fid_inception"] == 40.0 and records[2]["nll_iw"] == ""


@pytest.mark.slow
def test_report_html_renders_in_headless_chromium(tmp_path):
    """The page opens in a real browser: every table row is there and every inlined image decodes."""
    import shutil
    import subprocess

    from genlab.report.html import render_html

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium not installed (apt-get install chromium chromium-driver)")
    _, md = _report_dir(tmp_path)
    page = render_html(md, tmp_path).replace("</body>", (
        "<script>addEventListener('load', () => { const imgs = [...document.images];"
        " document.body.dataset.images = imgs.length;"
        " document.body.dataset.decoded = imgs.filter(i => i.complete && i.naturalWidth > 0).length;"
        " document.body.dataset.rows = document.querySelectorAll('tbody tr').length; });</script></body>"))
    path = tmp_path / "report.html"
    path.write_text(page)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([chromium, *flags, "--virtual-time-budget=5000", "--dump-dom", path.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    # two tables (headline and full), each with two models and the real data
    assert 'data-images="4"' in dom and 'data-decoded="4"' in dom and 'data-rows="6"' in dom, dom[:500]
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, *flags, "--window-size=1200,900", f"--screenshot={shot}", path.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_the_page_compacts_its_images_losslessly_where_they_are_grey():
    import io

    import numpy as np
    from PIL import Image

    from genlab.report.html import compact_png

    def png(array: np.ndarray) -> bytes:
        out = io.BytesIO()
        Image.fromarray(array).save(out, format="PNG")
        return out.getvalue()

    rng = np.random.default_rng(0)
    grey = np.repeat(rng.integers(0, 256, (64, 64, 1), dtype=np.uint8), 3, axis=2)  # a grid saved as RGB
    small = compact_png(png(grey))
    assert len(small) < len(png(grey)) / 2
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(small)).convert("RGB")), grey)
    palette = rng.integers(0, 256, (40, 3), dtype=np.uint8)  # a figure of 40 colours: 256 keep every one
    figure = palette[rng.integers(0, 40, (64, 64))]
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(compact_png(png(figure)))).convert("RGB")), figure)
    noise = rng.integers(0, 256, (8, 8, 4), dtype=np.uint8)  # nothing to gain: the input comes back as it was
    assert len(compact_png(png(noise))) <= len(png(noise))
