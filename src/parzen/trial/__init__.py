"""Trials: their states, their frozen records, the columns algorithms read, and the core `Trials`.

* `state`: `TrialState` and the status strings (each defined once);
* `record`: `Trial`, the frozen record of one evaluation, and how an `Outcome` becomes one;
* `history`: `History`, the columns algorithms read (running and failed trials included);
* `trials`: the core `Trials` (records, state machine, history, store write-through);
  `parzen.Trials` adds hyperopt's views to it.
"""

from parzen.trial.history import History
from parzen.trial.record import Trial
from parzen.trial.state import (
    FINISHED_STATES,
    STATUS_FAIL,
    STATUS_NEW,
    STATUS_OK,
    STATUS_RUNNING,
    STATUS_STRINGS,
    STATUS_SUSPENDED,
    TrialState,
)
from parzen.trial.trials import Trials

__all__ = [
    "FINISHED_STATES",
    "STATUS_FAIL",
    "STATUS_NEW",
    "STATUS_OK",
    "STATUS_RUNNING",
    "STATUS_STRINGS",
    "STATUS_SUSPENDED",
    "History",
    "Trial",
    "TrialState",
    "Trials",
]
