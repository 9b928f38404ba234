"""The comparison report: one row per trained model plus the real-data baseline, best values in bold."""

from __future__ import annotations

import math

# (key, header, better): better is "min", "max" or None (not ranked)
COLUMNS = [
    ("fid", "FID ↓", "min"),
    ("kid", "KID ↓", "min"),
    ("is", "IS ↑", "max"),
    ("precision", "precision ↑", "max"),
    ("recall", "recall ↑", "max"),
    ("classes_covered", "classes", "max"),
    ("class_kl", "class KL ↓", "min"),
    ("elbo", "test ELBO ↑", "max"),
    ("recon_mse", "recon MSE ↓", "min"),
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


def summarize(models: dict[str, dict], baseline: dict | None, classifier: dict | None,
              theory: dict | None = None) -> dict:
    """The content of ``summary.json``: every model's metrics, the baseline, the best model per column, theory."""
    best = {}
    for key, _, better in COLUMNS:
        vals = {m: r[key] for m, r in models.items() if isinstance(r.get(key), (int, float))}
        if better and vals:
            best[key] = (min if better == "min" else max)(vals, key=vals.get)
    return {"models": models, "baseline": baseline, "classifier": classifier, "best": best, "theory": theory}


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


def markdown(summary: dict, grids: dict[str, list[str]]) -> str:
    """``report.md``: the table (models, then real data), notes on the extractor, then every grid."""
    models, baseline, best = summary["models"], summary["baseline"], summary["best"]
    cols = [c for c in COLUMNS if any(c[0] in r for r in [*models.values(), baseline or {}])]
    lines = ["# genlab report", ""]
    if not models:
        lines += ["No model has been evaluated yet.", ""]
    lines += ["| model | " + " | ".join(h for _, h, _ in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in models.items():
        cells = [f"**{_fmt(row.get(k))}**" if best.get(k) == name and len(models) > 1 else _fmt(row.get(k))
                 for k, _, _ in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if baseline:
        lines.append("| *real data (train vs test)* | " + " | ".join(_fmt(baseline.get(k)) for k, _, _ in cols) + " |")
    n = next((r.get("n_samples") for r in models.values()), None) or (baseline or {}).get("n_samples")
    clf = summary.get("classifier") or {}
    lines += ["", f"Metrics use the **domain classifier** as feature extractor (test accuracy "
              f"{_fmt(clf.get('test_accuracy'))}): FID/KID/precision/recall on its penultimate features, IS on its "
              f"logits (10 is the maximum for 10 classes). Samples per model: {_fmt(n)}, scored against the test "
              "split; FID is biased by the sample count, so compare rows only at equal n. `classes` counts classes "
              "holding ≥ 1% of samples and `class KL` is KL(predicted-class histogram ‖ uniform), in nats.", ""]
    for name, files in grids.items():
        lines += [f"## {name}", ""] + [f"![{name} {f}](grids/{f})" for f in files] + [""]
    if summary.get("theory"):
        lines += theory_section(summary["theory"])
    return "\n".join(lines)
