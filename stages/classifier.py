"""``classifier``: train the domain classifier (feature extractor for FID/KID/PR, classifier for IS)."""

import time
from pathlib import Path


from genlab.config import ClassifierConfig, as_dict, describe, load_params
from stages.common import CLASSIFIER, METRICS, PREPARED, ParamsOption, log, stage

HELP = f"""Train the domain classifier on the prepared training split; write {CLASSIFIER} and
{METRICS}/classifier.json (test accuracy).

Params read: device (not seed: classifier.seed seeds the classifier), and

{describe(ClassifierConfig, "classifier")}"""


@stage
def run(params: Path = ParamsOption) -> None:
    p = load_params(params)
    # Heavy imports only once the params are valid: a bad param fails fast.
    from genlab.data.prepare import load_split, read_manifest
    from genlab.io import write_json
    from genlab.metrics.domain import predict, save_classifier, train_classifier
    from genlab.device import configure, select_device

    device = select_device(p.device)
    configure(device)
    manifest = read_manifest(PREPARED)
    x, y = load_split(PREPARED, "train")
    xt, yt = load_split(PREPARED, "test")
    t0 = time.perf_counter()
    net = train_classifier(x, y, manifest["num_classes"], p.classifier, p.classifier.seed, device)
    seconds = time.perf_counter() - t0
    acc = float((predict(net, xt).argmax(1) == yt).double().mean())
    log.info("domain classifier: test accuracy %.4f after %.1fs", acc, seconds)
    save_classifier(net, CLASSIFIER, {"config": as_dict(p.classifier), "test_accuracy": acc})
    write_json(METRICS / "classifier.json", {"test_accuracy": round(acc, 5), "train_seconds": round(seconds, 1),
                                             "steps": p.classifier.steps, "dataset": manifest["dataset"]})
