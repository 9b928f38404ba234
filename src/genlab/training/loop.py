"""The one training loop: it runs any :class:`GenerativeModel` without knowing which.

Each step is :meth:`Optimization.step <genlab.training.optimization.Optimization.step>` on the step's minibatch;
for a model that grows on a schedule (:class:`Grows`) the loop also runs the schedule's clock: the level, the
fade-in α, the batch size, and Adam's reset when a level is added. It resumes from the newest matching checkpoint, shows a progress bar, accumulates losses on the
device (read every ``train.log_every`` steps: no host sync per step), logs curves with dvclive and
checkpoints every ``train.checkpoint_every`` steps. Each step runs under ``train.precision``'s
autocast (bf16 on CUDA by default). Same seed and params on CPU -> same weights,
whether or not the run was interrupted.

Non-finite updates are never applied (:mod:`genlab.training.update`); at each log point and before each
checkpoint the loop reads their count and, with ``train.on_nonfinite: error``, stops naming the model, the
first bad step and its loss term, so the newest checkpoint on disk is always one of good weights.
With data-parallel processes the first process of each machine (local rank 0) logs, shows progress and writes
checkpoints there; the logged losses are averaged over the processes, each checkpoint holds every process's RNG
state, and a resumed run starts every process from the same step.

Ctrl-C or SIGTERM (:mod:`genlab.training.interrupt`) ends the step (with several processes: the steps up to the
next log point), writes a checkpoint at it and raises :class:`~genlab.errors.Interrupted`. Checkpoints also hold
the values summed since the last log point, so a resumed run logs the curves an uninterrupted one would.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import signal
import time
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

import torch
from dvclive import Live

from genlab.config import TrainConfig
from genlab.data.batches import InMemoryBatches
from genlab.errors import DataError, Interrupted, TrainingError
from genlab.models.base import GenerativeModel
from genlab.nn.growth import GrowthSchedule
from genlab.progress import progress
from genlab.training import distributed
from genlab.training.checkpoint import latest_checkpoint, save_checkpoint
from genlab.training.interrupt import StopRequest
from genlab.training.precision import autocast
from genlab.training.optimization import Optimization
from genlab.training.seed import rng_state, set_rng_state

log = logging.getLogger(__name__)


@runtime_checkable
class Grows(Protocol):
    """A model that grows on a schedule (Progressive GAN): the loop runs its clock."""

    schedule: GrowthSchedule
    level: int  # the level and fade-in weight of the current step, set by set_growth
    alpha: float

    def set_growth(self, level: int, alpha: float) -> None:
        """Train at ``level`` with fade-in weight ``alpha``."""

    def continue_growth(self, step: int, images: int) -> None:
        """Start the schedule at ``step`` with ``images`` shown: where the phase before this run ended."""


def fit(model: GenerativeModel, opt: Optimization, batches: InMemoryBatches, cfg: TrainConfig, ckpt_dir: Path,
        live_dir: Path, fp: str, name: str = "model", on_step: Callable[[int], None] | None = None,
        world: distributed.World = distributed.World(), begin: dict | None = None) -> dict:
    """Train ``model`` up to step ``cfg.steps``, from step 0 or from ``begin`` (the end of the run it continues:
    {"step", "images", "rng"}); returns {"first_step", "steps", "images_seen", "train_seconds", "history",
    "skipped_updates"}. Ctrl-C or SIGTERM checkpoints the current step and raises :class:`Interrupted`."""
    start, history, elapsed, images, skipped_before = 0, [], 0.0, 0, 0
    device = batches.images.device
    sums: dict[str, torch.Tensor] = {}  # logged values summed since the last log point, and their count
    count = 0
    if begin is not None:
        start, images = begin["step"], begin["images"]
        set_rng_state(begin["rng"][world.rank] if world.size > 1 else begin["rng"])
    first_step = start
    ck = resume(model, opt, ckpt_dir, fp, world)
    if ck is not None:
        start, history, elapsed = ck["step"], ck["history"], ck["elapsed"]
        images = ck.get("images", start * batches.batch_size)
        skipped_before = ck.get("skipped", 0)
        sums = {k: v.to(device) for k, v in (ck["sums"][world.rank] if world.size > 1 else ck["sums"]).items()}
        count = ck["count"]

    live = open_live(live_dir) if world.is_main else None
    for record in history if live is not None else ():  # replay the interrupted part so the curves stay whole
        _log(live, record)

    model.train()
    t0, last_t, last_images = time.perf_counter(), time.perf_counter(), images
    # the training time is the one saved with the last checkpoint, so a finished run resumed for zero steps
    # writes the same model.pt and DVC does not rerun every stage after it
    total = elapsed
    bar = progress(cfg.steps, f"train {name}", initial=start, disable=not world.is_main)
    precision = autocast(cfg, device)
    # a failed step (a lost process) ends the bar's line first, so its error stands on a line of its own
    with StopRequest() as stop, _closing(bar):
        for step in range(start, cfg.steps):
            done = step + 1
            opt.updater.step = done
            n, out = run_step(model, opt, batches, step, precision)
            images += n
            for k, v in out.items():
                sums[k] = sums[k] + v if k in sums else v.clone()
            count += 1
            signum = stop.agreed(done % cfg.log_every == 0, device)
            checkpoint = done % cfg.checkpoint_every == 0 or done == cfg.steps or bool(signum)
            if done % cfg.log_every == 0 or checkpoint:
                check_finite(opt, cfg, name, ckpt_dir)
            if done % cfg.log_every == 0 or done == cfg.steps:
                now = time.perf_counter()
                means = _mean_over_processes(sums, count)
                record = {"step": done, **means, **growth_state(model),
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
                running = {k: v.cpu() for k, v in sums.items()}
                running = distributed.all_gather(running) if world.size > 1 else running
                if world.is_main:
                    path = save_checkpoint(ckpt_dir, done, {
                        "fingerprint": fp, "state": {"weights": model.state_dict(), **opt.state_dict()}, "rng": rng,
                        "history": history, "elapsed": total, "images": images,
                        "skipped": skipped_before + opt.updater.skipped(), "sums": running, "count": count})
            bar.update(1)
            if on_step is not None:
                on_step(done)
            if signum and done < cfg.steps:
                raise Interrupted(f"{name}: interrupted at step {done} ({signal.Signals(signum).name}), checkpoint "
                                  f"{path} written; rerun dvc repro (or genlab train {name}) to resume"
                                  if world.is_main else "", signum)
    if live is not None:
        live.end()
    model.eval()
    skipped = skipped_before + opt.updater.skipped()
    log.log(logging.INFO if world.is_main else logging.DEBUG, "%s: %d steps in %.1fs%s", name, cfg.steps, total,
            f", {skipped} non-finite updates skipped" if skipped else "")
    rng = distributed.all_gather(rng_state()) if world.size > 1 else rng_state()  # where a continuing run begins
    return {"first_step": first_step, "steps": cfg.steps, "images_seen": images, "train_seconds": total,
            "history": history, "skipped_updates": skipped, "rng": rng}


@contextlib.contextmanager
def _closing(bar):
    try:
        yield bar
    finally:
        bar.close()


def resume(model: GenerativeModel, opt: Optimization, ckpt_dir: Path, fp: str,
           world: distributed.World) -> dict | None:
    """Restore the newest checkpoint of this run that fits into ``model``, ``opt`` and the RNG, at one step for
    every process, or leave them as they are (when every checkpoint is damaged, the state a failed restore touched
    is put back). Each node reads its own folder, and a node killed while writing (or holding a damaged file) may
    be one checkpoint behind the others, so all take the oldest of the newest steps (each folder keeps two);
    without a common one every process starts afresh."""
    fresh: list = []

    def restore(ck: dict) -> None:
        if not fresh:
            fresh.append(copy.deepcopy(({"weights": model.state_dict(), **opt.state_dict()}, rng_state())))
        _check_progress(ck, world)
        model.load_state_dict(ck["state"]["weights"])
        opt.load_state_dict(ck["state"])
        set_rng_state(ck["rng"][world.rank] if world.size > 1 else ck["rng"])

    ck = latest_checkpoint(ckpt_dir, fp, remove_stale=world.is_main, restore=restore)
    if world.size > 1:
        common = min(distributed.all_gather(ck["step"] if ck else 0))
        if ck is not None and ck["step"] > common:
            ck = latest_checkpoint(ckpt_dir, fp, remove_stale=False, restore=restore, at_most=common) if common else None
        steps = set(distributed.all_gather(ck["step"] if ck else 0))
        if len(steps) > 1:
            log.warning("the processes hold no common checkpoint (steps %s): starting afresh", sorted(steps))
            ck = None
    if ck is None and fresh:
        state, rng = fresh[0]
        model.load_state_dict(state["weights"])
        opt.load_state_dict(state)
        set_rng_state(rng)
    return ck


def _check_progress(ck: dict, world: distributed.World) -> None:
    """The plain values of a checkpoint that :func:`fit` continues from are of the types it wrote."""
    sums = ck["sums"][world.rank] if world.size > 1 else ck["sums"]
    ok = (type(ck["step"]) is int and ck["step"] >= 0 and isinstance(ck["history"], list)
          and all(isinstance(r, dict) and type(r.get("step")) is int for r in ck["history"])
          and isinstance(ck["elapsed"], (int, float)) and type(ck["count"]) is int
          and isinstance(sums, dict) and all(isinstance(v, torch.Tensor) for v in sums.values()))
    if not ok:
        raise ValueError("its step, history or running sums are not what fit writes")


def check_finite(opt: Optimization, cfg: TrainConfig, name: str, ckpt_dir: Path) -> None:
    """With ``train.on_nonfinite: error``, stop if any update since the start was skipped as non-finite."""
    if cfg.on_nonfinite != "error":
        return
    bad = opt.updater.nonfinite()
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


def run_step(model: GenerativeModel, opt: Optimization, batches: InMemoryBatches, step: int,
             precision) -> tuple[int, dict[str, torch.Tensor]]:
    """Optimizer step ``step``: the growth clock (if the model grows), the step's minibatch, and
    :meth:`Optimization.step` under ``precision`` (an autocast context from
    :func:`genlab.training.precision.autocast`) -> (images in the global batch, logged values)."""
    if isinstance(model, Grows):
        schedule = model.schedule
        seg = schedule.segment(step)
        entering = seg.level > 0 and step == schedule.level_start(seg.level)
        if entering:  # a new level's first step: Adam's moments start afresh (the paper's code)
            opt.reset_moments()
        model.set_growth(seg.level, schedule.alpha(step))
        x, y = batches.span(schedule.images_before(step), seg.batch_size)
    else:
        x, y = batches.batch(step)
    with precision:
        out = opt.step(x, y)
    return x.shape[0] * batches.world, out


def growth_state(model: GenerativeModel) -> dict[str, float]:
    """The growth clock's values logged with the curves: the resolution trained at and the fade-in α."""
    if not isinstance(model, Grows):
        return {}
    return {"resolution": float(4 * 2 ** model.level), "alpha": float(model.alpha)}


def open_live(live_dir: Path) -> Live:
    """dvclive logger writing curves only (the pipeline's dvc.yaml declares them; no experiment of its own)."""
    from scmrepo.exceptions import SCMError

    try:
        return Live(str(live_dir), dvcyaml=False, save_dvc_exp=False)
    except SCMError as exc:  # dvclive cannot read HEAD of a git repository without commits
        raise DataError(f"dvclive cannot log here ({exc}): make a first commit (git commit) and rerun") from None


def _log(live: Live, record: dict) -> None:
    live.step = record["step"]
    for k, v in record.items():
        if k != "step":
            live.log_metric(k, v)
    live.next_step()
