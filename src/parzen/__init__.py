"""parzen: hyperopt's API, a faster TPE and a Spark backend that keeps the cluster busy.

from parzen import hp, fmin, tpe, rand, Trials, SparkTrials, STATUS_OK, space_eval
from parzen.pyll import scope

``import parzen`` imports nothing but the standard library: every public name is
loaded on first use (PEP 562). Objectives that run on Spark executors refer to parzen
(``parzen.STATUS_OK``, ``parzen.pyll.scope``, ``parzen.trial_resources()``) and
executors may have numpy but not scipy, so only what a name needs is imported.
The map of the packages is ``docs/architecture.md``.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from parzen import _aliases

__version__ = "0.1.0"

# public name -> the module that defines it (a module itself when the name is in _MODULES)
_LAZY: dict[str, str] = {
    "base": "parzen._hyperopt.base",
    "early_stop": "parzen.driver.early_stop",
    "exceptions": "parzen.exceptions",
    "hp": "parzen.hp",
    "pruners": "parzen.pruning.pruners",
    "pyll": "parzen._hyperopt.pyll",
    "anneal": "parzen.algorithms.anneal",
    "auto": "parzen.algorithms.auto",
    "gp": "parzen.algorithms.gp",
    "grid": "parzen.algorithms.grid",
    "local": "parzen.algorithms.local",
    "mix": "parzen.algorithms.mix",
    "rand": "parzen.algorithms.rand",
    "tpe": "parzen.algorithms.tpe",
    "AllTrialsFailed": "parzen.exceptions",
    "DuplicateLabel": "parzen.exceptions",
    "InvalidSpace": "parzen.exceptions",
    "Domain": "parzen._hyperopt.base",
    "TrialPruned": "parzen._remote.report",
    "report": "parzen._remote.report",
    "from_hyperopt": "parzen._hyperopt.migrate",
    "generate_trials_to_calculate": "parzen._hyperopt.migrate",
    "trials_from_docs": "parzen._hyperopt.migrate",
    "fmin": "parzen.driver.fmin",
    "partial": "parzen.driver.fmin",
    "space_eval": "parzen.space",
    "SparkTrials": "parzen.executors.spark.trials",
    "load_trials": "parzen.storage.store",
    "trial_resources": "parzen._remote.resources",
    "Suggestion": "parzen.driver.tuner",
    "Tuner": "parzen.driver.tuner",
    "Trial": "parzen.trial",
    "TrialState": "parzen.trial",
    "Trials": "parzen._hyperopt.trials",
    "hypervolume": "parzen.trial.pareto",
}
_STATUS = ["STATUS_FAIL", "STATUS_NEW", "STATUS_OK", "STATUS_RUNNING", "STATUS_STRINGS", "STATUS_SUSPENDED"]
_LAZY.update(dict.fromkeys(_STATUS, "parzen._remote.outcome"))  # standard library only: fine on executors
_JOB_STATES = ["JOB_STATES", "JOB_STATE_CANCEL", "JOB_STATE_DONE", "JOB_STATE_ERROR", "JOB_STATE_NEW"]
_LAZY.update(dict.fromkeys([*_JOB_STATES, "JOB_STATE_RUNNING"], "parzen._hyperopt.trials"))
_PRUNERS = ["ASHAPruner", "HyperbandPruner", "MOASHAPruner", "MedianPruner", "NopPruner", "Pruner"]
_PRUNERS += ["MOSuccessiveHalvingPruner", "SuccessiveHalvingPruner"]
_LAZY.update(dict.fromkeys(_PRUNERS, "parzen.pruning.pruners"))

__all__ = [
    "ASHAPruner",
    "AllTrialsFailed",
    "Domain",
    "DuplicateLabel",
    "HyperbandPruner",
    "InvalidSpace",
    "JOB_STATES",
    "JOB_STATE_CANCEL",
    "JOB_STATE_DONE",
    "JOB_STATE_ERROR",
    "JOB_STATE_NEW",
    "JOB_STATE_RUNNING",
    "MOASHAPruner",
    "MOSuccessiveHalvingPruner",
    "MedianPruner",
    "NopPruner",
    "Pruner",
    "STATUS_FAIL",
    "STATUS_NEW",
    "STATUS_OK",
    "STATUS_RUNNING",
    "STATUS_STRINGS",
    "STATUS_SUSPENDED",
    "SparkTrials",
    "SuccessiveHalvingPruner",
    "Suggestion",
    "Trial",
    "TrialPruned",
    "TrialState",
    "Trials",
    "Tuner",
    "anneal",
    "auto",
    "base",
    "early_stop",
    "exceptions",
    "fmin",
    "from_hyperopt",
    "generate_trials_to_calculate",
    "gp",
    "grid",
    "hp",
    "hypervolume",
    "load_trials",
    "local",
    "mix",
    "partial",
    "pruners",
    "pyll",
    "rand",
    "report",
    "space_eval",
    "tpe",
    "trial_resources",
    "trials_from_docs",
]

_MODULES = {"base", "pruners", "early_stop", "exceptions", "hp", "pyll", "anneal", "grid", "mix", "rand", "tpe"}
_MODULES |= {"auto", "gp", "local"}  # issue 26


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
    """The parzen package: ``parzen.fmin`` stays the function when the module ``parzen.fmin`` is imported.

    The import system binds every submodule on its package (``parzen.fmin = <module>``);
    an eager ``from parzen.driver.fmin import fmin`` used to overwrite that, a lazy one cannot.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _LAZY and name not in _MODULES:
            return
        super().__setattr__(name, value)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """Pickled by reference, as cloudpickle does for plain modules (an objective's ``parzen.STATUS_OK``)."""
        return importlib.import_module, (self.__name__,)


sys.modules[__name__].__class__ = _Package
_aliases.install()


assert sorted(__all__) == sorted(_LAZY), "keep __all__ (read by linters) in step with _LAZY"


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # what type checkers and IDEs see: the names as if imported eagerly
    from parzen import exceptions, hp
    from parzen._hyperopt import base, pyll
    from parzen._hyperopt.base import Domain
    from parzen._hyperopt.migrate import from_hyperopt, generate_trials_to_calculate, trials_from_docs
    from parzen._hyperopt.trials import (
        JOB_STATE_CANCEL,
        JOB_STATE_DONE,
        JOB_STATE_ERROR,
        JOB_STATE_NEW,
        JOB_STATE_RUNNING,
        JOB_STATES,
        Trials,
    )
    from parzen._remote.outcome import (
        STATUS_FAIL,
        STATUS_NEW,
        STATUS_OK,
        STATUS_RUNNING,
        STATUS_STRINGS,
        STATUS_SUSPENDED,
    )
    from parzen._remote.report import TrialPruned, report
    from parzen._remote.resources import trial_resources
    from parzen.algorithms import anneal, auto, gp, grid, local, mix, rand, tpe
    from parzen.driver import early_stop
    from parzen.driver.fmin import fmin, partial
    from parzen.driver.tuner import Suggestion, Tuner
    from parzen.exceptions import AllTrialsFailed, DuplicateLabel, InvalidSpace
    from parzen.executors.spark.trials import SparkTrials
    from parzen.pruning import pruners
    from parzen.pruning.pruners import (
        ASHAPruner,
        HyperbandPruner,
        MedianPruner,
        MOASHAPruner,
        MOSuccessiveHalvingPruner,
        NopPruner,
        Pruner,
        SuccessiveHalvingPruner,
    )
    from parzen.space import space_eval
    from parzen.storage.store import load_trials
    from parzen.trial import Trial, TrialState
    from parzen.trial.pareto import hypervolume
