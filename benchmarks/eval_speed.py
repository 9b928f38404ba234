"""Old vs new scoring of one model's samples, interleaved: ``python benchmarks/eval_speed.py [--repeats 3]``;
with ``--old-src DIR`` (the ``src`` of a checkout before issue #22) the whole ``evaluate_model`` of the model instead,
each run in its own process, old and new in turn.

"old" is the scoring before issue #22 (torch-fidelity's ``prc_features_to_metric`` with its four distance
matrices, and a second classifier pass over the samples for the class coverage); "new" is
:meth:`genlab.metrics.scoring.Scoring.__call__` as evaluate runs it. Both score the same 10k samples of
data/models/vae against the test split (reference features from the cache) and must print equal metrics.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

from genlab.metrics.config import EvalConfig
from genlab.data.prepare import load_split
from genlab.metrics.coverage import class_coverage
from genlab.metrics.domain import load_classifier, predict
from genlab.metrics.fidelity import KID_SUBSETS, RNG_SEED
from genlab.metrics.scoring import Scoring, generate, score_samples
from genlab.metrics.sharpness import laplacian_variance
from genlab.models.registry import load_model

CLASSIFIER = Path("data/models/classifier/classifier.pt")


def old_scores(fake: torch.Tensor, scoring: Scoring, clf) -> dict:
    """The pre-#22 path: torch-fidelity's part-wise precision/recall (four 10k x 10k distance matrices, the
    reference's own recomputed per call), and predict() running the classifier over the samples a second time."""
    scorer, real = scoring.scorers[0], scoring.reference[0]
    f = scorer.features(fake)
    a, b = f[scorer.layer], real[scorer.layer]
    kid = kid_features_to_metric(a, b, kid_subsets=KID_SUBSETS, kid_subset_size=scorer.kid_subset_size,
                                 rng_seed=RNG_SEED, verbose=False)
    prc = prc_features_to_metric(a, b, save_cpu_ram=True, verbose=False)
    fid = fid_statistics_to_metric(fid_features_to_statistics(a), fid_features_to_statistics(b), False)
    isc = isc_features_to_metric(f[scorer.is_layer], splits=10, rng_seed=RNG_SEED)
    out = {"fid": fid["frechet_inception_distance"], "kid": kid["kernel_inception_distance_mean"],
           "kid_std": kid["kernel_inception_distance_std"], "precision": prc["precision"], "recall": prc["recall"],
           "is": isc["inception_score_mean"], "is_std": isc["inception_score_std"]}
    out = {k: float(v) for k, v in out.items()}
    out.update(class_coverage(predict(clf, fake), 10))
    out["sharpness"] = laplacian_variance(fake)
    return out


FULL = """
import json, sys, time
from pathlib import Path
import torch
from genlab.metrics.config import EvalConfig
from genlab.data.prepare import load_split
from genlab.metrics.evaluate import evaluate_model
from genlab.models.registry import load_model
net, _ = load_model(Path(sys.argv[1]), "cpu")
images, labels = load_split(Path("data/prepared"), "test")
t = time.perf_counter()
m = evaluate_model(net, images, labels, Path("data/models/classifier/classifier.pt"), EvalConfig(), 0,
                   Path(sys.argv[2]), "model", 10)
print(json.dumps({"seconds": time.perf_counter() - t, "metrics": m}))
"""


def full_evaluation(src: str, model: str) -> dict:
    """Seconds and metrics of one ``evaluate_model`` run with the library in ``src``, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    with tempfile.TemporaryDirectory() as grids:
        out = subprocess.run([sys.executable, "-c", FULL, model, grids], env=env, check=True, capture_output=True,
                             text=True).stdout
    return json.loads(out.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default="data/models/vae/model.pt")
    ap.add_argument("--old-src", help="src folder of the old code: time the whole evaluation, old vs this one")
    args = ap.parse_args()
    if args.old_src:
        new_src = str(Path(__file__).resolve().parents[1] / "src")
        times: dict[str, list[float]] = {"old": [], "new": []}
        for _ in range(args.repeats):
            for name, src in (("old", args.old_src), ("new", new_src)):
                r = full_evaluation(src, args.model)
                times[name].append(r["seconds"])
                print(name, f"{r['seconds']:.2f} s", json.dumps(r["metrics"]), flush=True)
        old, new = (statistics.median(times[k]) for k in ("old", "new"))
        print(f"median old {old:.2f} s, new {new:.2f} s, new/old {new / old:.2f}")
        return
    cpu = torch.device("cpu")
    cfg = EvalConfig()
    net, _ = load_model(Path(args.model), cpu)
    test, _ = load_split(Path("data/prepared"), "test")
    clf = load_classifier(CLASSIFIER)
    fake = generate(net.sample, cfg.n_samples, cfg.batch_size, 0, cpu)
    times: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(args.repeats):
        for name in ("old", "new"):
            scoring = Scoring(test, CLASSIFIER, cfg, cpu)  # per model, as evaluate builds it (features cached)
            t = time.perf_counter()
            m = old_scores(fake, scoring, clf) if name == "old" else score_samples(fake, scoring, clf, 10)
            times[name].append(time.perf_counter() - t)
            print(name, f"{times[name][-1]:.2f} s", {k: v for k, v in sorted(m.items()) if isinstance(v, float)})
    old, new = (statistics.median(times[k]) for k in ("old", "new"))
    print(f"median old {old:.2f} s, new {new:.2f} s, new/old {new / old:.2f}")


if __name__ == "__main__":
    main()
