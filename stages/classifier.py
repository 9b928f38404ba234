"""``classifier``: the judge (feature extractor for FID/KID/PR, classifier for IS): shipped, or trained."""

import time
from pathlib import Path

from genlab.config import as_dict, describe, load_params
from genlab.metrics.config import ClassifierConfig
from stages.common import CLASSIFIER, METRICS, PREPARED, ParamsOption, log, stage

HELP = f"""Put the judge in {CLASSIFIER}: for MNIST's test split, genlab's shipped judge (a fixed domain classifier,
its sha256 checked), copied byte for byte, so that every domain number compares across machines and sessions;
otherwise (another dataset, or classifier.judge: train) one trained on the prepared training split with the keys
below, which are the shipped judge's recipe. Writes {METRICS}/classifier.json: the judge's sha256, where it comes
from and its accuracy on the prepared test split, measured here.

Params read: device (not seed: classifier.seed seeds a trained classifier), and

{describe(ClassifierConfig, "classifier")}"""


@stage
def run(params: Path = ParamsOption) -> None:
    p = load_params(params, sections={"classifier": ClassifierConfig})
    # Heavy imports only once the params are valid: a bad param fails fast.
    from genlab.data.prepare import load_split, read_manifest
    from genlab.device import configure, select_device
    from genlab.io import sha256, write_json
    from genlab.metrics.domain import load_classifier, predict, save_classifier, train_classifier
    from genlab.metrics.judge import install, shipped

    device = select_device(p.device)
    configure(device)
    manifest = read_manifest(PREPARED)
    xt, yt = load_split(PREPARED, "test")
    judge = shipped(manifest["splits"]["test"]["images_sha256"]) if p.classifier.judge == "shipped" else None
    if judge is not None:
        install(judge, CLASSIFIER)
        info = {"judge": "shipped", "name": judge["name"], "recipe": judge["recipe"]}
    else:
        x, y = load_split(PREPARED, "train")
        t0 = time.perf_counter()
        net = train_classifier(x, y, manifest["num_classes"], p.classifier, p.classifier.seed, device)
        seconds = time.perf_counter() - t0
        acc = float((predict(net, xt).argmax(1) == yt).double().mean())
        save_classifier(net, CLASSIFIER, {"config": as_dict(p.classifier), "test_accuracy": acc})
        info = {"judge": "trained", "recipe": as_dict(p.classifier), "train_seconds": round(seconds, 1)}
    acc = float((predict(load_classifier(CLASSIFIER, device), xt).argmax(1) == yt).double().mean())
    digest = sha256(CLASSIFIER)
    log.info("judge (%s, sha256 %s...): test accuracy %.4f", info["judge"], digest[:16], acc)
    write_json(METRICS / "classifier.json", {"test_accuracy": round(acc, 5), "sha256": digest,
                                             "dataset": manifest["dataset"], **info})
