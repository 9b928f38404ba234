"""``theory``: the classic GAN results measured (D*, JSD identity, saturation, mode collapse)."""

from pathlib import Path

from genlab.config import TheoryConfig, describe, load_params
from stages.common import GRIDS, METRICS, ParamsOption, log, stage

HELP = f"""Measure the theory of GANs on known densities, deterministic from seed: the trained D against
D* = p_data/(p_data+p_g), V(D*, G) against -log 4 + 2 JSD, the generator gradient under the
saturating and non-saturating losses when D rejects fakes, and mode coverage on the 8-Gaussian ring
and 25-Gaussian grid (both losses, and with minibatch stddev). Writes {METRICS}/theory.json and
{GRIDS}/theory/dstar.png, {GRIDS}/theory/modes.png.

Params read: seed, and

{describe(TheoryConfig, "theory")}"""


@stage
def run(params: Path = ParamsOption) -> None:
    p = load_params(params)
    # Heavy imports only once the params are valid: a bad param fails fast.
    from genlab.io import write_json
    from genlab.theory.run import run_theory

    out = run_theory(p.theory, p.seed, GRIDS / "theory")
    write_json(METRICS / "theory.json", out)
    log.info("theory: %s", {k: v for k, v in out.items() if isinstance(v, (int, float))})
