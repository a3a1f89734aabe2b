"""Early-stopping rules for ``fmin(early_stop_fn=...)``, as in hyperopt.

A rule is called after every finished trial as ``rule(trials, *state)`` and returns
``(stop, state)``; `state` is handed back on the next call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("parzen")


def no_progress_loss(iteration_stop_count: int = 20, percent_increase: float = 0.0) -> Callable:
    """Stop after `iteration_stop_count` finished trials without a new best loss.

    A loss counts as progress only if it beats the best so far by more than
    `percent_increase` percent of it. Failed trials count as trials without progress.
    Use it as ``fmin(..., early_stop_fn=no_progress_loss(20))``.

    Args:
        iteration_stop_count: finished trials without progress after which the run stops.
        percent_increase: how much better than the best (in percent of it) a loss must be to count.

    Returns:
        The ``early_stop_fn`` for `fmin` (hyperopt's signature: ``fn(trials, *state) -> (stop, state)``).
    """

    def stop_fn(trials: Any, best_loss: float | None = None, iteration_no_progress: int = 0) -> tuple[bool, list]:
        last = trials.last_finished
        new_loss = last.loss if last is not None else None
        if best_loss is None:
            return False, [new_loss, iteration_no_progress + 1]
        threshold = best_loss - abs(best_loss * (percent_increase / 100.0))
        if new_loss is not None and new_loss < threshold:
            best_loss, iteration_no_progress = new_loss, 0
        else:
            iteration_no_progress += 1
            logger.debug(
                "no progress for %d of %d trials (best %s)", iteration_no_progress, iteration_stop_count, best_loss
            )
        return iteration_no_progress >= iteration_stop_count, [best_loss, iteration_no_progress]

    return stop_fn
