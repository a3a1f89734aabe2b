"""parzen: hyperopt's API, a faster TPE and a Spark backend that keeps the cluster busy.

from parzen import hp, fmin, tpe, rand, Trials, SparkTrials, STATUS_OK, space_eval
from parzen.pyll import scope

``import parzen`` imports nothing but the standard library: every public name is
loaded on first use (PEP 562). Objectives that run on Spark executors refer to parzen
(``parzen.STATUS_OK``, ``parzen.pyll.scope``, ``parzen.trial_resources()``) and
executors may have numpy but not scipy, so only what a name needs is imported.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it (a module itself when the name is a submodule)
_LAZY: dict[str, str] = {
    "early_stop": "parzen.early_stop",
    "exceptions": "parzen.exceptions",
    "hp": "parzen.hp",
    "pyll": "parzen.pyll",
    "anneal": "parzen.algorithms.anneal",
    "grid": "parzen.algorithms.grid",
    "mix": "parzen.algorithms.mix",
    "rand": "parzen.algorithms.rand",
    "tpe": "parzen.algorithms.tpe",
    "AllTrialsFailed": "parzen.exceptions",
    "DuplicateLabel": "parzen.exceptions",
    "InvalidSpace": "parzen.exceptions",
    "fmin": "parzen.fmin",
    "partial": "parzen.fmin",
    "space_eval": "parzen.space",
    "SparkTrials": "parzen.spark",
    "load_trials": "parzen.store",
    "trial_resources": "parzen.executors._task",
    "Suggestion": "parzen.tuner",
    "Tuner": "parzen.tuner",
}
_LAZY.update(dict.fromkeys(["STATUS_FAIL", "STATUS_OK", "STATUS_STRINGS"], "parzen.executors._task"))
_LAZY.update(
    dict.fromkeys(
        ["JOB_STATES", "JOB_STATE_CANCEL", "JOB_STATE_DONE", "JOB_STATE_ERROR", "JOB_STATE_NEW", "JOB_STATE_RUNNING"],
        "parzen.trials",
    )
)
_LAZY.update(dict.fromkeys(["STATUS_NEW", "STATUS_RUNNING", "STATUS_SUSPENDED"], "parzen.trials"))
_LAZY.update(dict.fromkeys(["Trial", "Trials", "TrialState"], "parzen.trials"))

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
    "pyll",
    "rand",
    "space_eval",
    "tpe",
    "trial_resources",
]


_MODULES = {"early_stop", "exceptions", "hp", "pyll", "anneal", "grid", "mix", "rand", "tpe"}


def __getattr__(name: str) -> Any:
    """Import what `name` needs on first use and keep it as a module attribute."""
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'parzen' has no attribute {name!r}")
    module = importlib.import_module(where)
    value = module if name in _MODULES else getattr(module, name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """The parzen package: ``parzen.fmin`` stays the function when the submodule of that name loads.

    The import system binds every submodule on its package (``parzen.fmin = <module>``);
    the eager ``from parzen.fmin import fmin`` used to overwrite that, a lazy one cannot.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _LAZY and name not in _MODULES:
            return
        super().__setattr__(name, value)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """Pickled by reference, as cloudpickle does for plain modules (an objective's ``parzen.STATUS_OK``)."""
        return importlib.import_module, (self.__name__,)


sys.modules[__name__].__class__ = _Package


assert sorted(__all__) == sorted(_LAZY), "keep __all__ (read by linters) in step with _LAZY"


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # what type checkers and IDEs see: the names as if imported eagerly
    from parzen import early_stop, exceptions, hp, pyll
    from parzen.algorithms import anneal, grid, mix, rand, tpe
    from parzen.exceptions import AllTrialsFailed, DuplicateLabel, InvalidSpace
    from parzen.executors._task import STATUS_FAIL, STATUS_OK, STATUS_STRINGS, trial_resources
    from parzen.fmin import fmin, partial
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
        STATUS_NEW,
        STATUS_RUNNING,
        STATUS_SUSPENDED,
        Trial,
        Trials,
        TrialState,
    )
    from parzen.tuner import Suggestion, Tuner
