"""The pipeline end to end. By default: ``dvc repro`` with tiny params in a temporary clone, of one model's chain
and two phases of the Progressive GAN (an experiment reruns only what its param reaches), and the claims and
report stages rerun over the checkout's own results. Marked slow: the whole graph with tiny params, every stage
and every metric (~7 min), and the ablation, queue-sweep and kill-and-resume runs."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from helpers import exp_rows, sh

ROOT = Path(__file__).resolve().parents[1]
VAE_KEYS = {"fid", "is", "kid", "precision", "recall", "classes_covered", "class_kl", "elbo", "recon_mse",
            "n_samples", "steps", "train_seconds", "parameters"}


def test_a_sub_graph_reproduces_and_an_experiment_reruns_only_the_phase_its_param_reaches(clone):
    """prepare, classifier, the vae's chain and pggan's 4- and 8-pixel phases: their metrics and grids are written;
    a param of the 8-pixel phase changes only its training stage (the phase below stays cached); `dvc exp run` of it
    reruns that phase and its evaluation, shows up in `dvc exp show`, and `dvc metrics diff` names only its files."""
    dest, env = clone
    targets = ["evaluate@vae", "evaluate@pggan-8"]
    out = sh([sys.executable, "-m", "dvc", "repro", *targets], dest, env)
    assert set(re.findall(r"Running stage '([^']+)'", out)) == {
        "prepare", "resolve", "classifier", "train@vae", "evaluate@vae", "train@pggan-4", "train@pggan-8",
        "evaluate@pggan-8"}
    judge = json.loads((dest / "metrics" / "classifier.json").read_text())
    assert judge["judge"] == "shipped" and judge["test_accuracy"] > 0.99  # the tiny data's test split is MNIST's
    vae_eval = json.loads((dest / "metrics" / "eval" / "vae.json").read_text())
    assert vae_eval["setup"]["judge"] == judge["sha256"][:16] and vae_eval["setup"]["precision"] == "fp32"
    assert {"vae", "model.h", "train.lr", "eval"} <= set(vae_eval["reads"]) and "train.log_every" not in vae_eval["reads"]
    ev = dest / "metrics" / "eval"
    vae = json.loads((ev / "vae.json").read_text())
    assert VAE_KEYS <= set(vae), VAE_KEYS - set(vae)
    assert vae["n_samples"] == 200 and vae["steps"] == 20 and 0 < vae["nll_iw"] < -vae["elbo"] * 1.05
    phase = json.loads((ev / "pggan-8.json").read_text())
    below = json.loads((dest / "data" / "models" / "pggan-4" / "train.json").read_text())
    assert phase["grows"] == {"resolution": 8, "final": False}
    assert {p["resolution"] for p in phase["phases"]} == {8} and phase["phases"][0]["start"] == below["steps"] > 0
    for name in ("vae/samples.png", "vae/recon.png", "pggan-8/samples.png"):
        assert (dest / "metrics" / "grids" / name).stat().st_size > 0, name
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["models"]["pggan-8"]["kimg_stable"] = 1.5
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    status = json.loads(sh([sys.executable, "-m", "dvc", "status", "--json", "--with-deps", *targets], dest, env))
    assert set(status) == {"resolve"}, sorted(status)  # a param change reaches the specs first ...
    sh([sys.executable, "-m", "dvc", "repro", "--single-item", "resolve"], dest, env)
    status = json.loads(sh([sys.executable, "-m", "dvc", "status", "--json", "--with-deps", *targets], dest, env))
    assert set(status) == {"train@pggan-8"}, sorted(status)  # ... and through them the one phase it changes
    del params["models"]["pggan-8"]["kimg_stable"]
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    sh([sys.executable, "-m", "dvc", "repro", "--single-item", "resolve"], dest, env)
    status = json.loads(sh([sys.executable, "-m", "dvc", "status", "--json", "--with-deps", *targets], dest, env))
    assert status == {}, status  # the specs as they were: nothing to rerun
    sh(["git", "add", "-A"], dest, env)
    sh(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "baseline run"], dest, env)
    # resolve ran at kimg_stable 1.5 above: DVC's run cache restores its specs instead of running it
    diff = _sweep_kimg_stable(dest, env, "pggan-8", targets, {"train@pggan-8", "evaluate@pggan-8"})
    assert "metrics/eval/pggan-8.json" in diff, sorted(diff)
    assert set(diff) <= {"metrics/eval/pggan-8.json", "metrics/train/pggan-8/metrics.json"}, sorted(diff)


def _sweep_kimg_stable(dest: Path, env: dict, phase: str, targets: list[str], reruns: set[str]) -> dict:
    """`dvc exp run -S ++models.<phase>.kimg_stable=1.5 [targets]`: exactly the stages ``reruns`` run, `dvc exp
    show` has the phase's FID at both values (and they differ); returns `dvc metrics diff --json HEAD`."""
    out = sh([sys.executable, "-m", "dvc", "exp", "run", "-S", f"++models.{phase}.kimg_stable=1.5", *targets], dest, env)
    ran = set(re.findall(r"Running stage '([^']+)'", out))
    assert ran == reruns, ran
    shown = json.loads(sh([sys.executable, "-m", "dvc", "exp", "show", "--json"], dest, env))
    scores = f"metrics/eval/{phase}.json"
    fid = {r["params"]["params.yaml"]["data"]["models"][phase].get("kimg_stable"): r["metrics"][scores]["data"]["fid"]
           for r in exp_rows(shown) if scores in r.get("metrics", {})}
    assert {None, 1.5} <= set(fid) and fid[1.5] != fid[None], fid
    return json.loads(sh([sys.executable, "-m", "dvc", "metrics", "diff", "--json", "HEAD"], dest, env))


def test_the_claims_and_the_report_are_what_the_code_makes_of_the_results_in_the_checkout(tmp_path):
    """`python -m stages claims` and `report`, rerun in a copy of the tracked files with their results (on CI: main
    as committed), write report.md and scores.csv byte for byte and claims.json and summary.json equal up to float
    rounding (a sum's last bit moves with the Python version): main shows the current results."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    for rel in filter(None, files.stdout.split("\0")):
        if (ROOT / rel).is_file():
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_bytes((ROOT / rel).read_bytes())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    outputs = ("claims.json", "summary.json", "report.md", "scores.csv")
    before = {f: (tmp_path / "metrics" / f).read_bytes() for f in outputs}
    for f in outputs:
        (tmp_path / "metrics" / f).unlink()
    for stage in ("claims", "report"):
        sh([sys.executable, "-m", "stages", stage], tmp_path, env)
    fix = "rerun `python -m stages claims && python -m stages report` (or dvc repro) and commit metrics/"
    for f in outputs:
        after = (tmp_path / "metrics" / f).read_bytes()
        if f.endswith(".json"):
            assert _close(json.loads(after), json.loads(before[f])), f"metrics/{f} is stale: {fix}"
        else:
            assert after == before[f], f"metrics/{f} is stale: {fix}"
    report = before["report.md"].decode()
    assert report.index("## Claims") < report.index("## Models") and "| vaegan |" in report


def _close(a, b) -> bool:
    """Equal JSON values, floats within a relative 1e-9."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-9)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_close, a, b))
    return a == b


@pytest.mark.slow
def test_smoke_dvc_repro(clone):
    """The whole graph with tiny params: every stage runs, every metric and grid is there."""
    dest, env = clone
    sh([sys.executable, "-m", "dvc", "repro"], dest, env)
    ev = dest / "metrics" / "eval"
    grids = dest / "metrics" / "grids"
    metrics = json.loads((ev / "vae.json").read_text())
    assert VAE_KEYS <= set(metrics), VAE_KEYS - set(metrics)
    assert metrics["n_samples"] == 200 and metrics["steps"] == 20
    gan = json.loads((ev / "gan.json").read_text())
    assert VAE_KEYS - {"elbo", "recon_mse"} <= set(gan) and "elbo" not in gan
    for name in ("ae", "aae", "vaegan"):
        m = json.loads((ev / f"{name}.json").read_text())
        assert VAE_KEYS - {"elbo"} | {"latent_prior_gap", "interp_confident", "sharpness"} <= set(m), name
        assert m["steps"] == 20, name  # train.steps caps each model's own step budget
    assert "fid" in json.loads((ev / "ae.json").read_text())["fitted_gaussian"]
    theory = json.loads((dest / "metrics" / "theory.json").read_text())
    for key in ("dstar_max_abs_err", "jsd_identity_max_err", "equal_value_minus_log4"):
        assert len(theory[key]) == 2 and all(isinstance(v, float) for v in theory[key]), key
    modes = json.loads((dest / "metrics" / "modes.json").read_text())
    assert set(modes["variants"]) == {"gan", "saturating", "mbstd", "pacgan2", "pacgan3", "pacgan4", "wgan-gp"}
    assert len(modes["variants"]["pacgan2"]["grid"]["modes"]) == 2 and "PacGAN Table 1" in modes["published"]
    stacked = json.loads((ev / "gan-stacked-pack2.json").read_text())
    assert 1 <= stacked["stacked_modes"] <= 1000 and stacked["stacked_samples"] == 500 and stacked["dataset"] == "stacked-mnist"
    for name in ("vae/samples.png", "vae/recon.png", "gan/samples.png", "theory/dstar.png", "modes/modes.png",
                 "modes/curves.png", "gan-stacked/samples.png",
                 "ae/samples.png", "ae/samples_fitted_gaussian.png", "ae/interp.png", "aae/samples.png", "aae/interp.png",
                 "vaegan/samples.png", "vaegan/recon.png"):
        assert (grids / name).stat().st_size > 0, name
    summary = json.loads((dest / "metrics" / "summary.json").read_text())
    assert "vae" in summary["models"] and summary["baseline"]["fid"] >= 0
    report = (dest / "metrics" / "report.md").read_text()
    assert "| vae |" in report and "| gan |" in report and "real data" in report and "grids/vae/samples.png" in report
    page = (dest / "metrics" / "report.html").read_text()
    assert page.count("<tr>") > 10 and 'src="data:image/png;base64,' in page and "FID ↓ (domain)" in page
    assert (dest / "metrics" / "curves" / "vae.png").is_file() and "model,fid" in (dest / "metrics" / "scores.csv").read_text()
    vae_metrics = json.loads((ev / "vae.json").read_text())
    assert 0 < vae_metrics["nll_iw"] < -vae_metrics["elbo"] * 1.05 and vae_metrics["iw_samples"] == 5
    assert "GAN theory, measured" in report and "| vaegan |" in report and "| ae (fitted gaussian) |" in report
    assert "## Mode collapse" in report and "### Stacked MNIST (1,000 modes)" in report and "| gan-stacked |" in report
    claims = json.loads((dest / "metrics" / "claims.json").read_text())
    assert {c["id"] for c in claims["claims"]} >= {"ae-cannot-generate", "aae-matches-prior", "vaegan-sharper"}
    assert all(c["verdict"] in ("holds", "fails", "inconclusive") for c in claims["claims"])
    assert "## Claims" in report and report.index("## Claims") < report.index("## Models")
    # Progressive GAN grows in four phase stages, each continuing the one below; each phase is scored
    phases = {name: json.loads((ev / f"{name}.json").read_text()) for name in ("pggan-4", "pggan-8", "pggan-16", "pggan")}
    assert [m["grows"]["resolution"] for m in phases.values()] == [4, 8, 16, 32]
    assert [m["grows"]["final"] for m in phases.values()] == [False, False, False, True]
    assert [{p["resolution"] for p in m["phases"]} for m in phases.values()] == [{4}, {8}, {16}, {32}]
    assert all(m["phases"][0]["start"] == prev["steps"] for prev, m in zip(list(phases.values()), list(phases.values())[1:]))
    assert all(isinstance(m["fid"], float) and (grids / name / "samples.png").stat().st_size > 0
               for name, m in phases.items())
    assert "## pggan, phase by phase" in report and "| pggan-16 (16² phase) |" in report
    # a change to the last phase's params changes only that training stage; the phases below stay cached (claims
    # and report read the whole models mapping, a param DVC can only watch as one)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["models"]["pggan"]["kimg_stable"] = 1.5
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    status = json.loads(sh([sys.executable, "-m", "dvc", "status", "--json"], dest, env))
    assert set(status) == {"train@pggan", "claims", "report"}, sorted(status)
    del params["models"]["pggan"]["kimg_stable"]
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    cvae = json.loads((ev / "cvae.json").read_text())
    for key in ("fid", "ncll", "ncll_regression", "completion_mse", "completion_mse_regression",
                "completion_mse_best_of_8", "completion_accuracy", "completion_regression_accuracy"):
        assert isinstance(cvae[key], float), key
    assert cvae["iw_images"] == 50 and "fid" in cvae["regression"] and cvae["steps"] == 20
    for name in ("cvae/samples.png", "cvae/completions.png", "cvae/samples_regression.png", "estimators/variance.png"):
        assert (grids / name).stat().st_size > 0, name
    est = json.loads((dest / "metrics" / "estimators.json").read_text())
    for phase in ("init", "trained"):
        assert set(est[phase]["var_score"]) == {"n1", "n4"} and est[phase]["var_score"]["n1"] > 0
        assert 0 <= est[phase]["cv_reduction_predicted"] <= 1
    assert "## cvae vs the deterministic baseline" in report and "| cvae † |" in report
    assert "## Gradient estimators on the VAE's ELBO" in report
    # experiments: a swept param reruns what depends on it and shows up in exp show and metrics diff
    sh(["git", "add", "-A"], dest, env)
    sh(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "baseline run"], dest, env)
    # sweeping the last phase reruns it and what reads it, and nothing else
    diff = _sweep_kimg_stable(dest, env, "pggan", [], {"resolve", "train@pggan", "evaluate@pggan", "claims", "report"})
    assert "metrics/eval/pggan.json" in diff and "metrics/eval/pggan-16.json" not in diff


@pytest.mark.slow
def test_an_ablation_experiment_reruns_only_its_model_and_reaches_the_report(clone):
    """`dvc exp run -S pggan.mbstd=false` reruns only the Progressive GAN; `genlab ablation` finds it and the
    report shows it."""
    dest, env = clone
    sh([sys.executable, "-m", "dvc", "repro"], dest, env)
    sh(["git", "add", "-A"], dest, env)
    sh(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "baseline run"], dest, env)
    out = sh([sys.executable, "-m", "dvc", "exp", "run", "-S", "pggan.mbstd=false"], dest, env)
    assert "Running stage 'train@pggan'" in out
    assert not any(f"Running stage 'train@{m}'" in out for m in ("vae", "gan", "ae", "aae", "vaegan", "cvae")), out
    sh([sys.executable, "-m", "stages", "ablation"], dest, env)
    ablation = json.loads((dest / "metrics" / "ablations" / "pggan.json").read_text())
    assert [r["changed"] for r in ablation["rows"]] == [{}, {"mbstd": False}], ablation
    assert all(isinstance(r["metrics"]["fid"], float) for r in ablation["rows"])
    assert "### Ablation of pggan's techniques" in (dest / "metrics" / "report.md").read_text()


def _wait_for_queue(dest: Path, env: dict, timeout: float = 900) -> str:
    """Poll ``dvc queue status`` until nothing is queued or running; returns the last status table."""
    deadline = time.monotonic() + timeout
    while True:
        status = sh([sys.executable, "-m", "dvc", "queue", "status"], dest, env)
        if not any(word in status for word in ("Queued", "Running")):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(3)


@pytest.mark.slow
def test_queue_sweep_and_a_two_process_repro(clone):
    """The README's sweep: two queued experiments run by `dvc queue start` show up in `dvc exp show --json` with
    different metrics; then `dvc repro` of one model with train.nproc: 2 (torchrun, Gloo) completes."""
    dest, env = clone
    sh([sys.executable, "-m", "dvc", "repro", "evaluate@ae"], dest, env)
    sh(["git", "add", "-A"], dest, env)
    sh(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "baseline run"], dest, env)
    sh([sys.executable, "-m", "dvc", "exp", "run", "--queue", "-S", "model.h=16,32", "evaluate@ae"], dest, env)
    sh([sys.executable, "-m", "dvc", "queue", "start", "-j", "1"], dest, env)
    status = _wait_for_queue(dest, env)
    assert status.count("Success") == 2, status
    shown = json.loads(sh([sys.executable, "-m", "dvc", "exp", "show", "--json"], dest, env))
    fid = {r["params"]["params.yaml"]["data"]["model"]["h"]: r["metrics"]["metrics/eval/ae.json"]["data"]["fid"]
           for r in exp_rows(shown) if "metrics/eval/ae.json" in r.get("metrics", {})}
    assert {16, 32} <= set(fid) and fid[16] != fid[32], fid
    print(sh([sys.executable, "-m", "dvc", "exp", "show", "--only-changed", "--md"], dest, env))
    # a 2-process repro: the stage relaunches itself under torchrun; rank 0 writes the model and the metrics
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["train"]["nproc"] = 2
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    start = time.monotonic()
    out = sh([sys.executable, "-m", "dvc", "repro", "evaluate@ae"], dest, env)
    assert "Running stage 'train@ae'" in out and "Running stage 'evaluate@ae'" in out
    print(f"2-process dvc repro evaluate@ae: {time.monotonic() - start:.1f}s")
    train = json.loads((dest / "data" / "models" / "ae" / "train.json").read_text())
    assert train["processes"] == 2 and train["steps"] == 20
    assert isinstance(json.loads((dest / "metrics" / "eval" / "ae.json").read_text())["fid"], float)


@pytest.mark.slow
def test_kill_9_of_dvc_repro_then_dvc_repro_resumes_to_the_uninterrupted_weights(clone, tmp_path):
    """`dvc repro` killed (SIGKILL to its whole process group) during train@ae; the next `dvc repro` resumes from
    the newest checkpoint (DVC leaves data/checkpoints alone) and ends at the weights of an uninterrupted run."""
    from helpers import default_params

    from genlab.io import load_torch
    from genlab.training.run import train_model

    dest, env = clone
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["train"].update(steps=600, checkpoint_every=50)
    params["ae"]["steps"] = 0
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    sh([sys.executable, "-m", "dvc", "repro", "prepare"], dest, env)
    ckpts = dest / "data" / "checkpoints" / "ae"
    proc = subprocess.Popen([sys.executable, "-m", "dvc", "repro", "train@ae"], cwd=dest, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while not list(ckpts.glob("step_*.pt")) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = max(int(p.stem[5:]) for p in ckpts.glob("step_*.pt"))
    assert not (dest / "data" / "models" / "ae" / "model.pt").exists() and killed_at < 600
    out = sh([sys.executable, "-m", "dvc", "repro", "train@ae"], dest, env)
    assert "Running stage 'train@ae'" in out
    resumed = load_torch(dest / "data" / "models" / "ae" / "model.pt")["weights"]
    p = default_params(dest / "params.yaml")
    train_model("ae", p, dest / "data" / "prepared", tmp_path / "a", tmp_path / "ck", tmp_path / "live")
    uninterrupted = load_torch(tmp_path / "a" / "model.pt")["weights"]
    print(f"dvc repro killed with checkpoint step {killed_at} on disk; max |w| difference after resume: "
          f"{max((resumed[k] - uninterrupted[k]).abs().max().item() for k in resumed)}")
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in resumed)
