"""The one training loop: it runs any :class:`GenerativeModel` without knowing which.

It resumes from the newest matching checkpoint, shows a progress bar, accumulates losses on the
device (read every ``train.log_every`` steps: no host sync per step), logs curves with dvclive and
checkpoints every ``train.checkpoint_every`` steps. Each step runs under ``train.precision``'s
autocast (bf16 on CUDA by default). Same seed and params on CPU -> same weights,
whether or not the run was interrupted.

Non-finite updates are never applied (:mod:`genlab.training.update`); at each log point and before each
checkpoint the loop reads their count and, with ``train.on_nonfinite: error``, stops naming the model, the
first bad step and its loss term, so the newest checkpoint on disk is always one of good weights.
With data-parallel processes only rank 0 logs, shows progress and writes checkpoints; the logged losses
are averaged over the processes and each checkpoint holds every process's RNG state.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Callable

import torch
from dvclive import Live

from genlab.config import TrainConfig
from genlab.data.batches import InMemoryBatches
from genlab.errors import DataError, TrainingError
from genlab.models.base import GenerativeModel
from genlab.progress import progress
from genlab.training import distributed
from genlab.training.checkpoint import latest_checkpoint, save_checkpoint
from genlab.training.device import autocast
from genlab.training.seed import rng_state, set_rng_state

log = logging.getLogger(__name__)


def fit(model: GenerativeModel, batches: InMemoryBatches, cfg: TrainConfig, ckpt_dir: Path, live_dir: Path,
        fp: str, name: str = "model", on_step: Callable[[int], None] | None = None,
        world: distributed.World = distributed.World()) -> dict:
    """Train ``model`` for ``cfg.steps`` steps; returns {"steps", "images_seen", "train_seconds", "history",
    "skipped_updates"}."""
    start, history, elapsed, images, skipped_before = 0, [], 0.0, 0, 0
    ck = latest_checkpoint(ckpt_dir, fp, remove_stale=world.is_main)
    if ck is not None:
        model.load_training_state(ck["state"])
        set_rng_state(ck["rng"][world.rank] if world.size > 1 else ck["rng"])
        start, history, elapsed = ck["step"], ck["history"], ck["elapsed"]
        images = ck.get("images", start * batches.batch_size)
        skipped_before = ck.get("skipped", 0)

    live = open_live(live_dir) if world.is_main else None
    for record in history if live is not None else ():  # replay the interrupted part so the curves stay whole
        _log(live, record)

    model.train()
    sums: dict[str, torch.Tensor] = {}
    count, t0, last_t, last_images = 0, time.perf_counter(), time.perf_counter(), images
    # the training time is the one saved with the last checkpoint, so a finished run resumed for zero steps
    # writes the same model.pt and DVC does not rerun every stage after it
    total = elapsed
    bar = progress(cfg.steps, f"train {name}", initial=start, disable=not world.is_main)
    precision = autocast(cfg, batches.images.device)
    for opt in model.optimizers.values():  # the base lr survives checkpoints inside the optimizer state
        for group in opt.param_groups:
            group.setdefault("initial_lr", group["lr"])
    for step in range(start, cfg.steps):
        done = step + 1
        set_lr(model, lr_factor(cfg, step))
        model.updater.step = done
        n, out = run_step(model, batches, step, precision)
        images += n
        for k, v in out.items():
            sums[k] = sums[k] + v if k in sums else v.clone()
        count += 1
        checkpoint = done % cfg.checkpoint_every == 0 or done == cfg.steps
        if done % cfg.log_every == 0 or checkpoint:
            check_finite(model, cfg, name, ckpt_dir)
        if done % cfg.log_every == 0 or done == cfg.steps:
            now = time.perf_counter()
            means = _mean_over_processes(sums, count)
            record = {"step": done, **means, **model.progress_state(),
                      "images_per_s": (images - last_images) / max(now - last_t, 1e-9),
                      "train_seconds": elapsed + now - t0}
            history.append(record)
            if live is not None:
                _log(live, record)
            bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k != "step"}, refresh=False)
            sums, count, last_t, last_images = {}, 0, now, images
        if checkpoint:
            total = elapsed + time.perf_counter() - t0
            rng = distributed.all_gather(rng_state()) if world.size > 1 else rng_state()
            if world.is_main:
                save_checkpoint(ckpt_dir, done, {
                    "fingerprint": fp, "state": model.training_state(), "rng": rng, "history": history,
                    "elapsed": total, "images": images, "skipped": skipped_before + model.updater.skipped()})
        bar.update(1)
        if on_step is not None:
            on_step(done)
    bar.close()
    if live is not None:
        live.end()
    model.eval()
    skipped = skipped_before + model.updater.skipped()
    log.log(logging.INFO if world.is_main else logging.DEBUG, "%s: %d steps in %.1fs%s", name, cfg.steps, total,
            f", {skipped} non-finite updates skipped" if skipped else "")
    return {"steps": cfg.steps, "images_seen": images, "train_seconds": total, "history": history,
            "skipped_updates": skipped}


def check_finite(model: GenerativeModel, cfg: TrainConfig, name: str, ckpt_dir: Path) -> None:
    """With ``train.on_nonfinite: error``, stop if any update since the start was skipped as non-finite."""
    if cfg.on_nonfinite != "error":
        return
    bad = model.updater.nonfinite()
    if bad:
        b = min(bad, key=lambda b: b.first_step)
        more = sum(x.count for x in bad) - 1
        raise TrainingError(
            f"{name}: non-finite {b.term} at step {b.first_step} (value {b.first_loss}, or its gradient); the update "
            f"was not applied{f' (nor {more} later ones)' if more else ''} and the newest checkpoint in {ckpt_dir} "
            "holds good weights. Lower the lr, set train.max_grad_norm, or set train.on_nonfinite: skip")


def _mean_over_processes(sums: dict[str, torch.Tensor], count: int) -> dict[str, float]:
    """The logged losses: mean over the steps since the last log point (and over the processes)."""
    keys = list(sums)
    if keys and distributed.size() > 1:
        values = torch.stack([sums[k].float() for k in keys])
        distributed.all_average([values])
        sums = dict(zip(keys, values))
    return {k: float(sums[k]) / count for k in keys}


def run_step(model: GenerativeModel, batches: InMemoryBatches, step: int,
             precision) -> tuple[int, dict[str, torch.Tensor]]:
    """Optimizer step ``step``: the model's minibatch (and schedule), its ``train_step`` under ``precision``
    (an autocast context from :func:`genlab.training.device.autocast`) -> (images in the global batch, losses)."""
    x, y = model.begin_step(step, batches)
    with precision:
        out = model.train_step(x, y)
    return x.shape[0] * batches.world, out


def open_live(live_dir: Path) -> Live:
    """dvclive logger writing curves only (the pipeline's dvc.yaml declares them; no experiment of its own)."""
    from scmrepo.exceptions import SCMError

    try:
        return Live(str(live_dir), dvcyaml=False, save_dvc_exp=False)
    except SCMError as exc:  # dvclive cannot read HEAD of a git repository without commits
        raise DataError(f"dvclive cannot log here ({exc}): make a first commit (git commit) and rerun") from None


def lr_factor(cfg: TrainConfig, step: int) -> float:
    """Multiplier of every optimizer's base lr at ``step``: 1, or ½(1 + cos(π t / T)) (Loshchilov & Hutter 2017)."""
    if cfg.lr_schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * step / cfg.steps))
    return 1.0


def set_lr(model: GenerativeModel, factor: float) -> None:
    for opt in model.optimizers.values():
        for group in opt.param_groups:
            group["lr"] = group["initial_lr"] * factor


def _log(live: Live, record: dict) -> None:
    live.step = record["step"]
    for k, v in record.items():
        if k != "step":
            live.log_metric(k, v)
    live.next_step()
