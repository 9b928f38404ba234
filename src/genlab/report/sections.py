"""Sections of the report, each chosen by what the results hold: the claims' verdicts, a growing model's phases
(its metrics have ``phases``), a conditional model's comparison with its baseline (``conditioned_on``), the figures
of every model, and the theory and estimator studies."""

from __future__ import annotations

from genlab.report.tables import fmt

VERDICT = {"holds": "✅ holds", "fails": "❌ fails", "inconclusive": "❔ inconclusive"}


def _interval(p: dict) -> str:
    if p.get("mean") is None:
        return "–"
    if p.get("lo") is None:
        return f"{fmt(p['mean'])}"
    return f"{fmt(p['mean'])} [{fmt(p['lo'])}, {fmt(p['hi'])}]"


def _cell(text: object) -> str:
    """Text for a Markdown table cell: a pipe (-log p(x2 | x1), JSD(p || q)) would end the cell."""
    return str(text).replace("|", "\\|")


def claims_section(claims: dict) -> list[str]:
    """The claims table: statement, verdict, each part's measured mean with its 95% interval and seeds, expected,
    budget."""
    lines = ["## Claims", "",
             "Each claim was written down before it was measured (`src/genlab/claims/registry.py`). Measured: the mean "
             "over seeds with its 95% Student t interval (a difference of two runs: Welch's); a claim **holds** when "
             "every part's interval lies on the claimed side of its bound, **fails** when one lies on the other "
             "side, and is **inconclusive** otherwise (always with one seed).", "",
             "| claim | verdict | measured (mean [95% interval]) | n | expected | budget |", "|---|---|---|---|---|---|"]
    for c in claims.get("claims", []):
        for i, p in enumerate(c["parts"]):
            head = f"**{c['id']}**: {c['statement']} ({c['source']})" if i == 0 else ""
            verdict = VERDICT[c["verdict"]] + (" (see below)" if c.get("reason") else "") if i == 0 else ""
            cells = [head, verdict, _interval(p), p["n"], f"{p['expected']} ({p['verdict']})",
                     c["budget_rule"] if i == 0 else ""]  # the verdict beside the claim: wide rows scroll
            lines.append("| " + " | ".join(_cell(x) for x in cells) + " |")
    reasons = [f"- **{c['id']}**: {c['reason']}" for c in claims.get("claims", []) if c.get("reason")]
    if reasons:
        lines += ["", "Why these verdicts are inconclusive whatever the numbers:", "", *reasons]
    larger = [f"- **{c['id']}** ({c['verdict']}): `{c['larger_budget']}`" for c in claims.get("claims", [])
              if c.get("larger_budget") and c["verdict"] != "holds"]
    if larger:
        lines += ["", "Every verdict above is at the budget of its row (params.yaml's defaults). One command measures "
                  "each of these at a larger budget:", "", *larger]
    seeds = claims.get("seeds", {})
    lines += ["", "Seeds per run group (`metrics/runs.json`, gathered by `genlab collect`; `make seeds` runs them): "
              + "; ".join(f"{g}: {', '.join(fmt(s) for s in v)}" for g, v in seeds.items()) + "."]
    if claims.get("stale"):
        lines += ["", f"Left out as stale ({len(claims['stale'])} evaluations made with other code than this run's; "
                  "rerun `make seeds`): " + "; ".join(claims["stale"][:5]) + ("; ..." if len(claims["stale"]) > 5 else "")]
    return lines + [""]


def growth_section(family: str, phases: dict[str, dict], ablation: dict | None) -> list[str]:
    """A growing family's phases (``phases``: model name -> metrics, each with ``grows``): every segment of each
    phase's schedule with its images and wall time, the phase's generator scored like the final one, and the
    family's ablation when it was measured."""
    lines = [f"## {family}, phase by phase", "",
             "| model | resolution | segment | steps | batch | images | seconds | FID ↓ | IS ↑ | classes |",
             "|---" * 10 + "|"]
    for name, m in sorted(phases.items(), key=lambda kv: kv[1]["grows"]["resolution"]):
        for seg in m.get("phases", []):
            scored = seg["phase"] == "stable" and seg["resolution"] == m["grows"]["resolution"]
            cells = [fmt(m.get(k)) if scored else "" for k in ("fid", "is", "classes_covered")]
            lines.append(f"| {name} | {seg['resolution']}² | {seg['phase']} | {fmt(seg['steps'])} | {seg['batch_size']} | "
                         f"{fmt(seg['images'])} | {fmt(seg['seconds'])} | " + " | ".join(cells) + " |")
    lines += ["", "Each phase is a stage of the pipeline (`train@<model>`) that continues the one below; a phase's "
              "samples below the data's resolution are upsampled (nearest) to it.", ""]
    if ablation and ablation.get("rows"):
        cols = ablation["metrics"]
        lines += [f"### Ablation of {family}'s techniques", "",
                  f"Experiments that differ from the baseline only in `{'`, `'.join(ablation['switches'])}` "
                  f"(collected by `genlab ablation` from `dvc exp show`, same schedule and seed):", "",
                  "| experiment | changed | " + " | ".join(cols) + " |", "|---" * (len(cols) + 2) + "|"]
        for r in ablation["rows"]:
            changed = ", ".join(f"{k}={v}" for k, v in r["changed"].items()) or "(baseline)"
            lines.append(f"| {r['name']} | {changed} | " + " | ".join(fmt(r["metrics"].get(c)) for c in cols) + " |")
        lines.append("")
    return lines


def conditional_section(name: str, m: dict, real_accuracy: float | None = None) -> list[str]:
    """A conditional model against its deterministic baseline: likelihood, pixel error, spread, class accuracy."""
    key = "cond" if m.get("condition") == "label" else "completion"
    reg = m.get("regression", {})
    lines = [f"## {name} vs the deterministic baseline", "",
             f"Condition `{m.get('condition')}`, recognition q(z | {'x1, x2' if m.get('recognition') == 'x1x2' else 'x1'}). "
             f"`-log p(x2 | x1)` is importance-sampled with S = {fmt(m.get('iw_samples'))} on the first "
             f"{fmt(m.get('iw_images'))} test images (nats per image, over x2's pixels); the baseline's is exact. "
             "MSEs are per pixel of x2 on the whole test split; `best of 8` keeps the closest of 8 completions, "
             "`spread` is the mean per-pixel std across them; accuracy is the domain classifier's on the generated "
             f"images against the requested (or the true) label (real test images: {fmt(real_accuracy)}).", "",
             "| | -log p(x2 \\| x1) ↓ | MSE, 1 sample ↓ | MSE, best of 8 ↓ | spread | class accuracy ↑ | FID ↓ | recall ↑ |",
             "|---|---|---|---|---|---|---|---|",
             f"| {name} | {fmt(m.get('ncll'))} | {fmt(m.get('completion_mse'))} | "
             f"{fmt(m.get('completion_mse_best_of_8'))} | {fmt(m.get('completion_diversity'))} | "
             f"{fmt(m.get(f'{key}_accuracy'))} | {fmt(m.get('fid'))} | {fmt(m.get('recall'))} |"]
    if reg:
        lines.append(f"| regression (no z) | {fmt(m.get('ncll_regression'))} | "
                     f"{fmt(m.get('completion_mse_regression'))} | – | 0 | {fmt(m.get(f'{key}_regression_accuracy'))} | "
                     f"{fmt(reg.get('fid'))} | {fmt(reg.get('recall'))} |")
        multimodal = m["ncll"] < m["ncll_regression"] and m["completion_mse_best_of_8"] < m["completion_mse_regression"]
        lines += ["", "The regression predicts one answer per x1 (the conditional mean: the lowest one-sample MSE); "
                  "a model that captures several plausible answers shows it in the likelihood and the best of 8. "
                  + ("Both favour the latent-variable model here: its completions are multi-modal."
                     if multimodal else "Here they do not both favour the latent-variable model; see the numbers.")]
    return lines + [""]


#: Pyro's CVAE tutorial (MNIST, 50 epochs with early stopping): -log p(x2 | x1) in nats per test image, for 1, 2
#: and 3 observed quadrants; a public reproduction of Sohn et al. 2015, Table 1, printed beside ours
PYRO_NCLL = {1: (100.4, 71.8), 2: (61.9, 51.0), 3: (25.4, 24.2)}  # (deterministic baseline, cVAE)


def quadrants_section(models: dict[str, dict]) -> list[str]:
    """Sohn et al.'s Table 1 as Pyro's tutorial measures it: each quadrant-conditioned model's ncll and its
    regression's, beside Pyro's (the budgets differ: compare the order and the gaps, not the digits)."""
    rows = sorted((int(m["condition"].split("-")[1]), name, m) for name, m in models.items()
                  if str(m.get("condition", "")).startswith("quadrants-") and "ncll_regression" in m)
    if not rows:
        return []
    lines = ["## Completing quadrants (Sohn et al. 2015, Table 1)", "",
             "-log p(x2 | x1), nats per test image, with 1, 2 or 3 quadrants observed; Pyro's CVAE tutorial "
             "(28×28 MNIST, 50 epochs with early stopping) beside ours (32×32, the padding is free to predict, and "
             "our step budget): compare which wins and by how much, not the digits.", "",
             "| observed | model | ours: regression | ours: cVAE | gap | Pyro: regression | Pyro: cVAE | gap |",
             "|---|---|---|---|---|---|---|---|"]
    for q, name, m in rows:
        base, cvae = PYRO_NCLL.get(q, (None, None))
        lines.append(f"| {q} quadrant{'s' if q > 1 else ''} | {name} | {fmt(m['ncll_regression'])} | {fmt(m['ncll'])} | "
                     f"{fmt(m['ncll_regression'] - m['ncll'])} | {fmt(base)} | {fmt(cvae)} | "
                     f"{fmt(base - cvae) if base is not None else '–'} |")
    return lines + [""]


CAPTIONS = {
    "samples": "samples of its own sampler",
    "recon": "test images (odd rows) above their reconstructions from the code",
    "interp": "decoded straight latent paths between test pairs, one pair per row (ends: reconstructions)",
    "latent": "codes of test images (coloured by class) over prior draws (grey)",
    "manifold": "decoded grid over the 2-D latent, the prior's 2%..98% quantiles per axis",
    "completions": "per row: the observed part (x2 grey), the original, the regression, then completions",
    "classes": "one row per class label",
}
ORDER = ("samples", "recon", "interp", "latent", "manifold", "completions", "classes")


def caption(stem: str, m: dict) -> str:
    """What a figure of a model's folder shows, which sampler drew it and from which seed."""
    seed = f"seed {m['seed']}" if "seed" in m else "seed –"
    if stem.startswith("samples_"):
        what = f"samples of the sampler `{stem.removeprefix('samples_')}`"
    elif stem == "samples" and m.get("grows"):
        what = f"samples of the {m['grows']['resolution']}² phase's generator, upsampled to the data's side"
    else:
        what = CAPTIONS.get(stem, stem)
    conditioned = f", conditioned on {m['conditioned_on']}" if "conditioned_on" in m and stem.startswith("samples") \
        else ""
    return f"{what}{conditioned} ({seed})"


def figures_section(name: str, m: dict, grids: list[str], curve: str | None) -> list[str]:
    """Every figure of a model with its caption; ``grids`` are paths relative to the report, ``curve`` likewise."""
    lines = [f"## {name}", ""]
    for path in sorted(grids, key=lambda p: (ORDER.index(p.rsplit("/", 1)[-1][:-4].split("_")[0])
                                             if p.rsplit("/", 1)[-1][:-4].split("_")[0] in ORDER else len(ORDER), p)):
        stem = path.rsplit("/", 1)[-1][:-4]
        lines += [f"![{name}: {stem}]({path})", "", f"*{name}: {caption(stem, m)}.*", ""]
    if curve:
        lines += [f"![{name} training curves]({curve})", "", f"*{name}: training curves against the optimizer step "
                  "(every logged value of its phases; images/s is throughput).*", ""]
    return lines


def estimators_section(est: dict) -> list[str]:
    """The gradient-estimator study (metrics/estimators.json): variances per n, bias, control-variate reduction."""
    settings = est.get("settings", {})
    lines = ["## Gradient estimators on the VAE's ELBO", "",
             f"Gradient of E_q(z|x)[log p(x|z)] over every encoder weight, averaged over {settings.get('images')} test "
             f"images; total variance of one estimate with n samples (a pool of {fmt(settings.get('pool'))} draws per "
             "image split into n-sample groups), its distance from a reference of "
             f"{fmt(settings.get('reference'))} reparameterized draws per image (bias) next to the distance sampling "
             "noise alone explains, and the control variate's variance reduction, measured and predicted (corr²).", "",
             "| checkpoint | estimator | " + " | ".join(f"var, n={k[1:]}" for k in est["trained"]["var_reparam"])
             + " | slope | bias | noise |", "|---" * (5 + len(est["trained"]["var_reparam"])) + "|"]
    names = {"reparam": "reparameterization", "score": "score function", "score_cv": "score function + CV"}
    for phase in ("init", "trained"):
        r = est[phase]
        for e, label in names.items():
            lines.append(f"| {phase} | {label} | " + " | ".join(fmt(v) for v in r[f"var_{e}"].values())
                         + f" | {r[f'var_slope_{e}']:.3f} | {fmt(r[f'bias_{e}'])} | {fmt(r[f'bias_{e}_noise'])} |")
    lines += ["", "| checkpoint | ‖gradient‖ | CV variance ratio, measured | predicted 1 - corr² | reduction ± s.e. |",
              "|---|---|---|---|---|"]
    for phase in ("init", "trained"):
        r = est[phase]
        lines.append(f"| {phase} | {fmt(r['grad_norm'])} | {fmt(r['cv_variance_ratio'])} | "
                     f"{fmt(r['cv_variance_ratio_predicted'])} | {r['cv_reduction']:.6f} ± {r['cv_reduction_stderr']:.1e} |")
    return lines + ["", "![variance vs n](grids/estimators/variance.png)", "",
                    "*Total variance of each estimator against the samples per estimate n, at initialization and at "
                    "the trained checkpoint, with a 1/n guide.*", ""]


def _over_seeds(values) -> str:
    """mean [95% interval] (n) of per-seed values."""
    from genlab.stats import summary

    values = values if isinstance(values, list) else [values]
    sm = summary(values)
    if sm["lo"] is None:
        return f"{fmt(sm['mean'])} (n = {sm['n']})"
    return f"{fmt(sm['mean'])} [{fmt(sm['lo'])}, {fmt(sm['hi'])}] (n = {sm['n']})"


def theory_section(theory: dict) -> list[str]:
    """The GAN theory numbers (metrics/theory.json), each as its mean over seeds with a 95% interval."""
    sat = theory["saturation"]
    rows = [
        ("max |D - D*| (trained D alone, where a density > threshold)", theory["dstar_max_abs_err"]),
        ("max |D - 1/2| when p_g = p_data", theory["dstar_equal_max_dev"]),
        ("max |V(D*, G) - (-log 4 + 2 JSD)| over the density pairs", theory["jsd_identity_max_err"]),
        ("|V(D*, G) + log 4| at p_g = p_data (the minimum)", theory["equal_value_minus_log4"]),
        ("D(G(z)) where the gradients are taken", sat["d_of_fake_mean"]),
        ("‖∇G‖ saturating / non-saturating", sat["grad_ratio_saturating_over_nonsaturating"]),
    ]
    lines = ["## GAN theory, measured", "", "| quantity | mean [95% interval] (seeds) |", "|---|---|"]
    lines += [f"| {_cell(k)} | {_over_seeds(v)} |" for k, v in rows]
    lines += ["", "![D vs D*](grids/theory/dstar.png)", "",
              "*A discriminator trained alone between p_data and p_g against D* = p_data / (p_data + p_g) (seed 0).*",
              ""]
    return lines


def modes_section(modes: dict, stacked: dict[str, dict]) -> list[str]:
    """Mode collapse: genlab's rows on the 2-D ring and grid beside the published ones, and on stacked MNIST."""
    p = modes["params"]
    lines = ["## Mode collapse", "",
             f"Protocol: {modes['protocol']}. Each variant trains {p['seeds']} seeds per mixture for {p['steps']:,} "
             f"generator steps of {p['batch']} points (the pipeline's GAN networks, width {p['h']}, z = {p['z']}; Adam "
             f"lr {p['lr']:g} decayed to 0 on a cosine). Cells: mean ± standard error over seeds (as the papers give "
             "them), then the 95% Student t interval of the mean.", "",
             "| variant | mixture | modes (≥ 1) | modes (≥ 20) | high-quality share | reverse KL |", "|---" * 6 + "|"]

    def cell(sm: dict, pct: bool = False) -> str:
        k = 100 if pct else 1
        if sm["stderr"] is None:
            return fmt(sm["mean"] * k)
        return f"{fmt(sm['mean'] * k)} ± {fmt(sm['stderr'] * k)} [{fmt(sm['lo'] * k)}, {fmt(sm['hi'] * k)}]"

    for name, v in modes["variants"].items():
        for mixture in ("ring", "grid"):
            sm = v[mixture]["summary"]
            lines.append(f"| {name} | {mixture} (of {v[mixture]['modes_total']}) | {cell(sm['modes'])} | "
                         f"{cell(sm['modes_strict'])} | {cell(sm['high_quality'], True)}% | {cell(sm['reverse_kl'])} |")
    lines += ["", "Published (10 trials each; their networks and budgets differ, so compare the trends):", "",
              "| source | variant | mixture | modes | high-quality share | reverse KL |", "|---" * 6 + "|"]
    for source, rows in modes["published"].items():
        for name, mixtures in rows.items():
            for mixture, r in mixtures.items():
                se = f" ± {r['modes_se']}" if "modes_se" in r else ""
                lines.append(f"| {source} | {name} | {mixture} | {fmt(r['modes'])}{se} | {100 * r['high_quality']:.1f}% | "
                             f"{fmt(r.get('reverse_kl'))} |")
    lines += ["", "![2-D mixtures](grids/modes/modes.png)", "",
              "*Generated points (blue) against the modes (red) of each variant, seed 0.*", "",
              "![training curves](grids/modes/curves.png)", "",
              "*Modes covered and high-quality share during training (500 points, mean over seeds).*", ""]
    if stacked:
        lines += ["### Stacked MNIST (1,000 modes)", "",
                  "Each channel of a sample is read by the domain classifier; a mode (digit triplet) is covered by at "
                  "least one of the samples; KL of the mode histogram to uniform (a perfect model reaches the "
                  "reference floor of that sample count).", "",
                  "| model | steps | samples | modes covered | KL(q ‖ uniform) | reference floor |", "|---" * 6 + "|"]
        lines += [f"| {name} | {fmt(m.get('steps'))} | {fmt(m['stacked_samples'])} | {m['stacked_modes']} | "
                  f"{fmt(m['stacked_kl'])} | {fmt(m.get('reference_kl_uniform'))} |" for name, m in stacked.items()]
        lines += ["", "Published (PacGAN Table 2, a DCGAN with a weakened discriminator, 26,000 samples): DCGAN 99 "
                  "modes, KL 3.40; VEEGAN 150, 2.95; PacDCGAN2 1,000, 0.06.", ""]
    return lines


def extractor_note(n, clf: dict, rows: list[dict]) -> str:
    """What produced the numbers: the extractor(s), the sample counts, and what the other columns mean."""
    inception = next((r for r in rows if "fid_inception" in r), None)
    judge = (f"genlab's shipped judge `{clf.get('name')}`" if clf.get("judge") == "shipped" else "trained here")
    text = (f"Columns marked *(domain)* use the **domain classifier** as feature extractor ({judge}, sha256 "
            f"`{str(clf.get('sha256', ''))[:16]}`, test accuracy {fmt(clf.get('test_accuracy'))}): "
            "FID/KID/precision/recall on its penultimate features, IS on its logits (10 is the maximum for 10 "
            "classes). ")
    if inception:
        weights = inception.get("inception_weights", "")
        text += ("Columns marked *(Inception)* use the standard TF Inception v3 (2015-12-05) pool features as in "
                 f"the literature (weights: `{weights}`); "
                 + ("IS (Inception) is unavailable with these weights: they have no classifier layer. "
                    if "is_inception" not in inception else "")
                 + "They score each model's main sampler only. ")
    text += (f"Samples per model: {fmt(n)}, scored against the {fmt((rows[0] if rows else {}).get('n_reference'))} "
             "test images; FID is biased by the sample count, so compare rows only at equal n. "
             "`−log p(x) ≤` is nll_iw, the importance-weighted bound (Burda et al. 2016) with K = "
             f"{fmt(next((r['iw_samples'] for r in rows if 'nll_iw' in r), None))} on the first "
             f"{fmt(next((r['iw_images'] for r in rows if 'nll_iw' in r), None))} test images, in nats per image "
             "(Bernoulli likelihood of the grey levels: not comparable with binarized-MNIST figures); defined only "
             "for models with a pixel likelihood and a prior density. "
             "`classes` counts classes holding ≥ 1% of samples and `class KL` is KL(predicted-class histogram ‖ "
             "uniform), in nats. `sharpness` is the mean variance of the Laplacian of the samples (blur lowers it; "
             "read it against real data). For models with an encoder, `latent gap` is the unbiased MMD² (IMQ "
             "kernel) between codes of test images (posterior means for VAEs) and prior draws, and `interp. "
             "confident` the share of interior points of decoded straight latent paths between test pairs that the "
             "classifier labels with probability ≥ 0.9 (real-data row: pixel cross-fades of the same pairs).")
    return text
