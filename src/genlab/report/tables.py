"""The report's tables: one row per model (and per extra sampler) plus the real-data baseline, best values in bold.

Rows and columns come from what the metrics files hold, never from model names: a model's extra samplers are its
nested dicts of fidelity scores, and a row competes for the best value unless its samples are not the model's own
generation (a conditional model's completions keep real pixels) or not its final one (a growing model's phases
below the data's resolution are blocky images that score as 'precise').
"""

from __future__ import annotations

import math
import statistics

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
HEADLINE = ("fid", "is", "precision", "recall", "nll_iw", "recon_mse", "train_seconds")
SHARED = ("elbo", "recon_mse", "latent_prior_gap", "interp_confident", "train_seconds", "images_seen", "parameters",
          "conditioned_on", "grows")  # a model's numbers that its extra samplers' rows repeat


def fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v)


def extra_samplers(metrics: dict) -> dict[str, dict]:
    """A model's samplers beyond its own: the nested dicts of fidelity scores in its metrics."""
    return {k: v for k, v in metrics.items() if isinstance(v, dict) and "fid" in v}


def rows(models: dict[str, dict]) -> dict[str, dict]:
    """One table row per model (a growing model's phase below the data's resolution: ``"pggan-8 (8² phase)"``),
    plus one per extra sampler: ``"ae (fitted gaussian)"``."""
    out = {}
    for name, r in models.items():
        grows = r.get("grows", {})
        out[f"{name} ({grows['resolution']}² phase)" if grows and not grows["final"] else name] = r
        for key, sub in extra_samplers(r).items():
            out[f"{name} ({key.replace('_', ' ')})"] = {**sub, **{k: r[k] for k in SHARED if k in r}}
    return out


def ranked(name: str, row: dict) -> bool:
    """Rows that compete for the best value: not a growing model's intermediate phases, not conditional samples."""
    return row.get("grows", {}).get("final", True) and "conditioned_on" not in row


def best_per_column(models: dict[str, dict]) -> dict[str, str]:
    best = {}
    for key, _, better in COLUMNS:
        vals = {m: r[key] for m, r in rows(models).items() if isinstance(r.get(key), (int, float)) and ranked(m, r)}
        if better and vals:
            best[key] = (min if better == "min" else max)(vals, key=vals.get)
    return best


def _cell(value, values: list[float] | None) -> str:
    """A value, or with several seeds their mean ± standard deviation."""
    if values and len(values) > 1:
        return f"{fmt(statistics.fmean(values))} ± {fmt(statistics.stdev(values))}"
    return fmt(value)


def table(models: dict[str, dict], baseline: dict | None, keys: tuple[str, ...] | None = None,
          spread: dict[str, dict[str, list[float]]] | None = None) -> list[str]:
    """The Markdown table of ``models`` (columns present in the data, ``keys`` only when given) and the real data;
    ``spread`` (model -> key -> one value per seed) turns a cell into the mean ± std over its seeds."""
    all_rows, best = rows(models), best_per_column(models)
    cols = [c for c in COLUMNS if (keys is None or c[0] in keys) and any(c[0] in r for r in
                                                                          [*all_rows.values(), baseline or {}])]
    lines = ["| model | " + " | ".join(h for _, h, _ in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in all_rows.items():
        cells = [_cell(row.get(k), (spread or {}).get(name, {}).get(k)) for k, _, _ in cols]
        cells = [f"**{c}**" if best.get(k) == name and len(all_rows) > 1 else c for c, (k, _, _) in zip(cells, cols)]
        lines.append(f"| {name}{' †' if 'conditioned_on' in row else ''} | " + " | ".join(cells) + " |")
    if baseline:
        lines.append("| *real data (train vs test)* | " + " | ".join(fmt(baseline.get(k)) for k, _, _ in cols) + " |")
    return lines


def scores_table(models: dict[str, dict], baseline: dict | None) -> list[dict]:
    """One record per ranked row and the real data: the columns of ``scores.csv`` (a ``dvc plots`` source)."""
    table_rows = [("real data", baseline or {})] + [(name, row) for name, row in rows(models).items()
                                                    if ranked(name, row)]
    keys = [k for k, _, better in COLUMNS if better and any(isinstance(r.get(k), (int, float)) for _, r in table_rows)]
    return [{"model": name, **{k: r.get(k, "") for k in keys}} for name, r in table_rows]
