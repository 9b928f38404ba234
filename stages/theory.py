"""``theory``: the classic GAN results measured (D*, JSD identity, saturation, mode collapse)."""

from pathlib import Path

from genlab.config import describe, load_params
from genlab.theory.config import TheoryConfig
from stages.common import GRIDS, METRICS, ParamsOption, stage

HELP = f"""Measure the theory of GANs on known densities, over theory.seeds seeds (0..n-1, one value per seed
in every number): discriminators trained alone against D* = p_data/(p_data+p_g) (and against 1/2 when p_g =
p_data), V(D*, G) against -log 4 + 2 JSD, and the generator gradient under the saturating and non-saturating
losses when D rejects fakes. Writes {METRICS}/theory.json and {GRIDS}/theory/dstar.png (seed 0). Mode
collapse is the modes stage.

Params read:

{describe(TheoryConfig, "theory")}"""


@stage
def run(params: Path = ParamsOption) -> None:
    p = load_params(params, sections={"theory": TheoryConfig})
    # Heavy imports only once the params are valid: a bad param fails fast.
    from genlab.io import write_json
    from genlab.theory.run import run_theory

    write_json(METRICS / "theory.json", run_theory(p.theory, GRIDS / "theory"))
