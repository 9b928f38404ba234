"""Seed statistics (the intervals every report gives) and the decision rule of every claim.

A measurement is a list of per-seed values. Its summary is n, mean, sample std and the two-sided 95% Student t
interval of the mean, mean ± t_{0.975, n-1} · s / √n (no interval for n = 1). A difference of two measurements
(independent seeds) uses Welch's interval: mean_a - mean_b ± t_{0.975, ν} · √(s_a²/n_a + s_b²/n_b), with the
Welch–Satterthwaite degrees of freedom ν.

Decision (fixed in advance, the same for every claim): a claim that a quantity is below (above) a bound **holds**
when its whole interval is below (above) the bound, **fails** when the whole interval is on the other side, and is
**inconclusive** otherwise, and always with fewer than two seeds on a side. Differences are claims against the
bound 0.
"""

from __future__ import annotations

import math
from typing import Literal

from scipy import stats as sp

LEVEL = 0.95
Verdict = Literal["holds", "fails", "inconclusive"]


def summary(values: list[float]) -> dict:
    """n, mean, std (sample, ddof 1) and the 95% Student t interval [lo, hi] of the mean (None for n < 2)."""
    n = len(values)
    mean = sum(values) / n if n else float("nan")
    if n < 2:
        return {"n": n, "mean": mean, "std": None, "lo": None, "hi": None}
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = sp.t.ppf(0.5 + LEVEL / 2, n - 1) * std / math.sqrt(n)
    return {"n": n, "mean": mean, "std": std, "lo": mean - half, "hi": mean + half}


def welch(a: list[float], b: list[float]) -> dict:
    """The difference mean(a) - mean(b) with Welch's 95% interval (None when either side has fewer than 2)."""
    sa, sb = summary(a), summary(b)
    diff = sa["mean"] - sb["mean"]
    out = {"n": min(sa["n"], sb["n"]), "mean": diff, "lo": None, "hi": None}
    if sa["n"] < 2 or sb["n"] < 2:
        return out
    va, vb = sa["std"] ** 2 / sa["n"], sb["std"] ** 2 / sb["n"]
    se = math.sqrt(va + vb)
    if se == 0:  # both sides constant over seeds: the difference is exact
        return {**out, "lo": diff, "hi": diff}
    dof = (va + vb) ** 2 / (va ** 2 / (sa["n"] - 1) + vb ** 2 / (sb["n"] - 1))
    half = sp.t.ppf(0.5 + LEVEL / 2, dof) * se
    return {**out, "lo": diff - half, "hi": diff + half}


def decide(interval: dict, direction: Literal["below", "above"], bound: float) -> Verdict:
    """The rule above, for the claim 'the quantity is ``direction`` ``bound``'."""
    lo, hi = interval["lo"], interval["hi"]
    if lo is None or hi is None:
        return "inconclusive"
    below, above = hi < bound, lo > bound
    if direction == "below":
        return "holds" if below else "fails" if above else "inconclusive"
    return "holds" if above else "fails" if below else "inconclusive"
