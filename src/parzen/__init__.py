"""parzen: hyperopt's API, a faster TPE and a Spark backend that keeps the cluster busy.

from parzen import hp, fmin, tpe, rand, Trials, SparkTrials, STATUS_OK, space_eval
from parzen.pyll import scope
"""

import sys as _sys

from parzen import base, early_stop, exceptions, hp, pruners, pyll
from parzen.algorithms import anneal, grid, mix, rand, tpe
from parzen.base import Domain
from parzen.exceptions import AllTrialsFailed, DuplicateLabel, InvalidSpace
from parzen.fmin import fmin, partial
from parzen.migrate import from_hyperopt, generate_trials_to_calculate, trials_from_docs
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

# hyperopt's module paths: `import parzen.tpe` / `from parzen.tpe import suggest` give the
# very module `parzen.tpe` names (parzen.algorithms.tpe). `parzen.fmin` stays the function
# as an attribute (as in hyperopt); `from parzen.fmin import fmin` reads the module.
for _name, _module in {"tpe": tpe, "rand": rand, "anneal": anneal, "mix": mix, "grid": grid}.items():
    _sys.modules.setdefault(f"{__name__}.{_name}", _module)
del _name, _module

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
    "Domain",
    "Trials",
    "Tuner",
    "anneal",
    "base",
    "early_stop",
    "exceptions",
    "fmin",
    "from_hyperopt",
    "generate_trials_to_calculate",
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
    "trials_from_docs",
]
