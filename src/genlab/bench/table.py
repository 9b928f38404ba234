"""The bench as a Markdown table (stdout, README) and the stage times of a timed ``dvc repro``."""

from __future__ import annotations

import json
from pathlib import Path


def read_stage_times(path: Path) -> dict[str, float]:
    """{stage: seconds} from ``benchmarks/time_repro.py``'s output, or {} when there is none."""
    if not path.is_file():
        return {}
    return json.loads(path.read_text()).get("stages", {})


def table(result: dict) -> str:
    m = result["machine"]
    lines = [f"{m['device_name']} ({m['device']}, {m['cpu_cores']} cores, torch {m['torch']}): "
             f"dense matmul {m['matmul_tflops_per_s'] * 1000:.1f} GFLOP/s (n = {m['matmul_n']}, fp32); each MFU uses "
             "the peak re-measured right after that model, in its precision", "",
             "| model | params | batch | train img/s | step ms | train MFLOP/img | GFLOP/s | matmul GFLOP/s | MFU | peak MB | "
             "eval samples/s |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["models"]:
        ev = f"{r['eval_samples_per_s']:.0f}" if "eval_samples_per_s" in r else "–"
        lines.append(f"| {r['model']} | {r['parameters'] / 1e6:.2f} M | {r['batch_size']} | {r['train_images_per_s']:.0f} | "
                     f"{r['train_step_ms']:.1f} | {r['train_flops_per_image'] / 1e6:.1f} | "
                     f"{r['train_tflops_per_s'] * 1000:.1f} | {r['matmul_tflops_per_s'] * 1000:.0f} | {100 * r['mfu']:.0f}% | {r['peak_memory_mb']:.0f} | {ev} |")
    stages = result.get("stage_seconds") or {}
    if stages:
        lines += ["", "| stage | seconds |", "|---|---|"]
        lines += [f"| {k} | {v:.0f} |" for k, v in stages.items()]
        lines.append(f"| **total** | **{sum(stages.values()):.0f}** |")
    return "\n".join(lines)
