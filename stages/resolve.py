"""``resolve``: every model of params.yaml, resolved once into the specs its training and evaluation depend on."""

from pathlib import Path

from stages.common import SPECS, ParamsOption, log, stage

#: the pipeline's stages besides resolve, train and evaluate: each depends on data/specs/stages/<stage>.json
STAGES = ("prepare", "stack", "classifier", "baseline", "theory", "modes", "estimators", "claims", "report")

HELP = f"""Check every model of params.yaml's models (its family's section with its overrides) and write
{SPECS}/models/MODEL/train.json and evaluate.json: the parsed values of exactly the params that shape the model
(its family's section and entry, the model keys its networks read, every train key but the run-only ones, seed,
device, data) or its evaluation (eval, seed, device), and the digest of the code its train (or evaluate) process
runs, its own family's file and no other's (comments and docstrings aside). train@MODEL and evaluate@MODEL depend
on these files instead of on params and code: a change to one family, to one model's entry or to a param that
only some models read reruns those models alone, and a comment, a cadence (train.log_every) or a rendezvous
setting reruns no training. Likewise {SPECS}/stages/STAGE.json holds the digest of the code of every other stage
({", ".join(STAGES)}), which depends on it instead of on its files. After an edit, `dvc status` lists this stage;
`dvc repro` then reruns what changed."""


@stage
def run(params: Path = ParamsOption) -> None:
    from genlab import provenance
    from genlab.config import as_dict
    from genlab.io import write_json
    from genlab.gradients.config import EstimatorsConfig
    from genlab.metrics.config import ClassifierConfig, EvalConfig
    from genlab.models.registry import family_module, load, resolve, training_params
    from genlab.theory.config import ModesConfig, TheoryConfig

    # every section and every model's config: a bad param stops the pipeline here, before any data is touched
    p = load(params, sections={"classifier": ClassifierConfig, "eval": EvalConfig, "theory": TheoryConfig,
                               "modes": ModesConfig, "estimators": EstimatorsConfig})
    for name in p.models:
        spec = resolve(p, name)
        module = family_module(spec.family)
        write_json(SPECS / "models" / name / "train.json", {
            "model": name, "family": spec.family, "dataset": spec.dataset, "previous": spec.previous,
            "params": training_params(p, spec),
            "code": provenance.describe_code(provenance.stage_closure("train", module))})
        write_json(SPECS / "models" / name / "evaluate.json", {
            "model": name, "family": spec.family,
            "params": {"seed": p.seed, "device": p.device, "eval": as_dict(p.eval)},
            "code": provenance.describe_code(provenance.stage_closure("evaluate", module))})
    for command in STAGES:
        write_json(SPECS / "stages" / f"{command}.json",
                   {"stage": command, "code": provenance.describe_code(provenance.stage_closure(command))})
    log.info("%s: the specs of %d models and %d stages", SPECS, len(p.models), len(STAGES))
