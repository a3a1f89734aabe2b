"""Which trials are "below" (the good ones TPE refines) and which "above": the ranking and the split.

Finished trials are ranked by loss; pruned ones follow, the furthest first and then by
their last reported value (as optuna ranks them). ``gamma`` of them (``n_below``) are
"below"; failed trials, unranked pruned ones and, with the liar, running ones count as
bad outcomes in "above". Older trials weigh less (hyperopt's linear forgetting).
"""

from __future__ import annotations

import math

import numpy as np

from parzen.algorithms.tpe.options import TPEOptions
from parzen.trial import TrialState
from parzen.trial.pareto import goodness_order

FINISHED_BADLY = (TrialState.DONE, TrialState.ERROR, TrialState.PRUNED)  # what counts as a bad outcome
FINISHED = FINISHED_BADLY  # the states that count towards n_startup_jobs (startup="finished")


def linear_forgetting_weights(n: int, lf: int) -> np.ndarray:
    """hyperopt's weights by age: the `lf` newest trials weigh 1, older ones ramp down.

    Args:
        n: how many trials, oldest first.
        lf: how many of the newest weigh fully (``linear_forgetting``; 0: all do).
    """
    if n <= lf or lf <= 0:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, num=n - lf), np.ones(lf)])


def n_below(n_ok: int, gamma: float, split: str, max_below: int) -> int:
    """How many of the best trials form the "below" set.

    Args:
        n_ok: how many trials are ranked.
        gamma: the share below (of `n_ok`, or of its square root).
        split: ``"linear"`` or ``"sqrt"``.
        max_below: the cap.

    Returns:
        At least 1, at most `max_below` and `n_ok`.
    """
    raw = gamma * math.sqrt(n_ok) if split == "sqrt" else gamma * n_ok
    return int(min(max(1, math.ceil(raw)), max_below, n_ok))


def split(
    loss: np.ndarray,
    state: np.ndarray,
    opts: TPEOptions,
    last_step: np.ndarray,
    last_value: np.ndarray,
    losses: np.ndarray | None = None,
    constraints: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the below (best first) and above (time order) sets among the active trials.

    Finished trials are ranked by loss; pruned ones follow, the furthest first and then
    by their last reported value (as optuna ranks them), so while none has finished the
    most promising pruned ones are "below". Once one has, ``pruned_split="finished"``
    sizes the below set by the finished trials alone: a pruner stops most trials, and
    counting them would put every finished trial in l, mediocre ones included. With
    several objectives (`losses`, ``(n, k)``) or constraints (``(n, c)``) the finished
    trials are ranked by `parzen.trial.pareto.goodness_order`: feasible first, by
    non-dominated front, the front the cut falls in by hypervolume contribution.
    """
    ok_idx = np.flatnonzero(~np.isnan(loss))
    pruned = np.flatnonzero((state == TrialState.PRUNED) & (last_step >= 0))
    split_over = len(ok_idx) if opts.pruned_split == "finished" and len(ok_idx) else len(ok_idx) + len(pruned)
    k = n_below(split_over, opts.gamma, opts.split, opts.max_below)
    if losses is None and constraints is None:
        finished = ok_idx[np.argsort(loss[ok_idx], kind="stable")]
    else:
        vectors = loss[ok_idx, None] if losses is None else losses[ok_idx]
        held = None if constraints is None else np.nan_to_num(constraints[ok_idx], nan=0.0)
        finished = ok_idx[goodness_order(vectors, held, n_below=min(k, len(ok_idx)))]
    ranked = np.concatenate([finished, pruned[np.lexsort((last_value[pruned], -last_step[pruned]))]])
    below = ranked[:k]
    above = ranked[k:]
    bad = FINISHED_BADLY + ((TrialState.RUNNING,) if opts.liar else ())
    # failed and unranked pruned trials (and, with the liar, running ones) count as bad outcomes
    rest = np.flatnonzero(np.isnan(loss) & np.isin(state, bad))
    return below, np.sort(np.concatenate([above, np.setdiff1d(rest, ranked, assume_unique=True)]))
