"""Where a trial is in its life (`TrialState`) and the status strings a result carries: each defined once.

The status strings are hyperopt's (``STATUS_OK`` and ``STATUS_FAIL`` are what an
objective returns); the first five states are hyperopt's ``JOB_STATE_*`` codes.
Standard library only.
"""

from __future__ import annotations

import enum

from parzen._remote.outcome import (
    STATUS_FAIL,
    STATUS_NEW,
    STATUS_OK,
    STATUS_RUNNING,
    STATUS_STRINGS,
    STATUS_SUSPENDED,
)

__all__ = [
    "FINISHED_STATES",
    "STATUS_FAIL",
    "STATUS_NEW",
    "STATUS_OK",
    "STATUS_RUNNING",
    "STATUS_STRINGS",
    "STATUS_SUSPENDED",
    "TrialState",
]


class TrialState(enum.IntEnum):
    """Where a trial is in its life. Values 0-4 are hyperopt's ``JOB_STATE_*`` codes."""

    NEW = 0  # queued to run first (generate_trials_to_calculate, a hyperopt document)
    RUNNING = 1
    DONE = 2  # the objective returned (status ok or fail)
    ERROR = 3  # the objective raised, its worker died, or it returned garbage
    CANCELLED = 4  # stopped by a stop rule, a trial timeout or Ctrl-C
    INTERRUPTED = 5  # was running when the driver (or its Spark session) stopped; its budget is run again
    PRUNED = 6  # stopped early by a pruner after reporting intermediate values

    @property
    def finished(self) -> bool:
        """Finished trials count towards ``max_evals``; cancelled and interrupted ones do not."""
        return self in FINISHED_STATES


FINISHED_STATES = (TrialState.DONE, TrialState.ERROR, TrialState.PRUNED)  # a tuple: numpy reads it as values
