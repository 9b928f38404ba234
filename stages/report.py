"""``report``: gather every model's metrics into metrics/summary.json, report.md, report.html and scores.csv."""

import csv
import io
from pathlib import Path

from genlab.config import load_params
from stages.common import EVAL, GRIDS, METRICS, TRAIN_LOGS, ParamsOption, read_metrics, stage

CURVES = METRICS / "curves"
ABLATIONS = METRICS / "ablations"

HELP = f"""Gather {EVAL}/<model>.json of every evaluated model (params.yaml's models list), the real-data
baseline, the classifier accuracy, the claims' verdicts, the GAN theory and mode-collapse numbers and the
gradient-estimator study
into {METRICS}/summary.json, {METRICS}/report.md and {METRICS}/report.html (one self-contained page: the claims
table, the headline and full comparison tables with the best value per column in bold, every figure of
{GRIDS}/<model>/ with its caption, each model's training curves, drawn from {TRAIN_LOGS}/<model> into
{CURVES}/<model>.png). {METRICS}/scores.csv holds the ranked scores per row, for dvc plots. A growing model's
section adds its phases and, when `genlab ablation` has written {ABLATIONS}/<model>.json, the ablation."""


def _csv(records: list[dict]) -> str:
    out = io.StringIO()
    if records:
        writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return out.getvalue()


@stage
def run(params: Path = ParamsOption) -> None:
    p = load_params(params)
    # Heavy imports only once the params are valid: a bad param fails fast.
    from genlab.io import write_json, write_text
    from genlab.report.html import render_html
    from genlab.report.page import markdown, summarize
    from genlab.report.tables import scores_table
    from genlab.viz.curves import plot_curves

    models = {m: r for m in p.models if (r := read_metrics(EVAL / f"{m}.json")) is not None}
    ablations = {f.stem: read_metrics(f) for f in sorted(ABLATIONS.glob("*.json"))}
    summary = summarize(models, *(read_metrics(METRICS / f"{name}.json") for name in
                                  ("baseline", "classifier", "theory", "estimators", "claims")),
                        ablations, read_metrics(METRICS / "modes.json"))
    grids = {m: [str(f.relative_to(METRICS)) for f in sorted((GRIDS / m).glob("*.png"))] for m in models}
    curves = {m: f"curves/{m}.png" for m in models
              if plot_curves(TRAIN_LOGS / m / "plots" / "metrics", CURVES / f"{m}.png", f"{m}: training curves")}
    text = markdown(summary, grids, curves)
    write_json(METRICS / "summary.json", summary)
    write_text(METRICS / "scores.csv", _csv(scores_table(summary["models"], summary["baseline"])))
    write_text(METRICS / "report.md", text)
    write_text(METRICS / "report.html", render_html(text, METRICS))
