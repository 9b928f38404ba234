"""Time every stage of a ``dvc repro``: runs it (extra arguments are passed on, e.g. ``--force``), stamps each
"Running stage" line, and writes metrics/stage_times.json, which ``genlab bench`` adds to its table.

    python benchmarks/time_repro.py --force     # every stage, from scratch (clear data/checkpoints first)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from genlab.io import write_json

STAGE = re.compile(r"Running stage '([^']+)'")


def main() -> int:
    cmd = ["dvc", "repro", *sys.argv[1:]]
    times: dict[str, float] = {}
    current, t_stage = None, time.perf_counter()
    t0 = t_stage
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    for line in proc.stdout:
        sys.stdout.write(line)
        match = STAGE.search(line)
        if match:
            now = time.perf_counter()
            if current:
                times[current] = now - t_stage
            current, t_stage = match.group(1), now
    code = proc.wait()
    if current:
        times[current] = time.perf_counter() - t_stage
    if code == 0:
        write_json(Path("metrics/stage_times.json"), {"command": " ".join(cmd), "stages": times,
                                                      "total_seconds": time.perf_counter() - t0})
        print(json.dumps(times, indent=1))
    return code


if __name__ == "__main__":
    sys.exit(main())
