"""Claims: the decision rule on synthetic numbers, the interval against closed forms, budgets, and the table."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from genlab.claims.registry import CLAIMS, Claim, Metric, Part
from genlab.stats import decide, summary, welch
from genlab.claims.verdicts import Results, verdict


def test_t_interval_matches_the_closed_forms_of_one_and_two_degrees_of_freedom():
    """t_{0.975, 1} = tan(0.475 π) (Cauchy) and t_{0.975, 2} = (2p - 1) / √(2p(1 - p)) at p = 0.975."""
    s = summary([0.0, 2.0])  # mean 1, s = √2, half-width t · s / √2 = t
    assert s["n"] == 2 and s["mean"] == 1.0 and s["std"] == pytest.approx(math.sqrt(2))
    assert s["hi"] - s["mean"] == pytest.approx(math.tan(0.475 * math.pi), rel=1e-9)
    s = summary([1.0, 2.0, 3.0])  # mean 2, s = 1
    p = 0.975
    assert s["hi"] - 2.0 == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)) / math.sqrt(3), rel=1e-9)
    assert summary([5.0])["lo"] is None  # one seed: no interval


def test_welch_reduces_to_the_pooled_interval_for_equal_sizes_and_spreads():
    a, b = [1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0]
    w = welch(a, b)  # equal variances and n: Welch's ν = 2(n - 1) = 6, se = √(2 s²/n)
    se = math.sqrt(2 * (5 / 3) / 4)
    assert w["mean"] == -2.0 and (w["hi"] - w["lo"]) / 2 == pytest.approx(2.4469118511449692 * se, rel=1e-9)


@pytest.mark.parametrize("a, b, direction, expected", [
    ([10.0, 10.5, 9.8], [20.0, 19.5, 21.0], "below", "holds"),  # a clear difference in the claimed direction
    ([20.0, 19.5, 21.0], [10.0, 10.5, 9.8], "below", "fails"),  # reversed
    ([10.0, 14.0, 12.0], [11.0, 15.0, 12.5], "below", "inconclusive"),  # overlapping
    ([10.0], [20.0], "below", "inconclusive"),  # one seed
    ([20.0, 19.5, 21.0], [10.0, 10.5, 9.8], "above", "holds"),
])
def test_the_decision_rule_on_differences(a, b, direction, expected):
    assert decide(welch(a, b), direction, 0.0) == expected


def test_the_decision_rule_on_a_bound():
    assert decide(summary([0.01, 0.012, 0.011]), "below", 0.02) == "holds"
    assert decide(summary([0.05, 0.06, 0.055]), "below", 0.02) == "fails"
    assert decide(summary([0.001, 0.05, 0.02]), "below", 0.02) == "inconclusive"


def _claim(budget="equal"):
    return Claim("x", "a is below b", "nobody 2026",
                 (Part(Metric("eval:a", "fid"), "below", against=Metric("eval:b", "fid")),), budget)


def _runs(fids_a, fids_b, steps_b=100):
    return Results(runs={"default": [{"a": {"fid": fa, "steps": 100, "images_seen": 800, "width": 8, "z": 2},
                                      "b": {"fid": fb, "steps": steps_b, "images_seen": 800, "width": 8, "z": 2}}
                                     for fa, fb in zip(fids_a, fids_b)]})


def test_a_claim_holds_fails_or_is_inconclusive_from_its_seeds():
    assert verdict(_claim(), _runs([1.0, 1.1, 0.9], [5.0, 5.2, 4.9]))["verdict"] == "holds"
    assert verdict(_claim(), _runs([5.0, 5.2, 4.9], [1.0, 1.1, 0.9]))["verdict"] == "fails"
    one = verdict(_claim(), _runs([1.0], [5.0]))
    assert one["verdict"] == "inconclusive" and one["n"] == 1 and "1 seed" in one["reason"]


def test_a_comparison_at_unequal_budgets_is_inconclusive_whatever_its_numbers():
    v = verdict(_claim(), _runs([1.0, 1.1, 0.9], [5.0, 5.2, 4.9], steps_b=400))
    assert v["parts"][0]["verdict"] == "holds" and v["verdict"] == "inconclusive"
    assert "unequal budget: steps a 100, b 400" in v["reason"]


def test_every_registered_claim_is_well_formed():
    ids = [c.id for c in CLAIMS]
    assert len(ids) == len(set(ids))
    for c in CLAIMS:
        assert c.statement and c.source and c.parts
        for p in c.parts:
            assert p.direction in ("below", "above")
            assert all(m.source.startswith("eval:") or m.source in ("theory", "modes", "estimators")
                       for m in (p.measured, p.against) if m is not None)


def test_the_claims_table_shows_a_failing_claim_as_failing():
    from genlab.report.sections import claims_section

    failing = verdict(_claim(), _runs([5.0, 5.2, 4.9], [1.0, 1.1, 0.9]))
    text = "\n".join(claims_section({"claims": [failing]}))
    row = next(line for line in text.splitlines() if line.startswith("| **x**"))
    assert "❌ fails" in row and "a fid < b fid" in row and "| 3 |" in row


def test_a_failing_claim_names_its_larger_budget_command_and_a_holding_one_does_not():
    from dataclasses import replace

    from genlab.report.sections import claims_section

    claim = replace(_claim(), larger="dvc exp run -S train.steps=16000 evaluate@a")
    failing = verdict(claim, _runs([5.0, 5.2, 4.9], [1.0, 1.1, 0.9]))
    assert failing["larger_budget"] == claim.larger
    assert f"- **x** (fails): `{claim.larger}`" in "\n".join(claims_section({"claims": [failing]}))
    holding = verdict(claim, _runs([1.0, 1.1, 0.9], [5.0, 5.2, 4.9]))
    assert claim.larger not in "\n".join(claims_section({"claims": [holding]}))


def test_a_pipe_in_a_claim_stays_inside_its_cell():
    """-log p(x2 | x1) and JSD(p || q) are in the registry's statements: the rendered row keeps all six cells."""
    from genlab.report.html import render_html
    from genlab.report.sections import claims_section

    claim = {**verdict(_claim(), _runs([5.0, 5.2, 4.9], [1.0, 1.1, 0.9])), "statement": "-log p(x2 | x1), JSD(p || q)"}
    page = render_html("\n".join(claims_section({"claims": [claim], "seeds": {"default": [0, 1.0, 2.0]}})), Path("."))
    row = page.split("<tbody>")[1].split("</tr>")[0]
    assert row.count("<td>") == 6 and "-log p(x2 | x1), JSD(p || q)" in row
    assert "default: 0, 1, 2." in page
