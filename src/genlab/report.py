"""The comparison report: one row per trained model plus the real-data baseline, best values in bold."""

from __future__ import annotations

import math

# (key, header, better): better is "min", "max" or None (not ranked)
COLUMNS = [
    ("fid", "FID ↓ (domain)", "min"),
    ("kid", "KID ↓ (domain)", "min"),
    ("is", "IS ↑ (domain)", "max"),
    ("precision", "precision ↑ (domain)", "max"),
    ("recall", "recall ↑ (domain)", "max"),
    ("fid_inception", "FID ↓ (Inception)", "min"),
    ("kid_inception", "KID ↓ (Inception)", "min"),
    ("is_inception", "IS ↑ (Inception)", "max"),
    ("precision_inception", "precision ↑ (Inception)", "max"),
    ("recall_inception", "recall ↑ (Inception)", "max"),
    ("nll_iw", "−log p(x) ≤ ↓ (nats)", "min"),
    ("classes_covered", "classes", "max"),
    ("class_kl", "class KL ↓", "min"),
    ("sharpness", "sharpness", None),
    ("elbo", "test ELBO ↑", "max"),
    ("recon_mse", "recon MSE ↓", "min"),
    ("latent_prior_gap", "latent gap ↓", "min"),
    ("interp_confident", "interp. confident ↑", "max"),
    ("train_seconds", "train s", None),
    ("images_seen", "images seen", None),
    ("parameters", "params", None),
]


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v)


GRID_SUFFIXES = ("recon", "interp", "latent", "manifold", "completions", "classes")


def rows(models: dict[str, dict]) -> dict[str, dict]:
    """One table row per model, plus one per extra sampler (a nested dict of metrics, e.g. the AE's
    ``fitted_gaussian``): ``"ae (fitted gaussian)"``; encoder metrics are shared by a model's rows."""
    out = {}
    for name, r in models.items():
        out[name] = r
        for key, sub in r.items():
            if isinstance(sub, dict) and "fid" in sub:
                shared = {k: r[k] for k in ("elbo", "recon_mse", "latent_prior_gap", "interp_confident",
                                            "train_seconds", "images_seen", "parameters", "conditioned_on") if k in r}
                label = f"{key}² phase" if key.isdigit() else key.replace("_", " ")  # pggan's per-resolution samplers
                out[f"{name} ({label})"] = {**sub, **shared}
    return out


def grid_files(model: str, metrics: dict, available: list[str]) -> list[str]:
    """The grids of ``model`` among the file names ``available``: MODEL.png, then MODEL_<suffix>.png."""
    suffixes = [*GRID_SUFFIXES, *(k for k, v in metrics.items() if isinstance(v, dict) and "fid" in v)]
    wanted = [f"{model}.png", *(f"{model}_{s}.png" for s in suffixes)]
    return [f for f in wanted if f in available]


def ranked(name: str, row: dict) -> bool:
    """Rows that compete for the best value: not intermediate Progressive GAN phases (blocky 4x4 samples are
    'precise'), not conditional samples (a completion's observed half is real data)."""
    return not name.endswith("phase)") and "conditioned_on" not in row


def summarize(models: dict[str, dict], baseline: dict | None, classifier: dict | None,
              theory: dict | None = None, ablation: dict | None = None, estimators: dict | None = None) -> dict:
    """The content of ``summary.json``: every model's metrics, the baseline, the best model per ranked column,
    theory, the Progressive GAN ablation and the gradient-estimator study."""
    best = {}
    for key, _, better in COLUMNS:
        vals = {m: r[key] for m, r in rows(models).items() if isinstance(r.get(key), (int, float)) and ranked(m, r)}
        if better and vals:
            best[key] = (min if better == "min" else max)(vals, key=vals.get)
    return {"models": models, "baseline": baseline, "classifier": classifier, "best": best, "theory": theory,
            "ablation": ablation, "estimators": estimators}


def pggan_section(pggan: dict, ablation: dict | None) -> list[str]:
    """Progressive GAN: each growth segment with its images and wall time, the samples kept at the end of each
    resolution scored like the final model, and the ablation of the paper's techniques when it was measured."""
    lines = ["## Progressive GAN, phase by phase", "",
             "| resolution | phase | steps | batch | images | seconds | FID ↓ | IS ↑ | classes |", "|---" * 9 + "|"]
    phases = pggan.get("phases", [])
    last = max((ph["resolution"] for ph in phases), default=None)
    for ph in phases:
        scores = {}
        if ph["phase"] == "stable":  # the generator kept at the end of this resolution (the final one at the top)
            scores = pggan if ph["resolution"] == last else pggan.get(str(ph["resolution"]), {})
        lines.append(f"| {ph['resolution']}² | {ph['phase']} | {_fmt(ph['steps'])} | {ph['batch_size']} | "
                     f"{_fmt(ph['images'])} | {_fmt(ph['seconds'])} | {_fmt(scores.get('fid'))} | "
                     f"{_fmt(scores.get('is'))} | {_fmt(scores.get('classes_covered'))} |")
    lines += ["", "Scores of a lower resolution are its samples upsampled (nearest) to the data size; its grid is "
              "`pggan_<resolution>.png`, the final one `pggan.png`.", ""]
    if ablation and ablation.get("rows"):
        cols = ablation["metrics"]
        lines += ["### Ablation of the paper's techniques", "",
                  f"Experiments that differ from the baseline only in `{'`, `'.join(ablation['switches'])}` "
                  f"(collected by `genlab ablation` from `dvc exp show`, same schedule and seed):", "",
                  "| experiment | changed | " + " | ".join(cols) + " |", "|---" * (len(cols) + 2) + "|"]
        for r in ablation["rows"]:
            changed = ", ".join(f"{k}={v}" for k, v in r["changed"].items()) or "(baseline)"
            lines.append(f"| {r['name']} | {changed} | " + " | ".join(_fmt(r["metrics"].get(c)) for c in cols) + " |")
        lines.append("")
    return lines


def cvae_section(cvae: dict, real_accuracy: float | None = None) -> list[str]:
    """The conditional VAE against its deterministic baseline: likelihood, pixel error, spread, class accuracy."""
    key = "cond" if cvae.get("condition") == "label" else "completion"
    reg = cvae.get("regression", {})
    lines = ["## Conditional VAE vs the deterministic baseline", "",
             f"Condition `{cvae.get('condition')}`, recognition q(z | {'x1, x2' if cvae.get('recognition') == 'x1x2' else 'x1'}). "
             f"`-log p(x2 | x1)` is importance-sampled with S = {_fmt(cvae.get('iw_samples'))} on the first "
             f"{_fmt(cvae.get('iw_images'))} test images (nats per image, over x2's pixels); the baseline's is exact. "
             "MSEs are per pixel of x2 on the whole test split; `best of 8` keeps the closest of 8 completions, "
             "`spread` is the mean per-pixel std across them; accuracy is the domain classifier's on the generated "
             f"images against the requested (or the true) label (real test images: {_fmt(real_accuracy)}).", "",
             "| | -log p(x2 \\| x1) ↓ | MSE, 1 sample ↓ | MSE, best of 8 ↓ | spread | class accuracy ↑ | FID ↓ | recall ↑ |",
             "|---|---|---|---|---|---|---|---|",
             f"| cVAE | {_fmt(cvae.get('ncll'))} | {_fmt(cvae.get('completion_mse'))} | "
             f"{_fmt(cvae.get('completion_mse_best_of_8'))} | {_fmt(cvae.get('completion_diversity'))} | "
             f"{_fmt(cvae.get(f'{key}_accuracy'))} | {_fmt(cvae.get('fid'))} | {_fmt(cvae.get('recall'))} |"]
    if reg:
        lines.append(f"| regression (no z) | {_fmt(cvae.get('ncll_regression'))} | "
                     f"{_fmt(cvae.get('completion_mse_regression'))} | – | 0 | {_fmt(cvae.get(f'{key}_regression_accuracy'))} | "
                     f"{_fmt(reg.get('fid'))} | {_fmt(reg.get('recall'))} |")
        multimodal = cvae["ncll"] < cvae["ncll_regression"] and cvae["completion_mse_best_of_8"] < cvae["completion_mse_regression"]
        lines += ["", "The regression predicts one answer per x1 (the conditional mean: the lowest one-sample MSE); "
                  "a model that captures several plausible answers shows it in the likelihood and the best of 8. "
                  + ("Both favour the cVAE here: its completions are multi-modal."
                     if multimodal else "Here they do not both favour the cVAE; see the numbers.")]
    return lines + [""]


def estimators_section(est: dict) -> list[str]:
    """The gradient-estimator study (metrics/estimators.json): variances per n, bias, control-variate reduction."""
    settings = est.get("settings", {})
    lines = ["## Gradient estimators on the VAE's ELBO", "",
             f"Gradient of E_q(z|x)[log p(x|z)] over every encoder weight, averaged over {settings.get('images')} test "
             f"images; total variance of one estimate with n samples (a pool of {_fmt(settings.get('pool'))} draws per "
             "image split into n-sample groups), its distance from a reference of "
             f"{_fmt(settings.get('reference'))} reparameterized draws per image (bias) next to the distance sampling "
             "noise alone explains, and the control variate's variance reduction, measured and predicted (corr²).", "",
             "| checkpoint | estimator | " + " | ".join(f"var, n={k[1:]}" for k in est["trained"]["var_reparam"])
             + " | slope | bias | noise |", "|---" * (5 + len(est["trained"]["var_reparam"])) + "|"]
    names = {"reparam": "reparameterization", "score": "score function", "score_cv": "score function + CV"}
    for phase in ("init", "trained"):
        r = est[phase]
        for e, label in names.items():
            lines.append(f"| {phase} | {label} | " + " | ".join(_fmt(v) for v in r[f"var_{e}"].values())
                         + f" | {r[f'var_slope_{e}']:.3f} | {_fmt(r[f'bias_{e}'])} | {_fmt(r[f'bias_{e}_noise'])} |")
    lines += ["", "| checkpoint | ‖gradient‖ | CV variance ratio, measured | predicted 1 - corr² | reduction ± s.e. |",
              "|---|---|---|---|---|"]
    for phase in ("init", "trained"):
        r = est[phase]
        lines.append(f"| {phase} | {_fmt(r['grad_norm'])} | {_fmt(r['cv_variance_ratio'])} | "
                     f"{_fmt(r['cv_variance_ratio_predicted'])} | {r['cv_reduction']:.6f} ± {r['cv_reduction_stderr']:.1e} |")
    return lines + ["", "![variance vs n](grids/estimators_variance.png)", ""]


def theory_section(theory: dict) -> list[str]:
    """The GAN theory numbers (metrics/theory.json) as a short table with its figures."""
    sat = theory["saturation"]
    rows = [
        ("max |D - D*| (trained D alone, where a density > threshold)", theory["dstar_max_abs_err"]),
        ("max |D - 1/2| when p_g = p_data", theory["dstar_equal_max_dev"]),
        ("max |V(D*, G) - (-log 4 + 2 JSD)| over the density pairs", theory["jsd_identity_max_err"]),
        (f"‖∇G‖ saturating / non-saturating at D(G(z)) = {sat['d_of_fake_mean']:.1e}",
         f"{sat['grad_norm_saturating']:.3g} / {sat['grad_norm_nonsaturating']:.3g}"),
    ]
    lines = ["## GAN theory, measured", "", "| quantity | value |", "|---|---|"]
    lines += [f"| {k.replace('|', chr(92) + '|')} | {_fmt(v)} |" for k, v in rows]  # escape pipes in cells
    lines += ["", "| mixture | generator loss | minibatch stddev | modes covered | high-quality share |",
              "|---|---|---|---|---|"]
    lines += [f"| {r['mixture']} | {r['loss']} | {'yes' if r['mbstd'] else 'no'} | {r['modes']}/{r['modes_total']} | "
              f"{r['high_quality']:.1%} |" for r in theory["mode_collapse"]]
    lines += ["", "![D vs D*](grids/theory_dstar.png)", "![2-D mixtures](grids/theory_modes.png)", ""]
    return lines


def extractor_note(n, clf: dict, rows: list[dict]) -> str:
    """What produced the numbers: the extractor(s), the sample counts, and what the other columns mean."""
    inception = next((r for r in rows if "fid_inception" in r), None)
    text = (f"Columns marked *(domain)* use the **domain classifier** as feature extractor (test accuracy "
            f"{_fmt(clf.get('test_accuracy'))}): FID/KID/precision/recall on its penultimate features, IS on its "
            "logits (10 is the maximum for 10 classes). ")
    if inception:
        weights = inception.get("inception_weights", "")
        text += ("Columns marked *(Inception)* use the standard TF Inception v3 (2015-12-05) pool features as in "
                 f"the literature (weights: `{weights}`); "
                 + ("IS (Inception) is unavailable with these weights: they have no classifier layer. "
                    if "is_inception" not in inception else "")
                 + "They score each model's main sampler only. ")
    text += (f"Samples per model: {_fmt(n)}, scored against the {_fmt((rows[0] if rows else {}).get('n_reference'))} "
             "test images; FID is biased by the sample count, so compare rows only at equal n. "
             "`−log p(x) ≤` is nll_iw, the importance-weighted bound (Burda et al. 2016) with K = "
             f"{_fmt(next((r['iw_samples'] for r in rows if 'nll_iw' in r), None))} on the first "
             f"{_fmt(next((r['iw_images'] for r in rows if 'nll_iw' in r), None))} test images, in nats per image "
             "(Bernoulli likelihood of the grey levels: not comparable with binarized-MNIST figures); defined only "
             "for models with a pixel likelihood and a prior density (VAE, AAE with a Gaussian prior). "
             "`classes` counts classes holding ≥ 1% of samples and `class KL` is KL(predicted-class histogram ‖ "
             "uniform), in nats. `sharpness` is the mean variance of the Laplacian of the samples (blur lowers it; "
             "read it against real data). For models with an encoder, `latent gap` is the unbiased MMD² (IMQ "
             "kernel) between codes of test images (posterior means for VAEs) and prior draws, and `interp. "
             "confident` the share of interior points of decoded straight latent paths between test pairs that the "
             "classifier labels with probability ≥ 0.9 (real-data row: pixel cross-fades of the same pairs).")
    return text


def markdown(summary: dict, grids: dict[str, list[str]], curves: dict[str, str] | None = None) -> str:
    """``report.md``: the table (models, then real data), notes on the extractor, then every grid and each
    model's training curves (``curves``: model -> image path relative to the report)."""
    models, baseline, best = rows(summary["models"]), summary["baseline"], summary["best"]
    cols = [c for c in COLUMNS if any(c[0] in r for r in [*models.values(), baseline or {}])]
    lines = ["# genlab report", ""]
    if not models:
        lines += ["No model has been evaluated yet.", ""]
    lines += ["| model | " + " | ".join(h for _, h, _ in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in models.items():
        cells = [f"**{_fmt(row.get(k))}**" if best.get(k) == name and len(models) > 1 else _fmt(row.get(k))
                 for k, _, _ in cols]
        lines.append(f"| {name}{' †' if 'conditioned_on' in row else ''} | " + " | ".join(cells) + " |")
    if baseline:
        lines.append("| *real data (train vs test)* | " + " | ".join(_fmt(baseline.get(k)) for k, _, _ in cols) + " |")
    n = next((r.get("n_samples") for r in models.values()), None) or (baseline or {}).get("n_samples")
    lines += ["", extractor_note(n, summary.get("classifier") or {}, [*models.values(), baseline or {}]), ""]
    conditional = {n: r["conditioned_on"] for n, r in models.items() if "conditioned_on" in r}
    if conditional:
        lines += ["† Conditional samples, not ranked: " + "; ".join(f"{n} given {c}" for n, c in conditional.items())
                  + ". Their scores are not comparable with unconditional samples.", ""]
    lines += comparisons(summary["models"], baseline or {})
    curves = curves or {}
    for name in dict.fromkeys([*grids, *curves]):
        lines += [f"## {name}", ""] + [f"![{name} {f}](grids/{f})" for f in grids.get(name, [])]
        lines += [f"![{name} training curves]({curves[name]})"] if name in curves else []
        lines += [""]
    if "pggan" in summary["models"]:
        lines += pggan_section(summary["models"]["pggan"], summary.get("ablation"))
    if "cvae" in summary["models"]:
        lines += cvae_section(summary["models"]["cvae"], (summary.get("classifier") or {}).get("test_accuracy"))
    if summary.get("estimators"):
        lines += estimators_section(summary["estimators"])
    if summary.get("theory"):
        lines += theory_section(summary["theory"])
    return "\n".join(lines)


def scores_table(summary: dict) -> list[dict]:
    """One record per ranked row and the real data: the columns of ``scores.csv`` (a ``dvc plots`` source)."""
    table = [("real data", summary.get("baseline") or {})] + [
        (name, row) for name, row in rows(summary["models"]).items() if ranked(name, row)]
    keys = [k for k, _, better in COLUMNS if better and any(isinstance(r.get(k), (int, float)) for _, r in table)]
    return [{"model": name, **{k: r.get(k, "") for k in keys}} for name, r in table]


def _cmp(a: float, b: float, lower_is_better: bool) -> str:
    return "better" if (a < b) == lower_is_better else "worse"


def comparisons(models: dict[str, dict], baseline: dict) -> list[str]:
    """Short paragraphs that turn the table into the claims of the seeds, each only when its models exist."""
    lines: list[str] = []
    vae, vaegan, ae, aae = (models.get(m) for m in ("vae", "vaegan", "ae", "aae"))
    real_sharp = baseline.get("sharpness")
    if vae and vaegan:
        lines += ["## Pixel vs feature-wise reconstruction (VAE vs VAE-GAN)", "",
                  f"VAE-GAN samples score FID {_fmt(vaegan['fid'])} vs the VAE's {_fmt(vae['fid'])} "
                  f"({_cmp(vaegan['fid'], vae['fid'], True)}) and IS {_fmt(vaegan['is'])} vs {_fmt(vae['is'])} "
                  f"({_cmp(vaegan['is'], vae['is'], False)}); their sharpness is {_fmt(vaegan['sharpness'])} vs "
                  f"{_fmt(vae['sharpness'])} (real digits: {_fmt(real_sharp)}). Reconstructions measured in D's "
                  f"features are {'further from' if vaegan['recon_mse'] > vae['recon_mse'] else 'closer to'} the "
                  f"input in pixels: recon MSE {_fmt(vaegan['recon_mse'])} vs {_fmt(vae['recon_mse'])}.", ""]
    if aae and vae:
        lines += ["## Aggregated posterior vs prior (AAE vs VAE)", "",
                  f"MMD² between encoded test images and prior draws: AAE {_fmt(aae['latent_prior_gap'])}, "
                  f"VAE (posterior means) {_fmt(vae['latent_prior_gap'])}"
                  + (f", plain AE {_fmt(ae['latent_prior_gap'])}" if ae else "") + ". "
                  + ("The AAE's codes are the closest to its prior, as its discriminator is trained to make them."
                     if aae["latent_prior_gap"] < vae["latent_prior_gap"] else
                     "Against the expectation, the AAE's codes are not closer to the prior than the VAE's means."),
                  ""]
    if ae and vae:
        fitted = ae.get("fitted_gaussian", {})
        rec = _cmp(ae["recon_mse"], vae["recon_mse"], True)
        gen = _cmp(ae["fid"], vae["fid"], True)
        lines += ["## AE vs VAE", "",
                  f"The plain AE ({_fmt(ae.get('steps'))} steps) reconstructs {rec} than the VAE "
                  f"({_fmt(vae.get('steps'))} steps): recon MSE {_fmt(ae['recon_mse'])} vs "
                  f"{_fmt(vae['recon_mse'])}; it generates {gen} from z ~ N(0, I) (FID {_fmt(ae['fid'])} vs "
                  f"{_fmt(vae['fid'])}, IS {_fmt(ae['is'])} vs {_fmt(vae['is'])})"
                  + (f"; decoding a Gaussian fitted to its training codes gives FID {_fmt(fitted['fid'])}, "
                     f"IS {_fmt(fitted['is'])}" if fitted else "")
                  + f". Its codes sit {_fmt(ae['latent_prior_gap'])} (MMD²) from N(0, I), the VAE's means "
                  f"{_fmt(vae['latent_prior_gap'])}. Along straight latent paths {_fmt(ae['interp_confident'])} of "
                  f"the AE's images are read confidently as a digit, {_fmt(vae['interp_confident'])} of the VAE's"
                  + (f" and {_fmt(aae['interp_confident'])} of the AAE's" if aae else "")
                  + (f" (pixel cross-fades: {_fmt(baseline['interp_confident'])})" if "interp_confident" in baseline
                     else "") + ".",
                  "", "Expected: the AE reconstructs better and the VAE samples better. "
                  + ("The numbers agree." if rec == "better" and gen == "worse" else
                     "The numbers do not fully agree; see the table."), ""]
    return lines
