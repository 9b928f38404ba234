"""genlab vs pythae (Chadebec et al. 2022) on the same MNIST tensors, same networks, same batch and optimizers.

    pip install -e '.[bench]'           # pythae lives only in this extra
    python benchmarks/peer_pythae.py    # after `dvc repro classifier` (needs data/prepared and the classifier)

Architecture match: pythae's encoder/decoder/discriminator wrappers hold *genlab's own* modules (the same
``ImageToVector`` / ``VectorToImage`` / ``Discriminator`` / latent-D MLP, at the widths of params.yaml), so the
layers are identical by construction; only each library's objective, training loop and data path differ.
Optimizers: Adam with the lrs and betas of params.yaml for the matching networks. pythae runs its own trainer
loop (``trainer.train_step``: DataLoader, per-step ``loss.item()``), each of its epochs ``chunk`` batches that walk
on through the whole training set (before 2026-12-02 they repeated its first ``chunk`` batches); genlab runs its
models' ``train_step`` on in-memory device batches, as ``genlab train`` does.

1. Throughput: ``--steps`` timed steps after as many warm-up steps, alternating genlab, pythae, genlab, pythae
   (``--rounds`` pairs) in this one process; the median images/s of each is reported, and the ratio.
2. Quality at equal wall time: each library trains a fresh model for ``--seconds`` seconds of its own (the two
   alternate in chunks of 50 steps, so drift in the machine's speed hits both alike), then draws
   ``eval.n_samples`` samples from N(0, I) through its decoder, scored by the domain extractor (FID vs the
   test split, the same scorer as ``genlab evaluate``).
3. Time to quality, for each of ``--seeds``: pythae trains ``--seconds`` seconds (its FID is also recorded at the
   earlier ``CHECKS``) and its final FID is the target; a fresh genlab model of the same seed then trains until its
   FID, checked at the training times of ``CHECKS`` (scoring not counted), reaches the target. Its time is the
   first check that reached it, so the speedup (pythae's seconds / genlab's) is a lower bound at the checks'
   resolution; the median over the seeds is reported.
Writes metrics/bench_pythae.json (parts 1, 2) and ``--ttq-out`` (part 3) and prints their tables. ``--genlab-params``
gives genlab's side other params than pythae's, for an ablation of genlab alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

from genlab.bench.flops import count_flops, synchronize
from genlab.data.prepare import load_split
from genlab.data.tensors import to_unit
from genlab.io import write_json
from genlab.metrics.config import EvalConfig
from genlab.models.registry import load
from genlab.metrics.scoring import Scoring, generate
from genlab.training.precision import autocast
from genlab.training.loop import run_step
from genlab.training.run import setup_run

try:
    from pythae.data.datasets import BaseDataset
    from pythae.models import VAE, VAEGAN, Adversarial_AE, Adversarial_AE_Config, VAEConfig, VAEGANConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseDiscriminator, BaseEncoder
    from pythae.trainers import (AdversarialTrainer, AdversarialTrainerConfig, BaseTrainer, BaseTrainerConfig,
                                 CoupledOptimizerAdversarialTrainer, CoupledOptimizerAdversarialTrainerConfig)
except ImportError:
    sys.exit("pythae is not installed: pip install -e '.[bench]'")

ROOT = Path(__file__).resolve().parents[1]
PREPARED = ROOT / "data/prepared"
CLASSIFIER = ROOT / "data/models/classifier/classifier.pt"
MODELS = ("vae", "vaegan", "aae")
#: genlab's training times (fractions of --seconds) at which time to quality checks its FID
CHECKS = (0.2, 0.35, 0.5, 0.65, 0.8, 1.0, 1.5)


class Encoder(BaseEncoder):
    """pythae's encoder interface around genlab's encoder (2z outputs: mean and log-variance; z for the AAE)."""

    def __init__(self, net: nn.Module, gaussian: bool):
        super().__init__()
        self.net, self.gaussian = net, gaussian

    def forward(self, x):
        out = self.net(x)
        if self.gaussian:
            mu, logvar = out.chunk(2, dim=1)
            return ModelOutput(embedding=mu, log_covariance=logvar)
        return ModelOutput(embedding=out, log_covariance=torch.zeros_like(out))


class Decoder(BaseDecoder):
    """genlab's decoder; pythae's BCE wants probabilities, so a sigmoid on its logits."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, z):
        return ModelOutput(reconstruction=torch.sigmoid(self.net(z)))


class ImageDiscriminator(BaseDiscriminator):
    """genlab's GAN discriminator: D(x) as a probability, and hidden layer l's activations on request."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net, self.depth = net, net.num_layers

    def forward(self, x, output_layer_levels=None):
        out = ModelOutput()
        layer = (output_layer_levels or [self.depth])[0]
        feats, logit = self.net.features_and_logit(x * 2 - 1, self.depth if layer == -1 else layer)
        if output_layer_levels:
            out[f"embedding_layer_{layer}"] = feats
        out["embedding"] = torch.sigmoid(logit).unsqueeze(1)
        return out


class LatentDiscriminator(BaseDiscriminator):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, z, output_layer_levels=None):
        return ModelOutput(embedding=torch.sigmoid(self.net(z)))


def pythae_trainer(name: str, ours, c, images: torch.Tensor, workdir: str):
    """pythae's model and trainer for genlab model ``ours`` (its freshly initialised networks, deep-copied), with
    the train section ``c``'s batch size, lr and betas."""
    import copy

    net = copy.deepcopy(ours)
    shape, z = tuple(net.shape), net.z
    data = BaseDataset(to_unit(images), torch.zeros(len(images)))
    common = dict(output_dir=workdir, per_device_train_batch_size=c.batch_size, num_epochs=1,
                  no_cuda=net.device.type != "cuda")
    if name == "vae":
        model = VAE(VAEConfig(input_dim=shape, latent_dim=z, reconstruction_loss="bce"),
                    encoder=Encoder(net.encoder, True), decoder=Decoder(net.decoder))
        cfg = BaseTrainerConfig(learning_rate=c.lr, optimizer_params={"betas": (c.beta1, c.beta2)}, **common)
        return model, BaseTrainer(model, data, training_config=cfg)
    if name == "vaegan":
        v = net.cfg
        model = VAEGAN(VAEGANConfig(input_dim=shape, latent_dim=z, reconstruction_layer=v.feature_layer),
                       encoder=Encoder(net.encoder, True), decoder=Decoder(net.decoder),
                       discriminator=ImageDiscriminator(net.discriminator))
        adam = {"betas": (v.beta1, 0.999)}
        cfg = CoupledOptimizerAdversarialTrainerConfig(
            encoder_learning_rate=v.lr, decoder_learning_rate=v.lr, discriminator_learning_rate=v.lr,
            encoder_optimizer_params=adam, decoder_optimizer_params=adam, discriminator_optimizer_params=adam, **common)
        return model, CoupledOptimizerAdversarialTrainer(model, data, training_config=cfg)
    a = net.cfg
    model = Adversarial_AE(Adversarial_AE_Config(input_dim=shape, latent_dim=z, reconstruction_loss="bce",
                                                 deterministic_posterior=True),
                           encoder=Encoder(net.encoder, False), decoder=Decoder(net.decoder),
                           discriminator=LatentDiscriminator(net.latent_discriminator))
    cfg = AdversarialTrainerConfig(
        autoencoder_learning_rate=c.lr, discriminator_learning_rate=a.lr_reg,
        autoencoder_optimizer_params={"betas": (c.beta1, c.beta2)},
        discriminator_optimizer_params={"betas": (0.5, 0.999)}, **common)
    return model, AdversarialTrainer(model, data, training_config=cfg)


class Genlab:
    """genlab's side: the step ``genlab train`` runs (its train_step on in-memory device batches, under
    train.precision). ``warmup`` > 0 is an ablation that genlab itself does not do: the lr of the AAE's phases
    ``ramped`` (default ``g``, the encoder as generator; ``d`` the latent discriminator) ramps linearly from 0 to
    ``aae.lr_reg`` over that many steps."""

    def __init__(self, run, warmup: int = 0, ramped: tuple[str, ...] = ("g",)):
        self.run, self.step, self.warmup, self.ramped = run, 0, warmup, ramped
        self.logged: dict[str, torch.Tensor] = {}  # the values the last step logged (its losses)
        self.precision = autocast(run.train, run.device)
        run.model.train()

    def steps(self, n: int) -> int:
        images = 0
        for _ in range(n):
            if self.step < self.warmup:  # after the schedulers' step, which reset it to the base lr
                for group in (g for phase in self.ramped for g in self.run.optimization.optimizers[phase].param_groups):
                    group["lr"] = group["initial_lr"] * (self.step + 1) / self.warmup
            done, self.logged = run_step(self.run.model, self.run.optimization, self.run.batches, self.step,
                                         self.precision)
            images += done
            self.step += 1
        return images

    def sampler(self):
        self.run.model.eval()
        return self.run.model.sample

    def resume(self) -> None:
        self.run.model.train()


class Chunks(torch.utils.data.Sampler):
    """``n`` indices per epoch, walking on through one shuffle of ``size`` images (a new shuffle when one is used
    up), so that pythae's epochs of ``chunk`` batches see the whole training set, as genlab's loop does."""

    def __init__(self, size: int, n: int, seed: int):
        self.size, self.n, self.generator = size, n, torch.Generator().manual_seed(seed)
        self.order, self.pos = torch.randperm(size, generator=self.generator), 0

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        out: list[int] = []
        while len(out) < self.n:
            if self.pos == self.size:
                self.order, self.pos = torch.randperm(self.size, generator=self.generator), 0
            take = self.order[self.pos:self.pos + self.n - len(out)]
            self.pos += len(take)
            out += take.tolist()
        return iter(out)


class Pythae:
    """pythae's side: its trainer's own epoch loop, each epoch ``chunk`` batches of the whole training set
    (:class:`Chunks`)."""

    def __init__(self, name: str, run, images: torch.Tensor, chunk: int, workdir: str, seed: int = 0):
        from pythae.data.datasets import collate_dataset_output
        from torch.utils.data import DataLoader

        self.model, self.trainer = pythae_trainer(name, run.model, run.train, images, workdir)
        self.trainer.prepare_training()
        self.trainer.train_loader = DataLoader(self.trainer.train_loader.dataset, batch_size=run.train.batch_size,
                                               sampler=Chunks(len(images), chunk * run.train.batch_size, seed),
                                               collate_fn=collate_dataset_output)
        self.epoch, self.chunk, self.batch = 0, chunk, run.train.batch_size

    def steps(self, n: int) -> int:
        assert n == self.chunk
        self.epoch += 1
        self.trainer.train_step(self.epoch)
        return n * self.batch

    def sampler(self):
        self.model.eval()
        dec, z = self.model.decoder, self.model.latent_dim

        def sample(k, generator=None):
            eps = torch.randn(k, z, generator=generator, device=generator.device if generator else None)
            return dec(eps)["reconstruction"]
        return sample

    def resume(self) -> None:
        """Nothing to undo: pythae's ``train_step`` puts the model back in train mode itself."""


def timed(side, n: int, device) -> float:
    synchronize(device)
    t0 = time.perf_counter()
    images = side.steps(n)
    synchronize(device)
    return images / (time.perf_counter() - t0)


def train_for(side, seconds: float, clock: float = 0.0) -> float:
    """Train ``side`` in chunks of 50 steps until its own clock (training only) passes ``seconds``."""
    while clock < seconds:
        t0 = time.perf_counter()
        side.steps(50)
        clock += time.perf_counter() - t0
    return clock


class DomainFID:
    """The domain FID of ``eval.n_samples`` samples, as ``Scoring`` computes it, without its KID and k-NN
    precision/recall (~20 s of a CPU per call, which a dozen checks per run cannot afford); the real data's
    statistics computed once."""

    def __init__(self, scoring: Scoring, ev):
        self.scorer, self.ev = scoring.scorers[0], ev
        self.real = fid_features_to_statistics(scoring.reference[0][self.scorer.layer])

    def __call__(self, side, seed: int, device) -> float:
        with torch.no_grad():
            fake = self.scorer.features(generate(side.sampler(), self.ev.n_samples, self.ev.batch_size, seed, device))
        stats = fid_features_to_statistics(fake[self.scorer.layer])
        return fid_statistics_to_metric(stats, self.real, False)["frechet_inception_distance"]


def fid_curve(side, fid_of: DomainFID, seed: int, device, times, target: float | None = None) -> list:
    """(training seconds, FID) at each of the training ``times`` of ``side`` (scoring not counted); stops at the
    first FID at or below ``target``."""
    clock, curve = 0.0, []
    for t in times:
        clock = train_for(side, t, clock)
        curve.append((clock, fid_of(side, seed, device)))
        side.resume()
        if target is not None and curve[-1][1] <= target:
            break
    return curve


def time_to_quality(name: str, params, ours_params, seed: int, images: torch.Tensor, fid_of: DomainFID, seconds: float,
                    work: str, warmup: int = 0, ramped: tuple[str, ...] = ("g",)) -> dict:
    """pythae's FID after ``seconds`` of training (and on the way, at the checks before it), and the training time
    genlab (at ``ours_params``) needs to reach it (same seed)."""
    run = setup_run(name, replace(params, seed=seed), PREPARED)  # the initial networks and pythae's shuffling
    times = [f * seconds for f in CHECKS]
    peer_curve = fid_curve(Pythae(name, run, images, 50, work, seed), fid_of, seed, run.device,
                           [t for t in times if t < seconds] + [seconds])
    target = peer_curve[-1][1]
    ours = Genlab(setup_run(name, replace(ours_params, seed=seed), PREPARED), warmup, ramped)
    curve = fid_curve(ours, fid_of, seed, ours.run.device, times, target)
    reached = curve[-1][1] <= target
    return {"seed": seed, "pythae_fid": target, "pythae_seconds": peer_curve[-1][0], "pythae_curve": peer_curve,
            "genlab_curve": curve, "genlab_seconds": curve[-1][0] if reached else None,
            "speedup": peer_curve[-1][0] / curve[-1][0] if reached else None}


def equal_time(name: str, params, train_images: torch.Tensor, fid_of: DomainFID, args, work: str) -> dict:
    """Parts 1 and 2: throughput (A B A B on fresh copies of the same initial networks) and the FID of each after
    the same training wall time."""
    run = setup_run(name, params, PREPARED)
    device = run.device
    ours, peer = Genlab(setup_run(name, params, PREPARED)), Pythae(name, run, train_images, args.steps, work,
                                                                    params.seed)
    # warm-up, FLOP-counted: what each library computes per trained image explains much of the ratio
    flops = {k: count_flops(lambda: side.steps(args.steps)) / (args.steps * run.train.batch_size)
             for k, side in (("genlab", ours), ("pythae", peer))}
    speeds = {"genlab": [], "pythae": []}
    for _ in range(args.rounds):
        speeds["genlab"].append(timed(ours, args.steps, device))
        speeds["pythae"].append(timed(peer, args.steps, device))
    row = {"model": name, "batch_size": run.train.batch_size, "device": str(device),
           **{f"{k}_images_per_s": statistics.median(v) for k, v in speeds.items()},
           "rounds": {k: v for k, v in speeds.items()}}
    row["ratio"] = row["genlab_images_per_s"] / row["pythae_images_per_s"]
    row.update({f"{k}_flops_per_image": v for k, v in flops.items()})
    # the two train in alternating chunks of 50 steps, each on its own clock, so a drift in the machine's speed
    # hits both alike
    sides = {"genlab": Genlab(setup_run(name, params, PREPARED)),
             "pythae": Pythae(name, setup_run(name, params, PREPARED), train_images, 50, work, params.seed)}
    clock, seen = dict.fromkeys(sides, 0.0), dict.fromkeys(sides, 0)
    while min(clock.values()) < args.seconds:
        for label, side in sides.items():
            if clock[label] < args.seconds:
                t0 = time.perf_counter()
                seen[label] += side.steps(50)
                clock[label] += time.perf_counter() - t0
    for label, side in sides.items():
        row[f"{label}_fid"] = fid_of(side, params.seed, device)
        row[f"{label}_train_seconds"], row[f"{label}_images_seen"] = clock[label], seen[label]
    return row


def provenance(args) -> dict:
    """What the numbers depend on besides the code: the commit, the params files and the scorer's weights (a
    classifier retrained on another CPU scores differently)."""
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {"commit": commit, "params": args.params, "genlab_params": args.genlab_params or args.params,
            "reg_warmup": args.reg_warmup, "reg_warmup_phases": args.reg_warmup_phases,
            "classifier_md5": hashlib.md5(CLASSIFIER.read_bytes()).hexdigest()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", default=list(MODELS))
    ap.add_argument("--steps", type=int, default=50, help="timed steps per measurement (and as many warm-up steps)")
    ap.add_argument("--rounds", type=int, default=2, help="genlab/pythae pairs of throughput measurements")
    ap.add_argument("--seconds", type=float, default=60.0, help="training wall time of each quality run")
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("--genlab-params", help="params of genlab's side of the time-to-quality runs (default: --params)")
    ap.add_argument("--reg-warmup", type=int, default=0,
                    help="ablation: ramp the lr of genlab's AAE encoder-as-generator phase up over this many steps")
    ap.add_argument("--reg-warmup-phases", nargs="+", choices=("g", "d"), default=["g"],
                    help="the AAE phases whose lr --reg-warmup ramps: g (the encoder as generator), d (D)")
    ap.add_argument("--out", default=str(ROOT / "metrics/bench_pythae.json"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of the time-to-quality runs")
    ap.add_argument("--ttq-only", action="store_true", help="only the time-to-quality runs (part 3)")
    ap.add_argument("--ttq-out", default=str(ROOT / "metrics/bench_pythae_ttq.json"))
    args = ap.parse_args()
    params = load(Path(args.params), sections={"eval": EvalConfig})
    ours_params = load(Path(args.genlab_params), sections={"eval": EvalConfig}) if args.genlab_params else params
    train_images, _ = load_split(PREPARED, "train")
    test_images, _ = load_split(PREPARED, "test")
    rows, ttq = [], []
    with tempfile.TemporaryDirectory() as work:
        for name in args.models:
            ev = replace(params.eval, extractor="domain")
            fid_of = DomainFID(Scoring(test_images, CLASSIFIER, ev, setup_run(name, params, PREPARED).device), ev)
            if not args.ttq_only:
                rows.append(equal_time(name, params, train_images, fid_of, args, work))
                print(json.dumps({k: v for k, v in rows[-1].items() if k != "rounds"}), flush=True)
            runs = [time_to_quality(name, params, ours_params, s, train_images, fid_of, args.seconds, work,
                                    args.reg_warmup if name == "aae" else 0, tuple(args.reg_warmup_phases))
                    for s in args.seeds]
            speedups = [r["speedup"] or 0.0 for r in runs]  # not reached within the last check: below every other
            ttq.append({"model": name, "median_speedup": statistics.median(speedups), "seeds": runs})
            print(json.dumps(ttq[-1]), flush=True)
    if rows:
        write_json(Path(args.out), {"torch": torch.__version__, "steps": args.steps, "rounds": args.rounds,
                                    "seconds": args.seconds, "n_samples": params.eval.n_samples, "models": rows})
        print("\n| model | genlab img/s | pythae img/s | ratio | MFLOP/img genlab / pythae | FID genlab | FID pythae | "
              "images seen genlab / pythae |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['model']} | {r['genlab_images_per_s']:.0f} | {r['pythae_images_per_s']:.0f} | {r['ratio']:.2f}x | "
                  f"{r['genlab_flops_per_image'] / 1e6:.1f} / {r['pythae_flops_per_image'] / 1e6:.1f} | "
                  f"{r['genlab_fid']:.2f} | {r['pythae_fid']:.2f} | {r['genlab_images_seen']} / {r['pythae_images_seen']} |")
    write_json(Path(args.ttq_out), {"torch": torch.__version__, **provenance(args), "seconds": args.seconds, "checks": CHECKS,
                                    "n_samples": params.eval.n_samples, "models": ttq})
    print(f"\n| model | pythae FID after {args.seconds:g} s (per seed) | genlab s to reach it | speedup (median) |")
    print("|---|---|---|---|")
    for t in ttq:
        secs = ", ".join("not reached" if r["genlab_seconds"] is None else f"{r['genlab_seconds']:.1f}"
                         for r in t["seeds"])
        fids = ", ".join(f"{r['pythae_fid']:.1f}" for r in t["seeds"])
        print(f"| {t['model']} | {fids} | {secs} | {t['median_speedup']:.2f}x |")


if __name__ == "__main__":
    main()
