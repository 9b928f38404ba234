"""Verdicts of the registered claims from the pipeline's results, by the rule of :mod:`genlab.stats`.

A claim holds when every part holds, fails when a part fails, and is inconclusive otherwise. A claim whose budget
rule is ``equal`` is inconclusive whenever the runs it compares differ in steps, images seen, width or latent
size: such a comparison is not the one the claim makes, whatever its numbers say.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from genlab.claims.registry import BUDGETS, CLAIMS, Claim, Metric
from genlab.stats import decide, summary, welch

BUDGET_KEYS = ("steps", "images_seen", "width", "z")
SWEEP_KEYS = ("steps", "images_seen")
COST_KEYS = ("train_seconds", "parameters")


@dataclass
class Results:
    """What the claims read: per run group, one dict of model -> evaluation metrics for each seed; and the per-seed
    lists of the theory and estimator stages."""

    runs: dict[str, list[dict[str, dict]]] = field(default_factory=dict)
    files: dict[str, dict] = field(default_factory=dict)  # source name (theory, estimators) -> its JSON

    def values(self, metric: Metric) -> list[float]:
        """One number per seed (an empty list where the runs or the key are missing)."""
        if metric.source.startswith("eval:"):
            model = metric.source.removeprefix("eval:")
            found = [_get(run.get(model), metric.key) for run in self.runs.get(metric.group, [])]
            return [v for v in found if v is not None]
        value = _get(self.files.get(metric.source), metric.key)
        if isinstance(value, list):
            return [float(v) for v in value]
        return [] if value is None else [value]

    def budgets(self, metric: Metric) -> dict:
        """The budget and cost of an eval metric's runs (from the first seed's run)."""
        runs = self.runs.get(metric.group, [])
        model = metric.source.removeprefix("eval:")
        first = runs[0].get(model, {}) if runs else {}
        return {k: first.get(k) for k in BUDGET_KEYS + COST_KEYS}


def _get(node, key: str):
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return float(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else node


def verdict(claim: Claim, results: Results) -> dict:
    parts = []
    for part in claim.parts:
        a = results.values(part.measured)
        if part.against is None:
            interval, b = summary(a) if a else {"n": 0, "mean": None, "lo": None, "hi": None}, None
        else:
            b = results.values(part.against)
            interval = welch(a, b) if a and b else {"n": 0, "mean": None, "lo": None, "hi": None}
        parts.append({"expected": part.expected(), "verdict": decide(interval, part.direction, part.bound),
                      "n": interval["n"], "mean": interval["mean"], "lo": interval["lo"], "hi": interval["hi"],
                      "values": a, **({"against": b} if b is not None else {})})
    verdicts = [p["verdict"] for p in parts]
    overall = "fails" if "fails" in verdicts else "holds" if all(v == "holds" for v in verdicts) else "inconclusive"
    out = {"id": claim.id, "statement": claim.statement, "source": claim.source, "budget_rule": BUDGETS[claim.budget],
           "n": min(p["n"] for p in parts), "verdict": overall, "parts": parts,
           **({"larger_budget": claim.larger} if claim.larger else {})}
    if claim.budget in ("equal", "sweep"):
        metrics = {(m.source, m.group): m for p in claim.parts for m in (p.measured, p.against) if m is not None}
        budgets = {m.label().split(" ")[0] + ("" if m.group == "default" else f" [{m.group}]"): results.budgets(m)
                   for m in metrics.values()}
        out["budgets"] = budgets
        keys = BUDGET_KEYS if claim.budget == "equal" else SWEEP_KEYS  # a sweep changes the width on purpose
        unequal = [k for k in keys if len({str(b.get(k)) for b in budgets.values() if b.get(k) is not None}) > 1]
        if unequal:
            out["verdict"] = "inconclusive"
            out["reason"] = "unequal budget: " + "; ".join(
                f"{k} " + ", ".join(f"{name} {b.get(k)}" for name, b in budgets.items()) for k in unequal)
    if out["n"] < 2 and "reason" not in out:
        out["reason"] = f"{out['n']} seed(s): no interval"
    return out


def all_verdicts(results: Results, claims: tuple[Claim, ...] = CLAIMS) -> list[dict]:
    return [verdict(c, results) for c in claims]
