"""``estimators``: reparameterization vs score function (with a control variate) on the trained VAE's ELBO."""

from pathlib import Path

from genlab.config import describe, load_params
from genlab.gradients.config import EstimatorsConfig
from stages.common import GRIDS, METRICS, MODELS_DIR, PREPARED, ParamsOption, log, stage

HELP = f"""Measure three Monte-Carlo estimators of the gradient of the VAE's expected log-likelihood
(the expectation of log p(x|z) under q(z|x)) with respect to every encoder weight, on a fixed minibatch of test images, at
initialization and at the trained checkpoint ({MODELS_DIR}/vae/model.pt): reparameterization, score function
(REINFORCE), and score function with the optimal control variate a* = cov(f g, g)/var(g). Reports each
one's total variance for every n in estimators.n (and the slope of log var against log n), its distance from
a high-sample reference (bias) next to the distance noise alone gives, and the control variate's measured
variance reduction against the predicted corr². Writes {METRICS}/estimators.json and
{GRIDS}/estimators/variance.png.

Params read: seed, device, and

{describe(EstimatorsConfig, "estimators")}"""


@stage
def run(params: Path = ParamsOption) -> None:
    p = load_params(params, sections={"estimators": EstimatorsConfig})
    # Heavy imports only once the params are valid: a bad param fails fast.
    from genlab.errors import DataError
    from genlab.gradients.run import run_study
    from genlab.io import write_json

    path = MODELS_DIR / "vae" / "model.pt"
    if not path.is_file():
        raise DataError(f"{path}: not found; train the VAE first (dvc repro train@vae)")
    out = run_study(path, PREPARED, p.estimators, p.seed, p.device, GRIDS / "estimators" / "variance.png")
    write_json(METRICS / "estimators.json", out)
    log.info("estimators: %s", {ph: {k: v for k, v in r.items() if isinstance(v, float)} for ph, r in out.items()
                                if isinstance(r, dict)})
