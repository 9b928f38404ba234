"""Ctrl-C and SIGTERM during training: the loop finishes the step, writes a checkpoint at it and stops.

While a :class:`StopRequest` is active, SIGINT and SIGTERM are recorded instead of ending the process at once.
One process stops after the step in which the signal came; data-parallel processes stop at the first log point
after it, where one all-reduce of the flag makes every process stop after the same step (each may have got the
signal during a different step, or only some of them got it), so their checkpoint and RNG states agree.
"""

from __future__ import annotations

import signal
import threading

import torch

from genlab.training import distributed

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """A context manager recording SIGINT / SIGTERM (outside the main thread, where Python cannot catch signals,
    it records nothing and the signals act as usual)."""

    def __init__(self) -> None:
        self.signum = 0
        self._previous: dict = {}

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._record) for s in SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    def _record(self, signum: int, frame) -> None:
        self.signum = self.signum or signum

    def agreed(self, log_point: bool, device: torch.device) -> int:
        """The signal to stop for now (0: go on): the one received, in a single process; with several, the largest
        any process received, asked at log points only."""
        if distributed.size() == 1:
            return self.signum
        return distributed.all_max(self.signum, device) if log_point else 0
