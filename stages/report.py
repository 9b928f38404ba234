"""``report``: gather every model's metrics into metrics/summary.json and metrics/report.md."""

import json
from pathlib import Path

from genlab.models import MODELS
from genlab.report import grid_files, markdown, summarize
from stages.common import GRIDS, METRICS, ParamsOption, params_for, stage

HELP = f"""Gather {METRICS}/<model>.json of every evaluated model ({" | ".join(MODELS)}), the real-data
baseline, the classifier accuracy, the GAN theory numbers and the gradient-estimator study into {METRICS}/summary.json and {METRICS}/report.md
(comparison table with the best value per column in bold, and every grid). The Progressive GAN section
adds its phases and, when `genlab ablation` has written {METRICS}/pggan_ablation.json, the ablation."""


def _read(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


@stage
def run(params: Path = ParamsOption) -> None:
    params_for(params)
    # Heavy imports only once the params are valid: a bad param fails fast.
    from genlab.io import write_json, write_text

    models = {m: r for m in MODELS if (r := _read(METRICS / f"{m}.json")) is not None}
    summary = summarize(models, _read(METRICS / "baseline.json"), _read(METRICS / "classifier.json"),
                        _read(METRICS / "theory.json"), _read(METRICS / "pggan_ablation.json"),
                        _read(METRICS / "estimators.json"))
    available = sorted(p.name for p in GRIDS.glob("*.png"))
    grids = {m: grid_files(m, r, available) for m, r in models.items()}
    write_json(METRICS / "summary.json", summary)
    write_text(METRICS / "report.md", markdown(summary, grids))
