"""The one training loop: it runs any :class:`GenerativeModel` without knowing which.

It resumes from the newest matching checkpoint, shows a progress bar, accumulates losses on the
device (read every ``train.log_every`` steps: no host sync per step), logs curves with dvclive and
checkpoints every ``train.checkpoint_every`` steps. Each step runs under ``train.precision``'s
autocast (bf16 on CUDA by default). Same seed and params on CPU -> same weights,
whether or not the run was interrupted.
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
from genlab.errors import DataError
from genlab.models.base import GenerativeModel
from genlab.progress import progress
from genlab.training.checkpoint import latest_checkpoint, save_checkpoint
from genlab.training.device import autocast
from genlab.training.seed import rng_state, set_rng_state

log = logging.getLogger(__name__)


def fit(model: GenerativeModel, batches: InMemoryBatches, cfg: TrainConfig, ckpt_dir: Path, live_dir: Path,
        fp: str, name: str = "model", on_step: Callable[[int], None] | None = None) -> dict:
    """Train ``model`` for ``cfg.steps`` steps; returns {"steps", "images_seen", "train_seconds", "history"}."""
    start, history, elapsed, images = 0, [], 0.0, 0
    ck = latest_checkpoint(ckpt_dir, fp)
    if ck is not None:
        model.load_training_state(ck["state"])
        set_rng_state(ck["rng"])
        start, history, elapsed = ck["step"], ck["history"], ck["elapsed"]
        images = ck.get("images", start * batches.batch_size)

    live = open_live(live_dir)
    for record in history:  # replay the curves of the interrupted part so they stay whole
        _log(live, record)

    model.train()
    sums: dict[str, torch.Tensor] = {}
    count, t0, last_t, last_images = 0, time.perf_counter(), time.perf_counter(), images
    # the training time is the one saved with the last checkpoint, so a finished run resumed for zero steps
    # writes the same model.pt and DVC does not rerun every stage after it
    total = elapsed
    bar = progress(cfg.steps, f"train {name}", initial=start)
    precision = autocast(cfg, batches.images.device)
    for opt in model.optimizers.values():  # the base lr survives checkpoints inside the optimizer state
        for group in opt.param_groups:
            group.setdefault("initial_lr", group["lr"])
    for step in range(start, cfg.steps):
        set_lr(model, lr_factor(cfg, step))
        n, out = run_step(model, batches, step, precision)
        images += n
        for k, v in out.items():
            sums[k] = sums[k] + v if k in sums else v.clone()
        count += 1
        done = step + 1
        if done % cfg.log_every == 0 or done == cfg.steps:
            now = time.perf_counter()
            record = {"step": done, **{k: float(v) / count for k, v in sums.items()}, **model.progress_state(),
                      "images_per_s": (images - last_images) / max(now - last_t, 1e-9),
                      "train_seconds": elapsed + now - t0}
            history.append(record)
            _log(live, record)
            bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k != "step"}, refresh=False)
            sums, count, last_t, last_images = {}, 0, now, images
        if done % cfg.checkpoint_every == 0 or done == cfg.steps:
            total = elapsed + time.perf_counter() - t0
            save_checkpoint(ckpt_dir, done, {
                "fingerprint": fp, "state": model.training_state(), "rng": rng_state(), "history": history,
                "elapsed": total, "images": images})
        bar.update(1)
        if on_step is not None:
            on_step(done)
    bar.close()
    live.end()
    model.eval()
    log.info("%s: %d steps in %.1fs", name, cfg.steps, total)
    return {"steps": cfg.steps, "images_seen": images, "train_seconds": total,
            "history": history}


def run_step(model: GenerativeModel, batches: InMemoryBatches, step: int,
             precision) -> tuple[int, dict[str, torch.Tensor]]:
    """Optimizer step ``step``: the model's minibatch (and schedule), its ``train_step`` under ``precision``
    (an autocast context from :func:`genlab.training.device.autocast`) -> (images in the batch, losses)."""
    x, y = model.begin_step(step, batches)
    with precision:
        out = model.train_step(x, y)
    return x.shape[0], out


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
