"""Run groups for the claims: experiments gathered by `genlab collect`, grouped against the current params and
code, stale evaluations left out; the claims then decide over the seeds of each group."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from genlab.claims.registry import CLAIMS, WIDTHS
from genlab.claims.verdicts import Results, verdict
from genlab import provenance
from genlab.runs import collect, group_of, per_seed, run_groups

ROOT = Path(__file__).resolve().parents[1]
PARAMS = {"seed": 0, "model": {"h": 768}, "vae": {"beta": 1.0}, "gan": {"h": 512, "steps": 6000},
          "pggan": {"mbstd": True}}


def _row(rev: str, **params) -> dict:
    """An exp_show row as DVC writes it (numbers as floats, booleans as strings)."""
    row = {"rev": rev, "Experiment": f"exp-{rev}", "typ": "branch_commit", "params.yaml:seed": 0.0,
           "params.yaml:model.h": 768.0, "params.yaml:vae.beta": 1.0,
           "params.yaml:gan.h": 512.0, "params.yaml:pggan.mbstd": "True"}
    row.update({f"params.yaml:{k}": v for k, v in params.items()})
    return row


def _files(evals: dict[str, dict[str, dict]]):
    return lambda rev, path: evals.get(rev, {}).get(Path(path).stem)


def test_collect_keeps_seed_params_and_numbers_of_finished_rows():
    rows = [_row("workspace"), _row("main"), _row("a1", seed=1.0), _row("b2", **{"model.h": 16.0}),
            _row("empty", seed=3.0)]
    evals = {"main": {"vae": {"fid": 30.0, "code": "c", "curve": [1, 2], "seed": 0}},
             "a1": {"vae": {"fid": 32.0, "code": "c", "seed": 1}, "gan": {"fid": 9.0, "code": "c", "seed": 0}},
             "b2": {"vae": {"fid": 50.0, "code": "c", "seed": 0}}, "workspace": {"vae": {"fid": 1.0, "seed": 0}}}
    out = collect(rows, PARAMS, ["vae", "gan"], _files(evals))
    assert [r["rev"] for r in out["runs"]] == ["main", "a1", "b2"]  # the workspace and a run without numbers: out
    assert [r["seed"] for r in out["runs"]] == [0.0, 1.0, 0.0]
    assert out["runs"][0]["eval"] == {"vae": {"fid": 30.0, "code": "c", "seed": 0}}  # lists (figures): not numbers
    assert set(out["runs"][1]["eval"]) == {"vae"}  # a1 ran for the vae alone: its gan file is seed 0's
    assert out["runs"][2]["params"]["model.h"] == 16.0 and out["runs"][1]["params"]["pggan.mbstd"] is True


def test_collect_leaves_out_what_a_seed_0_sweep_carried_over_from_its_commit():
    """A sweep run for evaluate@vae alone (seed 0, model.h=16) holds the commit's gan file unchanged: not its own."""
    rows = [{**_row("main"), "typ": "baseline"}, _row("h16", **{"model.h": 16.0})]
    gan = {"fid": 9.0, "code": "c", "seed": 0}
    evals = {"main": {"vae": {"fid": 30.0, "code": "c", "seed": 0}, "gan": gan},
             "h16": {"vae": {"fid": 50.0, "code": "c", "seed": 0}, "gan": dict(gan)}}
    out = collect(rows, PARAMS, ["vae", "gan"], _files(evals))
    assert [set(r["eval"]) for r in out["runs"]] == [{"vae", "gan"}, {"vae"}]


def test_groups_pool_seeds_of_equal_params_and_code_and_leave_out_stale_ones():
    runs = [{"name": n, "rev": n, "seed": s, "params": {**p, "seed": s}, "eval": e} for n, s, p, e in [
        ("main", 0.0, {"model.h": 768.0}, {"vae": {"fid": 30.0, "code": "old"}}),  # this run, older: skipped
        ("s1", 1.0, {"model.h": 768.0}, {"vae": {"fid": 32.0, "code": "c"}, "gan": {"fid": 9.0, "code": "old"}}),
        ("s2", 2.0, {"model.h": 768.0}, {"vae": {"fid": 34.0, "code": "c"}}),
        ("s2-again", 2.0, {"model.h": 768.0}, {"vae": {"fid": 99.0, "code": "c"}}),
        ("w16", 0.0, {"model.h": 16.0, "gan.h": 0.0, "gan.steps": 0.0}, {"vae": {"fid": 80.0, "code": "c"}}),
        ("w16b", 1.0, {"model.h": 16.0, "gan.h": 0.0, "gan.steps": 0.0}, {"vae": {"fid": 84.0, "code": "c"}}),
        ("off", 1.0, {"pggan.mbstd": False}, {"pggan": {"fid": 40.0, "code": "c"}})]]
    current = {"vae": {"fid": 31.0, "code": "c"}, "gan": {"fid": 10.0, "code": "c"}, "pggan": {"fid": 35.0, "code": "c"}}
    groups, seeds, stale = run_groups({"runs": runs}, PARAMS, current, 0)
    assert [g["vae"]["fid"] for g in groups["default"]] == [31.0, 32.0, 34.0] and seeds["default"] == [0, 1.0, 2.0]
    assert "gan" not in groups["default"][1]  # its gan was evaluated with other code
    assert stale == ["s1 (default, seed 1.0): gan was evaluated with other code"]
    assert [g["vae"]["fid"] for g in groups["gan.h=0,gan.steps=0,model.h=16"]] == [80.0, 84.0]
    assert set(WIDTHS.values()) >= {"gan.h=0,gan.steps=0,model.h=16"}  # the registry's group names are these
    assert groups["pggan.mbstd=False"] == [{"pggan": {"fid": 40.0, "code": "c"}}]
    assert group_of({"model.h": 16.0, "pggan.mbstd": "False"}) == "model.h=16,pggan.mbstd=False"
    assert per_seed(groups["default"], ("fid", "code")) == {"vae": {"fid": [31.0, 32.0, 34.0]}, "gan": {"fid": [10.0]},
                                                            "pggan": {"fid": [35.0]}}
    # after a code change every collected evaluation is stale: only this run counts
    groups, seeds, stale = run_groups({"runs": runs}, PARAMS, {m: {**e, "code": "new"} for m, e in current.items()}, 0)
    assert list(groups) == ["default"] and len(groups["default"]) == 1 and len(stale) == 7


def test_claims_decide_over_the_groups_seeds():
    """The Progressive GAN ablation holds over three seeds per group when every technique's removal raises FID by
    far more than the spread, and is inconclusive while a group has one seed."""
    claim = next(c for c in CLAIMS if c.id == "pggan-techniques")
    on = [{"pggan": {"fid": f, "steps": 100, "images_seen": 1600, "width": 32, "z": 8}} for f in (35.0, 36.0, 34.5)]
    groups = {"default": on}
    for t in ("mbstd", "equalized_lr", "pixel_norm", "fade_in"):
        groups[f"pggan.{t}=False"] = [{"pggan": {**r["pggan"], "fid": r["pggan"]["fid"] + 10 + i}}
                                      for i, r in enumerate(on)]
    assert verdict(claim, Results(runs=groups))["verdict"] == "holds"
    groups["pggan.fade_in=False"] = groups["pggan.fade_in=False"][:1]
    out = verdict(claim, Results(runs=groups))
    assert out["verdict"] == "inconclusive" and out["n"] == 1


def _copy_code(tmp_path):
    shutil.copytree(ROOT / "src" / "genlab", tmp_path / "genlab", ignore=shutil.ignore_patterns("__pycache__", "*.pt"))
    shutil.copytree(ROOT / "stages", tmp_path / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    roots = {"genlab": tmp_path / "genlab", "stages": tmp_path / "stages"}

    def digest(family: str) -> str:
        files = provenance.closure(["stages.__main__", "stages.train", "stages.evaluate", f"genlab.models.{family}"],
                                   roots)
        return provenance.code_digest(files, tmp_path)
    return digest


def test_an_evaluations_code_digest_follows_its_own_familys_code_and_not_its_comments(tmp_path):
    digest = _copy_code(tmp_path)
    before = {f: digest(f) for f in ("vae", "gan", "aae", "vaegan")}
    assert len(set(before.values())) == 4
    gan = tmp_path / "genlab" / "models" / "gan.py"
    text = gan.read_text()
    gan.write_text(text.replace('"""', '"""A reflowed\n  docstring. ', 1).replace("\nimport", "\n# a comment\nimport", 1))
    assert {f: digest(f) for f in before} == before  # comments and docstrings are not code
    gan.write_text(text.replace("self.h, self.z = cfg.h or model.h, cfg.z or model.z",
                                "self.z, self.h = cfg.z or model.z, cfg.h or model.h"))
    after = {f: digest(f) for f in before}
    assert after["vae"] == before["vae"] and after["aae"] == before["aae"]  # other families' runs stay valid
    assert after["gan"] != before["gan"] and after["vaegan"] != before["vaegan"]  # vaegan reuses gan's D


def test_runs_pool_only_when_code_and_setup_agree_and_by_the_params_each_model_reads():
    setup = {"judge": "j1", "device": "cpu"}
    reads = {"vae": ["seed", "vae", "model.h"], "gan": ["seed", "gan"]}
    current = {m: {"fid": 1.0, "code": m, "setup": setup, "reads": reads[m]} for m in reads}

    def run(name, seed, params, **evals):
        return {"name": name, "seed": seed, "params": {"seed": seed, **params}, "eval": evals}

    def ev(model, fid, **extra):
        return {"fid": fid, "code": model, "setup": setup, "reads": reads[model], **extra}

    collected = {"runs": [
        run("s1", 1, {"vae.beta": 2.0}, vae=ev("vae", 5.0), gan=ev("gan", 2.0)),  # before an edit of vae's section
        run("s2", 2, {}, vae=ev("vae", 3.0, setup={"judge": "j0", "device": "cpu"}), gan=ev("gan", 4.0)),
        run("s3", 3, {}, gan=ev("gan", 6.0, code="old")),
        run("h", 0, {"model.h": 16.0}, vae=ev("vae", 7.0), gan=ev("gan", 1.0)),  # gan reads no model.h
    ]}
    groups, seeds, left_out = run_groups(collected, PARAMS, current, 0)
    assert seeds["default"] == [0, 1, 2]
    assert [sorted(r) for r in groups["default"]] == [["gan", "vae"], ["gan"], ["gan"]]
    assert [r["gan"]["fid"] for r in groups["default"]] == [1.0, 2.0, 4.0]
    assert seeds["vae.beta=2"] == [1] and groups["vae.beta=2"] == [{"vae": collected["runs"][0]["eval"]["vae"]}]
    assert groups["model.h=16"] == [{"vae": collected["runs"][3]["eval"]["vae"]}]
    assert sorted(left_out) == ["s2 (default, seed 2): vae was evaluated with another setup",
                                "s3 (default, seed 3): gan was evaluated with other code"]


def test_collect_reads_list_params_back_as_lists():
    """exp_show writes a list param as its repr: the collected run must still equal params.yaml there."""
    from stages.collect import _lists

    row = {**_row("a1", seed=1.0), "params.yaml:estimators.n": "[1, 4, 16, 64]", "params.yaml:cvae.mode": "[x"}
    params = {**PARAMS, "estimators": {"n": [1, 4, 16, 64]}}
    run = collect([_lists(row)], params, ["vae"], _files({"a1": {"vae": {"fid": 1.0, "code": "c", "seed": 1}}}))
    assert run["runs"][0]["params"]["estimators.n"] == [1, 4, 16, 64]
    assert _lists(row)["params.yaml:cvae.mode"] == "[x"  # not a list literal: left as it is
    groups, seeds, _ = run_groups(run, params, {"vae": {"fid": 2.0, "code": "c"}}, 0)
    assert seeds == {"default": [0, 1.0]}


def test_a_seed_run_in_two_experiments_for_different_stages_counts_both():
    """Seed 1 of the AE in one experiment and seed 1 of the PGGAN in a later one: the default group has both."""
    from stages.collect import one_run_per_seed

    rows = [{**_row("main"), "typ": "baseline"}, _row("pg1", seed=1), _row("ae1", seed=1)]
    evals = {"main": {"ae": {"fid": 250.0, "code": "c", "seed": 0}, "pggan": {"fid": 35.0, "code": "c", "seed": 0}},
             "pg1": {"ae": {"fid": 250.0, "code": "c", "seed": 0}, "pggan": {"fid": 39.0, "code": "c", "seed": 1}},
             "ae1": {"ae": {"fid": 259.0, "code": "c", "seed": 1}, "pggan": {"fid": 35.0, "code": "c", "seed": 0}}}
    out = one_run_per_seed(collect(rows, PARAMS, ["ae", "pggan"], _files(evals)))
    assert [(r["name"], r["seed"], sorted(r["eval"])) for r in out["runs"]] == [
        ("exp-main", 0, ["ae", "pggan"]), ("exp-pg1+exp-ae1", 1.0, ["ae", "pggan"])]
    current = {m: {k: v for k, v in e.items() if k != "seed"} for m, e in evals["main"].items()}
    groups, seeds, _ = run_groups(out, PARAMS, current, 0)
    assert seeds["default"] == [0, 1.0]
    assert per_seed(groups["default"], ("fid",)) == {"ae": {"fid": [250.0, 259.0]}, "pggan": {"fid": [35.0, 39.0]}}


def test_a_stale_evaluation_listed_first_does_not_shadow_a_fresh_one_of_the_same_seed():
    """Seed 1 of the AE evaluated by an experiment of old code and, later, by one of this code: the merged run keeps
    the fresh evaluation, and the claims' group counts seed 1."""
    from stages.collect import one_run_per_seed

    rows = [{**_row("main"), "typ": "baseline"}, _row("old1", seed=1), _row("new1", seed=1)]
    evals = {"main": {"ae": {"fid": 250.0, "code": "c", "seed": 0}},
             "old1": {"ae": {"fid": 300.0, "code": "old", "seed": 1}},
             "new1": {"ae": {"fid": 259.0, "code": "c", "seed": 1}}}
    collected = collect(rows, PARAMS, ["ae"], _files(evals))
    assert one_run_per_seed(collected)["runs"][1]["eval"]["ae"]["fid"] == 300.0  # without the digest: first listed
    out = one_run_per_seed(collected, {"ae": "c"})
    assert [(r["name"], r["eval"]["ae"]["fid"]) for r in out["runs"]] == [("exp-main", 250.0), ("exp-old1+exp-new1", 259.0)]
    groups, seeds, stale = run_groups(out, PARAMS, {"ae": {"fid": 250.0, "code": "c"}}, 0)
    assert seeds["default"] == [0, 1.0] and not stale
    assert per_seed(groups["default"], ("fid",)) == {"ae": {"fid": [250.0, 259.0]}}


def test_runs_json_accumulates_valid_runs_and_drops_the_others():
    from genlab.runs import accumulate

    setup = {"judge": "j1"}
    current = {"vae": {"code": "v2", "setup": setup}, "gan": {"code": "g1", "setup": setup}}
    kept = {"runs": [{"name": "old", "rev": "r1", "seed": 1, "params": {"seed": 1},
                      "eval": {"vae": {"fid": 5.0, "code": "v1", "setup": setup},  # before an edit of the VAE
                               "gan": {"fid": 2.0, "code": "g1", "setup": setup}}}]}
    fresh = {"runs": [{"name": "new", "rev": "r2", "seed": 1, "params": {"seed": 1},
                       "eval": {"vae": {"fid": 4.0, "code": "v2", "setup": setup}}},
                      {"name": "gpu", "rev": "r3", "seed": 2, "params": {"seed": 2},
                       "eval": {"gan": {"fid": 1.0, "code": "g1", "setup": {"judge": "j0"}}}}]}
    out, dropped = accumulate(kept, fresh, current)
    assert dropped == 2 and [r["seed"] for r in out["runs"]] == [1]  # the other judge's run is gone whole
    assert out["runs"][0]["eval"] == {"gan": kept["runs"][0]["eval"]["gan"], "vae": fresh["runs"][0]["eval"]["vae"]}
    assert out["runs"][0]["rev"] == "r1+r2"
    again, dropped = accumulate(out, {"runs": []}, current)  # a session with no new experiments loses nothing
    assert again == out and dropped == 0


def test_seeds_queue_exactly_what_the_groups_lack():
    from genlab.runs import missing

    plan = [({}, ("vae", "aae")), ({"model.h": 16}, ("vae",))]
    groups = {"default": [{"vae": {}, "aae": {}}, {"vae": {}}], "model.h=16": [{"vae": {}}]}
    seeds = {"default": [0, 1], "model.h=16": [0]}
    assert missing(plan, groups, seeds, [0, 1, 2], 0) == [
        ({}, 1, ["aae"]), ({}, 2, ["vae", "aae"]), ({"model.h": 16}, 1, ["vae"]), ({"model.h": 16}, 2, ["vae"])]
    complete = {"default": [{"vae": {}, "aae": {}}] * 3, "model.h=16": [{"vae": {}}] * 3}
    assert missing(plan, complete, {"default": [0, 1, 2], "model.h=16": [0, 1, 2]}, [0, 1, 2], 0) == []
