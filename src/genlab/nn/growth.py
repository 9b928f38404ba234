"""The progressive-growing schedule (Karras et al. 2018, section 2 and appendix A.1), in optimizer steps.

Level 0 (4×4) trains for ``kimg_stable`` thousand images; every later level first fades in for
``kimg_fade`` thousand images (α rising linearly from 0 to 1), then stabilizes for ``kimg_stable``.
Each level has its own batch size. Lengths are counted in images, as in the paper, and turned into
steps here. A schedule covers the levels ``first..last``: every level in one run, or one level, a phase of the
pipeline that continues the phase before from its step and image count (``start``). When the step budget
(``train.steps``) is smaller than the schedule's steps, every segment is shrunk in proportion (at least one step
each), so a smoke run still visits every level and fade. α and the level are functions of the step alone: a
resumed run is in the same phase at the same α.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    level: int
    fading: bool  # True: the level's new blocks fade in over this segment; False: stabilization
    start: int  # first step
    steps: int
    batch_size: int
    images_before: int  # images shown before the segment's first step

    @property
    def end(self) -> int:
        return self.start + self.steps

    @property
    def resolution(self) -> int:
        """Image side at this segment's level: 4·2^level."""
        return 4 * 2 ** self.level


class GrowthSchedule:
    """Segments [stable 4×4, fade 8×8, stable 8×8, ...] of levels ``first..last`` with α(step) and the images shown
    before each step; the first segment starts at step ``start[0]`` with ``start[1]`` images already shown."""

    def __init__(self, levels: int, kimg_fade: float, kimg_stable: float, batch_sizes: tuple[int, ...],
                 budget: int, fade_in: bool = True, first: int = 0, last: int | None = None,
                 start: tuple[int, int] = (0, 0)):
        last = levels - 1 if last is None else last
        plan = []  # (level, fading, steps, batch)
        for level in range(first, last + 1):
            batch = batch_sizes[min(level, len(batch_sizes) - 1)]
            if level > 0:
                plan.append((level, True, max(1, math.ceil(kimg_fade * 1000 / batch)), batch))
            plan.append((level, False, max(1, math.ceil(kimg_stable * 1000 / batch)), batch))
        full = sum(p[2] for p in plan)
        self.scaled = budget < full
        if self.scaled:  # shrink every segment in proportion, keeping each at >= 1 step
            plan = [(lv, f, max(1, s * budget // full), b) for lv, f, s, b in plan]
        self.fade_in = fade_in
        self.levels, self.first, self.last = levels, first, last
        self.segments: list[Segment] = []
        step, images = start
        self.start_step, self.start_images = start
        for level, fading, steps, batch in plan:
            self.segments.append(Segment(level, fading, step, steps, batch, images))
            step, images = step + steps, images + steps * batch
        self.end_step, self.end_images = step, images

    @property
    def total_steps(self) -> int:
        """The step after the schedule's last one (steps are counted from the whole growth's first)."""
        return self.end_step

    def segment(self, step: int) -> Segment:
        for seg in self.segments:
            if step < seg.end:
                return seg
        return self.segments[-1]  # steps past the schedule continue the last (stable) one

    def alpha(self, step: int) -> float:
        """Fade-in weight of the newest level at ``step``: (step - start) / steps while fading, else 1."""
        seg = self.segment(step)
        if not (seg.fading and self.fade_in):
            return 1.0
        return (step - seg.start) / seg.steps

    def images_before(self, step: int) -> int:
        seg = self.segment(step)
        return seg.images_before + (step - seg.start) * seg.batch_size

    def level_start(self, level: int) -> int:
        """First step of ``level`` (its fade, or its stabilization when it is level 0)."""
        return next(seg.start for seg in self.segments if seg.level == level)

    def describe(self) -> list[dict]:
        """Plain description of the segments (for fingerprints, logs and the train summary)."""
        return [{"resolution": s.resolution, "phase": "fade" if s.fading else "stable", "start": s.start,
                 "steps": s.steps, "batch_size": s.batch_size, "images": s.steps * s.batch_size}
                for s in self.segments]
