"""What the figures draw of a large run, and how they say so.

A figure with a marker per trial costs plotly and the browser time and memory in
proportion to the trials, and a report of 50,000 trials drawn in full is tens of
megabytes that no browser draws smoothly. So beyond `MAX_POINTS` ok trials a scatter
draws the best tenth of them (the region a user looks at) and a uniform random sample of
the rest (seeded: the same report twice draws the same points), and its title says
so. Summaries computed from every trial stay exact: the best-so-far line (drawn from its
change points only, which is the same line), the importance and the contour (fitted on at
most `parzen.plotting._importance.MAX_FIT_TRIALS`, also said), counts and tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from parzen.view import Row, RunView

MAX_POINTS = 5000  # markers (or lines) per scatter, slice panel and parallel-coordinates plot
MAX_BARS = 5000  # trials drawn in the executor timeline: the most recent ones
MAX_CURVES = 1000  # learning curves in the intermediate-values plot
BEST_SHARE = 0.1  # of a sample: the best trials, kept whole; the rest drawn at random

T = TypeVar("T")


def ok_shown(view: RunView) -> tuple[list[Row], str]:
    """The ok trials a scatter draws (in tid order) and the note that says what was left out ('' if none)."""
    cache = view.__dict__.setdefault("_ok_shown", {})
    if "rows" not in cache:
        rows = view.ok
        cache["rows"], cache["note"] = best_and_sample(rows, MAX_POINTS, "ok trials")
    return cache["rows"], cache["note"]


def best_and_sample(rows: list[Row], limit: int, what: str) -> tuple[list[Row], str]:
    """At most `limit` of `rows`: the best `BEST_SHARE` by loss and a seeded uniform sample of the others."""
    if len(rows) <= limit:
        return rows, ""
    n_best = int(limit * BEST_SHARE)
    ranked = sorted(rows, key=lambda r: (r.loss_or_nan, r.tid))
    rest = ranked[n_best:]
    picked = ranked[:n_best] + sample(rest, limit - n_best)
    picked.sort(key=lambda r: r.tid)
    note = f"showing {limit:,} of {len(rows):,} {what}: the {n_best:,} best and a random {limit - n_best:,}"
    return picked, note


def sample(items: Sequence[T], n: int, seed: int = 0) -> list[T]:
    """`n` of `items` drawn uniformly without replacement, in their original order (all if fewer)."""
    if len(items) <= n:
        return list(items)
    keep = np.sort(np.random.default_rng(seed).choice(len(items), size=n, replace=False))
    return [items[i] for i in keep]


def change_points(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    """The points of a step line (drawn 'hv') where its value changes, and its last point: the same line."""
    if not xs:
        return [], []
    keep = [0] + [i for i in range(1, len(ys)) if ys[i] != ys[i - 1]]
    if keep[-1] != len(xs) - 1:
        keep.append(len(xs) - 1)
    return [xs[i] for i in keep], [ys[i] for i in keep]


def titled(title: str, note: str) -> str:
    """A figure title with what was sampled under it (plotly's title takes simple HTML)."""
    return f"{title}<br><sup>{note}</sup>" if note else title
