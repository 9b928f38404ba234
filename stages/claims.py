"""``claims``: every registered claim's verdict from the pipeline's results, over the seeds they have."""

from pathlib import Path

from genlab.config import load_params
from stages.common import EVAL, METRICS, RUNS, ParamsOption, log, raw_params, read_metrics, stage

HELP = f"""Decide every claim of the lab (src/genlab/claims/registry.py) from the results of this run: each model's
{EVAL}/<model>.json, the seeds and sweeps of {RUNS} (written by genlab collect; evaluations of other code are
left out as stale), {METRICS}/theory.json, {METRICS}/modes.json and {METRICS}/estimators.json (their stages run
their seeds inside). A claim's parts compare a per-seed mean with a bound, or two run groups by Welch's
difference, through 95% Student t intervals; a claim holds when every part's interval is on the claimed side,
fails when one is on the other side, and is inconclusive otherwise (one seed: always). Writes
{METRICS}/claims.json."""


@stage
def run(params: Path = ParamsOption) -> None:
    p = load_params(params)
    from genlab.claims.verdicts import Results, all_verdicts
    from genlab.io import write_json
    from genlab.report.tables import HEADLINE
    from genlab.runs import per_seed, run_groups

    current = {m: r for m in p.models if (r := read_metrics(EVAL / f"{m}.json")) is not None}
    groups, seeds, stale = run_groups(read_metrics(RUNS), raw_params(params), current, p.seed)
    for line in stale:
        log.warning("claims: left out %s", line)
    results = Results(runs=groups,
                      files={name: f for name in ("theory", "modes", "estimators")
                             if (f := read_metrics(METRICS / f"{name}.json"))})
    verdicts = all_verdicts(results)
    write_json(METRICS / "claims.json", {"seeds": seeds, "stale": stale, "claims": verdicts,
                                         "spread": per_seed(groups["default"], HEADLINE)})
    log.info("claims: %s", {v["id"]: v["verdict"] for v in verdicts})
