"""A comparison of DVC experiments that fits a terminal: one row per setting, the params that differ between the
rows, and each model's headline metric; runs that differ only in ``seed`` form one row, with the mean ± standard
deviation over their seeds (the spread a verdict needs, see :mod:`genlab.claims`)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from genlab.experiments import finished, name, param_keys, row_params, value

SEED = "seed"
IGNORED = ("models",)  # a list, shown by the model columns themselves


@dataclass
class Setting:
    """The runs of one setting of the differing params (several seeds, or one run)."""

    names: list[str]
    params: dict
    seeds: list = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)  # model -> one value per run


def settings(rows: list[dict], params: dict, models: list[str], metric: str = "fid") -> tuple[list[str], list[Setting]]:
    """(the params that differ between the finished rows of ``exp_show``, seed excepted; the rows grouped by those
    params, each with its seeds and each model's ``metric`` per run). ``params`` is the params.yaml mapping."""
    keys = param_keys(params) - set(IGNORED)
    runs = [(r, row_params(r, keys)) for r in rows if finished(r)]
    changed = sorted(k for k in keys - {SEED} if len({repr(p.get(k)) for _, p in runs}) > 1)
    groups: dict[tuple, Setting] = {}
    for row, p in runs:
        key = tuple(repr(p.get(k)) for k in changed)
        s = groups.setdefault(key, Setting([], {k: p.get(k) for k in changed}))
        s.names.append(name(row))
        s.seeds.append(p.get(SEED))
        for model in models:
            v = value(row, f"metrics/eval/{model}.json", metric)
            if isinstance(v, (int, float)):
                s.metrics.setdefault(model, []).append(float(v))
    return changed, list(groups.values())


def _number(v) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _cell(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return _number(values[0])
    return f"{_number(statistics.fmean(values))}±{statistics.stdev(values):.2g}"


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _shrink(widths: list[int], mins: list[int], budget: int) -> list[int]:
    """Narrow the widest columns, one character at a time, down to their minimum, until they fit ``budget``."""
    widths = list(widths)
    while sum(widths) > budget and any(w > m for w, m in zip(widths, mins)):
        i = max((i for i in range(len(widths)) if widths[i] > mins[i]), key=lambda i: widths[i])
        widths[i] -= 1
    return widths


def render(changed: list[str], groups: list[Setting], models: list[str], metric: str = "fid", width: int = 120,
           gap: int = 2) -> str:
    """The table as text at most ``width`` columns wide: the numbers keep their width; the experiment names, the
    params (one column each, or ``key=value`` pairs in one column when those do not fit) and the seeds are cut
    short (…) where the table must shrink."""
    numbers = [[_cell(g.metrics.get(m, [])) for m in models] for g in groups]
    right = [max([len(m), *(len(row[j]) for row in numbers)]) for j, m in enumerate(models)]
    budget = width - sum(w + gap for w in right)
    names = [g.names[0] + (f" +{len(g.names) - 1}" if len(g.names) > 1 else "") for g in groups]
    seeds = [",".join(_number(s) for s in sorted(s for s in g.seeds if s is not None)) for g in groups]
    layouts = [(changed, [[_number(g.params[k]) for k in changed] for g in groups]),
               (["params"], [[" ".join(f"{k}={_number(g.params[k])}" for k in changed)] for g in groups])]
    for heads, values in layouts if changed else layouts[:1]:
        header = ["experiment", *heads, SEED]
        rows = [[n, *v, s] for n, v, s in zip(names, values, seeds)]
        natural = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
        mins = [min(w, m) for w, m in zip(natural, [10, *(min(len(h), 7) for h in heads), 4])]
        left = _shrink(natural, mins, budget - gap * len(header))
        if sum(left) + gap * len(header) <= budget:
            break
    widths = left + right
    lines = [[*header, *models], *([*r, *n] for r, n in zip(rows, numbers))]
    text = []
    for i, cells in enumerate(lines):
        parts = [_fit(c, w).ljust(w) if j < len(left) else c.rjust(w) for j, (c, w) in enumerate(zip(cells, widths))]
        text.append((" " * gap).join(parts).rstrip())
        if i == 0:
            text.append("─" * len(text[0]))
    many = any(len(g.seeds) > 1 for g in groups)
    title = f"{metric} per model" + (" (mean ± std over seeds)" if many else "")
    return "\n".join([title, "", *text])
