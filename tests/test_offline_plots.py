"""`dvc plots diff` with genlab's offline template (vega, vega-lite, vega-embed from npm, inlined): the page renders
its charts in headless Chromium with every network request refused, and makes none."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import sh

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _curve(path: Path, slope: float) -> None:
    path.write_text("step\tloss\n" + "".join(f"{s}\t{100 - slope * s:.3f}\n" for s in range(0, 100, 10)))


def _chromium(page: Path, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium on ``page`` with a proxy that refuses every connection (so nothing can load from a CDN), and
    without the browser's own update and time checks (so that every request logged would be the page's)."""
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9",
                           "--disable-background-networking", "--disable-component-update", "--no-first-run",
                           "--proxy-bypass-list=<-loopback>", "--virtual-time-budget=10000", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=180)


def _render(page: Path, net: Path) -> tuple[int, set[str]]:
    """(charts drawn, URLs the page itself asked the network for) of ``page`` in Chromium; the browser's own
    background requests have no initiating origin and are left out."""
    dom = _chromium(page, "--dump-dom", f"--log-net-log={net}")
    assert dom.returncode == 0, dom.stderr[-2000:]
    log = json.loads(net.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    asked = {e["params"]["url"] for e in log["events"] if e["type"] == start and "url" in e.get("params", {})
             and e["params"].get("initiator") != "not an origin" and not e["params"]["url"].startswith("file:")}
    return dom.stdout.count("<canvas") + dom.stdout.count("<svg"), asked


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None or shutil.which("npm") is None, reason="needs npm and chromium")
def test_dvc_plots_diff_renders_offline(tmp_path):
    """DVC's own page draws nothing with the network refused (its scripts come from a CDN); with the template of
    `genlab plots_template` the same diff draws its chart and asks the network for nothing."""
    repo = tmp_path / "repo"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])), "DVC_NO_ANALYTICS": "1"}
    repo.mkdir()
    (repo / "dvc.yaml").write_text("plots:\n  - loss.tsv:\n      x: step\n      y: loss\n")
    _curve(repo / "loss.tsv", 0.5)
    for cmd in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "curve"]):
        sh(cmd, repo, env)
    _curve(repo / "loss.tsv", 0.8)
    sh([sys.executable, "-m", "dvc", "plots", "diff", "HEAD", "-o", "cdn"], repo, env)
    charts, asked = _render(repo / "cdn" / "index.html", tmp_path / "cdn.json")
    assert charts == 0 and any("cdn.jsdelivr.net" in u for u in asked), asked  # the check can fail
    sh([sys.executable, "-m", "stages", "plots_template"], repo, env)  # npm install + template + dvc config --local
    sh([sys.executable, "-m", "dvc", "plots", "diff", "HEAD", "-o", "offline"], repo, env)
    page = repo / "offline" / "index.html"
    html = page.read_text()
    assert "<script src" not in html and "cdn.jsdelivr" not in html and "vegaEmbed(" in html
    charts, asked = _render(page, tmp_path / "offline.json")
    assert charts >= 1 and not asked, asked
    shot = tmp_path / "plots.png"
    _chromium(page, f"--screenshot={shot}", "--window-size=1000,700")
    assert shot.stat().st_size > 10_000
    print(f"{charts} chart(s) drawn with the network refused, no request; screenshot: {shot}")
