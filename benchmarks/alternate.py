"""Time one DVC stage in two checkouts, alternately (A, B, A, B, ...): the only way this machine's drift, which
moves a whole run by more than 20% between sittings, cancels out of a before/after ratio.

    git clone . /tmp/old && git -C /tmp/old checkout <rev> && make -C /tmp/old repro   # once, for its data
    python benchmarks/alternate.py /tmp/old . train@ae evaluate@vae --reps 2

Each run is ``dvc repro --force --single-item STAGE`` in the checkout, with its own ``.venv`` first on PATH (its
``data/checkpoints/<model>`` is removed first, so a training stage trains rather than resumes). Prints each run's
wall seconds and, for ``train@<model>``, the loop's own ``train_seconds``; then per stage the median of B / A.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path


def run_stage(checkout: Path, stage: str) -> dict[str, float]:
    """Wall seconds of ``dvc repro --force --single-item stage`` in ``checkout`` (and the loop's train_seconds)."""
    kind, _, model = stage.partition("@")
    if kind == "train":
        shutil.rmtree(checkout / "data" / "checkpoints" / model, ignore_errors=True)
    env = {**os.environ, "PATH": f"{checkout / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)  # each checkout's own stages/ and src/, through its editable install
    start = time.perf_counter()
    proc = subprocess.run(["dvc", "repro", "--force", "--single-item", stage], cwd=checkout, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{checkout}: dvc repro {stage} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    out = {"wall_s": wall}
    if kind == "train":
        out["train_seconds"] = json.loads((checkout / "metrics" / "train" / model / "metrics.json").read_text()
                                          )["train_seconds"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a", type=Path, help="checkout A (before)")
    ap.add_argument("b", type=Path, help="checkout B (after)")
    ap.add_argument("stages", nargs="+", help="stage names, e.g. train@ae evaluate@vae")
    ap.add_argument("--reps", type=int, default=2, help="rounds of A then B per stage")
    args = ap.parse_args()
    for stage in args.stages:
        ratios = []
        for rep in range(args.reps):
            a, b = run_stage(args.a.resolve(), stage), run_stage(args.b.resolve(), stage)
            key = "train_seconds" if "train_seconds" in a else "wall_s"
            ratios.append(b[key] / a[key])
            print(f"{stage} round {rep + 1}: A {a}  B {b}  B/A {ratios[-1]:.3f} ({key})", flush=True)
        print(f"{stage}: median B/A {statistics.median(ratios):.3f} over {args.reps} rounds", flush=True)


if __name__ == "__main__":
    main()
