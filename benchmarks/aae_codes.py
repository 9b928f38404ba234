"""Where the AAE's codes sit during training: step by step, not by the clock, so it needs no quiet machine.

    python benchmarks/aae_codes.py --steps 2000 --every 100 --reg-warmup 0 500 --seeds 0 1

For each ``--reg-warmup`` (0 = genlab's default; N = peer_pythae.py's ablation: the lr of the phases
``--reg-warmup-phases``, default the encoder as generator, ramps from 0 over N steps) and seed, trains genlab's
AAE at params.yaml and, every ``--every`` steps, encodes 1,000 fixed test images and records how far the
aggregate posterior q(z) is from the N(0, I) prior: the mean code's norm, the mean per-dimension variance,
E||z||² / d (1 under the prior) and the latent D's accuracy on those codes against as many prior draws (0.5 = D
cannot tell them apart); the domain FID of 10k decoded prior samples every ``--fid-every`` steps; the mean
``loss_d`` / ``loss_g`` over the steps since the last record. Prints one JSON line per record and writes
``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_pythae import CLASSIFIER, PREPARED, ROOT, DomainFID, Genlab  # noqa: E402

from genlab.data.prepare import load_split  # noqa: E402
from genlab.data.tensors import to_unit  # noqa: E402
from genlab.device import select_device  # noqa: E402
from genlab.io import write_json  # noqa: E402
from genlab.metrics.scoring import Scoring  # noqa: E402
from genlab.metrics.config import EvalConfig  # noqa: E402
from genlab.models.registry import load  # noqa: E402
from genlab.training.run import setup_run  # noqa: E402


@torch.no_grad()
def code_stats(model, x: torch.Tensor, generator: torch.Generator) -> dict:
    """How the codes of ``x`` compare with the prior: their moments and the latent D's accuracy on them."""
    z = model.code(x)
    prior = model.prior(len(x), generator=generator)
    hits_prior = (model.discriminate(prior, None) > 0).float().mean()
    hits_codes = (model.discriminate(z, None) <= 0).float().mean()
    accuracy = (hits_prior + hits_codes) / 2
    return {"z": z.shape[1], "mean_norm": float(z.mean(0).norm()), "var": float(z.var(0).mean()),
            "sq_norm_per_dim": float(z.pow(2).sum(1).mean() / z.shape[1]), "d_accuracy": float(accuracy)}


def trace(params, seed: int, warmup: int, ramped: tuple[str, ...], steps: int, every: int, fid_every: int,
          x: torch.Tensor, fid_of) -> list:
    side = Genlab(setup_run("aae", replace(params, seed=seed), PREPARED), warmup, ramped)
    model, rows, logged = side.run.model, [], []
    for step in range(steps):
        side.steps(1)
        logged.append(side.logged)
        if (step + 1) % every == 0:
            model.eval()
            row = {"reg_warmup": warmup, "phases": list(ramped), "seed": seed, "step": step + 1,
                   **code_stats(model, x, torch.Generator(model.device).manual_seed(step)),
                   **{k: float(torch.stack([v[k] for v in logged]).mean()) for k in ("loss_d", "loss_g")}}
            if (step + 1) % fid_every == 0:
                row["fid"] = fid_of(side, seed, model.device)
            side.resume()
            logged = []
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--fid-every", type=int, default=250)
    ap.add_argument("--reg-warmup", type=int, nargs="+", default=[0, 500])
    ap.add_argument("--reg-warmup-phases", nargs="+", choices=("g", "d"), default=["g"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("--out", default=str(ROOT / "metrics/bench_aae_codes.json"))
    args = ap.parse_args()
    params = load(Path(args.params), sections={"eval": EvalConfig})
    test_images, _ = load_split(PREPARED, "test")
    device = select_device(params.device)
    x = to_unit(test_images[:1000]).to(device)
    ev = replace(params.eval, extractor="domain")
    fid_of = DomainFID(Scoring(test_images, CLASSIFIER, ev, device), ev)
    phases = tuple(args.reg_warmup_phases)
    rows = [r for w in args.reg_warmup for s in args.seeds
            for r in trace(params, s, w, phases, args.steps, args.every, args.fid_every, x, fid_of)]
    write_json(Path(args.out), {"steps": args.steps, "params": args.params, "reg_warmup_phases": list(phases),
                                "rows": rows})


if __name__ == "__main__":
    main()
