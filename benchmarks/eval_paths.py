"""Does evaluation get faster with ``torch.inference_mode`` instead of ``no_grad``, or with larger batches?

    python benchmarks/eval_paths.py [model ...]     # after `dvc repro` (needs the trained models)

For each trained model: generating eval.n_samples samples, and extracting their domain features, timed at
batch sizes 250 / 500 (the default) / 2000 under each grad mode; the best of --repeats runs is printed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from genlab.bench.flops import synchronize
from genlab.metrics.config import EvalConfig
from genlab.models.registry import load
from genlab.data.tensors import to_uint8
from genlab.metrics.fidelity import FeatureScorer
from genlab.device import configure, select_device
from genlab.models.registry import load_model

ROOT = Path(__file__).resolve().parents[1]


def best_of(fn, repeats: int, device) -> float:
    times = []
    for _ in range(repeats):
        synchronize(device)
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", default=["vae", "gan", "pggan"])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    params = load(ROOT / "params.yaml", sections={"eval": EvalConfig})
    device = select_device(params.device)
    configure(device)
    n = params.eval.n_samples
    print(f"| model | grad mode | batch | generate {n} (s) | domain features of {n} (s) |\n|---|---|---|---|---|")
    for name in args.models:
        model, _ = load_model(ROOT / "data/models" / name / "model.pt", device)
        sampler = model.sample
        for mode_name, mode in (("no_grad", torch.no_grad), ("inference_mode", torch.inference_mode)):
            for batch in (250, 500, 2000):
                scorer = FeatureScorer("domain", ROOT / "data/models/classifier/classifier.pt", device, batch)
                g = torch.Generator(device=device)

                def gen():
                    g.manual_seed(0)
                    with mode():
                        return torch.cat([to_uint8(sampler(batch, g)) for _ in range(n // batch)])
                fake = gen()

                def feats():
                    with mode():  # the network alone: FeatureScorer.features fixes inference_mode
                        for b in fake.split(batch):
                            scorer.net(b.to(device))
                print(f"| {name} | {mode_name} | {batch} | {best_of(gen, args.repeats, device):.2f} | "
                      f"{best_of(feats, args.repeats, device):.2f} |", flush=True)


if __name__ == "__main__":
    main()
