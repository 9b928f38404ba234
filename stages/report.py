"""``report``: gather every model's metrics into metrics/summary.json, report.md, report.html and scores.csv."""

import csv
import io
import json
from pathlib import Path

from genlab.models import MODELS
from genlab.report import grid_files, markdown, scores_table, summarize
from stages.common import GRIDS, METRICS, TRAIN_LOGS, ParamsOption, params_for, stage

CURVES = METRICS / "curves"

HELP = f"""Gather {METRICS}/<model>.json of every evaluated model ({" | ".join(MODELS)}), the real-data
baseline, the classifier accuracy, the GAN theory numbers and the gradient-estimator study into
{METRICS}/summary.json, {METRICS}/report.md and {METRICS}/report.html (one self-contained page: comparison
table with the best value per column in bold, every grid, each model's training curves, drawn from
{TRAIN_LOGS}/<model> into {CURVES}/<model>.png). {METRICS}/scores.csv holds the ranked scores per row, for
dvc plots. The Progressive GAN section adds its phases and, when `genlab ablation` has written
{METRICS}/pggan_ablation.json, the ablation."""


def _read(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def _csv(records: list[dict]) -> str:
    out = io.StringIO()
    if records:
        writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return out.getvalue()


@stage
def run(params: Path = ParamsOption) -> None:
    params_for(params)
    # Heavy imports only once the params are valid: a bad param fails fast.
    from genlab.io import write_json, write_text
    from genlab.report_html import render_html
    from genlab.viz.curves import plot_curves

    models = {m: r for m in MODELS if (r := _read(METRICS / f"{m}.json")) is not None}
    summary = summarize(models, _read(METRICS / "baseline.json"), _read(METRICS / "classifier.json"),
                        _read(METRICS / "theory.json"), _read(METRICS / "pggan_ablation.json"),
                        _read(METRICS / "estimators.json"))
    available = sorted(p.name for p in GRIDS.glob("*.png"))
    grids = {m: grid_files(m, r, available) for m, r in models.items()}
    curves = {m: f"curves/{m}.png" for m in models
              if plot_curves(TRAIN_LOGS / m / "plots" / "metrics", CURVES / f"{m}.png", f"{m}: training curves")}
    text = markdown(summary, grids, curves)
    write_json(METRICS / "summary.json", summary)
    write_text(METRICS / "scores.csv", _csv(scores_table(summary)))
    write_text(METRICS / "report.md", text)
    write_text(METRICS / "report.html", render_html(text, METRICS))
