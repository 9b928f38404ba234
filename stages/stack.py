"""``stack``: stacked MNIST from the prepared digits -> data/stacked (the mode-collapse benchmark's 1,000 modes)."""

from pathlib import Path

from genlab.config import StackedConfig, describe, load_params
from stages.common import PREPARED, ParamsOption, stage

STACKED = Path("data/stacked")

HELP = f"""Build stacked MNIST into {STACKED}/ from the prepared digits ({PREPARED}): each image holds three digits
as its three channels, drawn as seeded random triplets, so the data have 1,000 modes (Metz et al. 2017,
Srivastava et al. 2017, Lin et al. 2018). Models whose start is `stacked` train on it; their evaluation counts
the modes they cover with the domain classifier on each channel.

Params read:

{describe(StackedConfig, "stacked")}"""


@stage
def run(params: Path = ParamsOption) -> None:
    p = load_params(params)
    from genlab.data.prepare import stack_prepared

    stack_prepared(PREPARED, p.stacked.size, STACKED)
