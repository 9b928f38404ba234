"""``baseline``: the metrics of real data (training images vs the test split), the row to read models against."""

from pathlib import Path

from genlab.config import describe, load_params
from genlab.metrics.config import EvalConfig
from stages.common import CLASSIFIER, METRICS, PREPARED, ParamsOption, stage

HELP = f"""Score eval.n_samples real training images against the test split with the same extractor(s) and
settings as the models (eval.extractor); write {METRICS}/baseline.json.

Params read: seed, device, and

{describe(EvalConfig, "eval")}"""


@stage
def run(params: Path = ParamsOption) -> None:
    p = load_params(params, sections={"eval": EvalConfig})
    # Heavy imports only once the params are valid: a bad param fails fast.
    from genlab.data.prepare import load_split, read_manifest
    from genlab.io import write_json
    from genlab.metrics.scoring import check_extractors, check_memory, real_baseline
    from genlab.device import configure, select_device

    device = select_device(p.device)
    configure(device)
    check_extractors(p.eval, device)  # a missing Inception file fails here, before any data is read
    splits = read_manifest(PREPARED)["splits"]
    n, *shape = splits["train"]["shape"]
    check_memory(p.eval, min(p.eval.n_samples, n), shape, splits["test"]["shape"][0], device)
    train, _ = load_split(PREPARED, "train")
    test, _ = load_split(PREPARED, "test")
    metrics = real_baseline(train, test, CLASSIFIER, p.eval, p.seed, device, read_manifest(PREPARED)["num_classes"])
    write_json(METRICS / "baseline.json", metrics)
