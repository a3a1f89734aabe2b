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
import importlib.abc
import importlib.machinery
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it (a module itself when the name is a submodule)
_LAZY: dict[str, str] = {
    "base": "parzen.base",
    "early_stop": "parzen.early_stop",
    "exceptions": "parzen.exceptions",
    "hp": "parzen.hp",
    "pruners": "parzen.pruners",
    "pyll": "parzen.pyll",
    "anneal": "parzen.algorithms.anneal",
    "grid": "parzen.algorithms.grid",
    "mix": "parzen.algorithms.mix",
    "rand": "parzen.algorithms.rand",
    "tpe": "parzen.algorithms.tpe",
    "AllTrialsFailed": "parzen.exceptions",
    "DuplicateLabel": "parzen.exceptions",
    "InvalidSpace": "parzen.exceptions",
    "Domain": "parzen.base",
    "TrialPruned": "parzen.reporting",
    "report": "parzen.reporting",
    "from_hyperopt": "parzen.migrate",
    "generate_trials_to_calculate": "parzen.migrate",
    "trials_from_docs": "parzen.migrate",
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
    "Domain",
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
    "trial_resources",
    "trials_from_docs",
]


_MODULES = {"base", "pruners", "early_stop", "exceptions", "hp", "pyll", "anneal", "grid", "mix", "rand", "tpe"}


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


# hyperopt's module paths: `import parzen.tpe` / `from parzen.tpe import suggest` give the
# very module the name stands for (parzen.algorithms.tpe), imported only when asked for.
_SUBMODULE_ALIASES = {
    f"{__name__}.{name}": f"{__name__}.algorithms.{name}" for name in ("tpe", "rand", "anneal", "mix", "grid")
}


class _AliasLoader(importlib.abc.Loader):
    """Loads an alias as the module it stands for (the same object, not a copy).

    The import system stamps the alias's spec on the module it gets; the module's own
    spec is put back so `importlib.reload` and tools that read `__spec__` still see it.
    """

    def __init__(self, target: str):
        self.target = target
        self.target_spec: Any = None

    def create_module(self, spec: Any) -> types.ModuleType:
        module = importlib.import_module(self.target)
        self.target_spec = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run (the target ran when it was imported): only its own spec is restored."""
        module.__spec__ = self.target_spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds `parzen.tpe` and its siblings, which have no file of their own."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        alias_of = _SUBMODULE_ALIASES.get(fullname)
        if alias_of is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(alias_of))


if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
    sys.meta_path.append(_AliasFinder())


assert sorted(__all__) == sorted(_LAZY), "keep __all__ (read by linters) in step with _LAZY"


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # what type checkers and IDEs see: the names as if imported eagerly
    from parzen import base, early_stop, exceptions, hp, pruners, pyll
    from parzen.algorithms import anneal, grid, mix, rand, tpe
    from parzen.base import Domain
    from parzen.exceptions import AllTrialsFailed, DuplicateLabel, InvalidSpace
    from parzen.executors._task import STATUS_FAIL, STATUS_OK, STATUS_STRINGS, trial_resources
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
        STATUS_NEW,
        STATUS_RUNNING,
        STATUS_SUSPENDED,
        Trial,
        Trials,
        TrialState,
    )
    from parzen.tuner import Suggestion, Tuner
