"""parzen: hyperopt's API, a faster TPE and a Spark backend that keeps the cluster busy.

from parzen import hp, fmin, tpe, rand, Trials, SparkTrials, STATUS_OK, space_eval
from parzen.pyll import scope
"""

from parzen import early_stop, exceptions, hp, pruners, pyll
from parzen.algorithms import anneal, grid, mix, rand, tpe
from parzen.exceptions import AllTrialsFailed, DuplicateLabel, InvalidSpace
from parzen.fmin import fmin, partial
from parzen.reporting import TrialPruned, report
from parzen.space import space_eval
from parzen.spark import SparkTrials
from parzen.store import load_trials
from parzen.trials import (
    JOB_STATE_CANCEL,
    JOB_STATE_DONE,
    JOB_STATE_ERROR,
    JOB_STATE_NEW,
    JOB_STATE_RUNNING,
    JOB_STATES,
    STATUS_FAIL,
    STATUS_NEW,
    STATUS_OK,
    STATUS_RUNNING,
    STATUS_STRINGS,
    STATUS_SUSPENDED,
    Trial,
    Trials,
    TrialState,
)
from parzen.tuner import Suggestion, Tuner

__version__ = "0.1.0"

__all__ = [
    "AllTrialsFailed",
    "DuplicateLabel",
    "InvalidSpace",
    "JOB_STATES",
    "JOB_STATE_CANCEL",
    "JOB_STATE_DONE",
    "JOB_STATE_ERROR",
    "JOB_STATE_NEW",
    "JOB_STATE_RUNNING",
    "STATUS_FAIL",
    "STATUS_NEW",
    "STATUS_OK",
    "STATUS_RUNNING",
    "STATUS_STRINGS",
    "STATUS_SUSPENDED",
    "SparkTrials",
    "Suggestion",
    "Trial",
    "TrialPruned",
    "TrialState",
    "Trials",
    "Tuner",
    "anneal",
    "early_stop",
    "exceptions",
    "fmin",
    "grid",
    "hp",
    "load_trials",
    "mix",
    "partial",
    "pruners",
    "pyll",
    "rand",
    "report",
    "space_eval",
    "tpe",
]
