"""``report.md``: the claims first, then the headline table, the full table, and a section per model and study."""

from __future__ import annotations

from genlab.report import sections
from genlab.report.tables import HEADLINE, best_per_column, table


def summarize(models: dict[str, dict], baseline: dict | None, classifier: dict | None, theory: dict | None = None,
              estimators: dict | None = None, claims: dict | None = None,
              ablations: dict[str, dict] | None = None, modes: dict | None = None) -> dict:
    """The content of ``summary.json``: every model's metrics (those scored against the test images in ``models``,
    stacked-MNIST ones in ``stacked``), the baseline, the best row per ranked column, the theory, mode-collapse and
    estimator studies, the claims' verdicts and any ablation tables (by model)."""
    scored = {n: m for n, m in models.items() if "stacked_modes" not in m}
    return {"models": scored, "stacked": {n: m for n, m in models.items() if n not in scored}, "baseline": baseline,
            "classifier": classifier, "best": best_per_column(scored), "theory": theory, "modes": modes,
            "estimators": estimators, "claims": claims, "ablations": ablations or {}}


def markdown(summary: dict, grids: dict[str, list[str]], curves: dict[str, str] | None = None) -> str:
    """The page; ``grids``: model -> its figure paths, ``curves``: model -> its curves' path (relative to the
    report)."""
    models, baseline = summary["models"], summary["baseline"]
    lines = ["# genlab report", ""]
    if summary.get("claims"):
        lines += sections.claims_section(summary["claims"])
    if not models:
        lines += ["No model has been evaluated yet.", ""]
    spread = (summary.get("claims") or {}).get("spread", {})
    seeds = max((len(v) for keys in spread.values() for v in keys.values()), default=1)
    lines += ["## Models", "", "Headline numbers" + (f" (mean ± std over up to {seeds} seeds where several ran; the "
                                                     "full table, this run's seed only, follows):" if seeds > 1 else
                                                     " of this run's seed (the full table follows):"), ""]
    lines += table(models, baseline, HEADLINE, spread)
    lines += ["", "All numbers:", ""] + table(models, baseline)
    everything = [*models.values(), baseline or {}]
    n = next((r.get("n_samples") for r in models.values()), None) or (baseline or {}).get("n_samples")
    lines += ["", sections.extractor_note(n, summary.get("classifier") or {}, everything), ""]
    conditional = {n: r["conditioned_on"] for n, r in models.items() if "conditioned_on" in r}
    if conditional:
        lines += ["† Conditional samples, not ranked: " + "; ".join(f"{n} given {c}" for n, c in conditional.items())
                  + ". Their scores are not comparable with unconditional samples.", ""]
    curves = curves or {}
    every = {**models, **summary.get("stacked", {})}
    for name in dict.fromkeys([*grids, *curves]):
        lines += sections.figures_section(name, every.get(name, {}), grids.get(name, []), curves.get(name))
    real_accuracy = (summary.get("classifier") or {}).get("test_accuracy")
    growing: dict[str, dict[str, dict]] = {}
    for name, m in models.items():
        if "grows" in m:
            growing.setdefault(m.get("family", name), {})[name] = m
    for family, phases in growing.items():
        lines += sections.growth_section(family, phases, summary.get("ablations", {}).get(family))
    for name, m in models.items():
        if "conditioned_on" in m:
            lines += sections.conditional_section(name, m, real_accuracy)
    lines += sections.quadrants_section(models)
    if summary.get("modes"):
        lines += sections.modes_section(summary["modes"], summary.get("stacked", {}))
    if summary.get("estimators"):
        lines += sections.estimators_section(summary["estimators"])
    if summary.get("theory"):
        lines += sections.theory_section(summary["theory"])
    return "\n".join(lines)
