"""torchrun's agent for ``genlab train``: torch's own launcher (:func:`torch.distributed.run.run`) in a process of
its own, so that a failed run ends in one ``error:`` line instead of the launcher's traceback and C++ frames.

Its training processes write their error lines into a folder (:data:`genlab.errors.ERRORS_DIR`) rather than on
stderr: when a node is lost, the processes and the agent all fail at once, and the agent prints only the first.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

from genlab.errors import ERRORS_DIR

RERUN = "start the run again on every node (genlab train MODEL or dvc repro): it resumes from the last checkpoint"


def run(args: list[str]) -> tuple[int, str | None]:
    """Launch torchrun's ``args`` -> (exit code, the line that says why not, if any): 0 when every process
    succeeded; 128 + the signal when Ctrl-C or SIGTERM stopped it (torchrun passes it on to the processes, which
    checkpoint, and the line is training's "interrupted at step ..."); else 2."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.elastic.rendezvous import RendezvousError
    from torch.distributed.run import get_args_parser
    from torch.distributed.run import run as torchrun

    # the launcher's own logs repeat, with C++ frames, what the failed process has said
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    parsed = get_args_parser().parse_args(args)
    with tempfile.TemporaryDirectory(prefix="genlab-errors-") as folder:
        os.environ[ERRORS_DIR] = folder
        code = 2
        try:
            torchrun(parsed)
            return 0, None
        except SignalException as exc:
            code, fallback = 128 + int(exc.sigval), None
        except ChildFailedError as exc:
            rank, failure = exc.get_first_failure()
            fallback = (f"training process {rank} ended with exit code {failure.exitcode}, see its output above"
                        if failure.exitcode > 0 else f"training process {rank} was ended by signal {-failure.exitcode}")
            fallback += f"; {RERUN}"
        except RendezvousError as exc:
            fallback = (f"the rendezvous at {parsed.rdzv_endpoint} failed ({type(exc).__name__}): the node hosting it "
                        f"was lost, or not every node joined within train.rdzv_timeout; check train.rdzv_endpoint and "
                        f"{RERUN}")
        written = sorted(Path(folder).iterdir(), key=lambda p: p.stat().st_mtime_ns)
        return code, written[0].read_text().strip() if written else fallback


def main() -> None:
    code, line = run(sys.argv[1:])
    if line is not None:
        sys.stderr.write((line if line.startswith("error: ") or code > 128 else f"error: {line}") + "\n")
    sys.exit(code)


if __name__ == "__main__":
    main()
