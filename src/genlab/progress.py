"""Progress bars (rate and ETA) that stay readable in logs: redrawn often on a terminal, rarely otherwise."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def progress(total: int, desc: str, initial: int = 0, unit: str = "step", disable: bool = False) -> tqdm:
    interactive = sys.stderr.isatty()
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True,
                mininterval=0.2 if interactive else 30.0, maxinterval=60.0, disable=disable)
