"""``modes``: mode collapse on the 2-D ring and grid, every variant over seeds (the PacGAN protocol)."""

from pathlib import Path

from genlab.config import describe, load_params
from genlab.theory.config import ModesConfig
from stages.common import GRIDS, METRICS, ParamsOption, stage

HELP = f"""Train the GAN variants (vanilla non-saturating, saturating, minibatch stddev, PacGAN with m = 2, 3, 4,
WGAN-GP) on the 8-Gaussian ring (radius 1, std 0.01) and the 25-Gaussian grid (std 0.05), modes.seeds seeds each,
all seeds of a variant as one batched model, one variant per CPU core at a time (the toys run on the CPU
also where CUDA is present: they are too small for a GPU); score 2,500 points per run: modes covered (PacGAN's rule: one
high-quality point within 3 std; and at least 20), the high-quality share and the reverse KL of the mode
histogram, with means, standard errors and 95% intervals over seeds. Writes {METRICS}/modes.json (with the
published rows of PacGAN and VEEGAN beside ours), {GRIDS}/modes/modes.png and {GRIDS}/modes/curves.png.

Params read:

{describe(ModesConfig, "modes")}"""


@stage
def run(params: Path = ParamsOption) -> None:
    p = load_params(params, sections={"modes": ModesConfig})
    from genlab.device import cpu_cores
    from genlab.io import write_json
    from genlab.theory.modes import run_modes

    write_json(METRICS / "modes.json", run_modes(p.modes, GRIDS / "modes", workers=cpu_cores()))
