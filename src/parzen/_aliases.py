"""Old and hyperopt-style module paths, each the very module it now stands for.

``import parzen.tpe`` works as ``import hyperopt.tpe`` did, ``from parzen.pyll import
scope`` as hyperopt's, and every module path parzen had before its modules moved into
packages (``parzen.store``, ``parzen.trials``...) keeps importing. An alias gives the
same module object as its target (never a copy: registries such as ``scope`` stay
single), imported only when the alias is. Standard library only.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any

_ALGORITHMS = ("tpe", "rand", "anneal", "mix", "grid")

ALIASES: dict[str, str] = {f"parzen.{name}": f"parzen.algorithms.{name}" for name in _ALGORITHMS} | {
    # hyperopt's modules
    "parzen.base": "parzen._hyperopt.base",
    "parzen.pyll": "parzen._hyperopt.pyll",
    "parzen.pyll.base": "parzen._hyperopt.pyll.base",
    "parzen.pyll.scope": "parzen._hyperopt.pyll.scope",
    "parzen.pyll.stochastic": "parzen._hyperopt.pyll.stochastic",
    "parzen.atpe": "parzen._hyperopt.atpe",
    "parzen.mongoexp": "parzen._hyperopt.mongoexp",
    "parzen.early_stop": "parzen.driver.early_stop",
    "parzen.spark": "parzen.executors.spark.trials",
    "parzen.trials": "parzen._hyperopt.trials",
    # parzen's module paths before the move into packages
    "parzen.migrate": "parzen._hyperopt.migrate",
    "parzen.tuner": "parzen.driver.tuner",
    "parzen.observers": "parzen.driver.observers",
    "parzen.progress": "parzen.driver.progress",
    "parzen.pruners": "parzen.pruning.pruners",
    "parzen.reporting": "parzen._remote.report",
    "parzen.history": "parzen.trial.history",
    "parzen.store": "parzen.storage.store",
    "parzen.filesystems": "parzen.storage.journal",
    "parzen.executors.spark_connect": "parzen.executors.spark.connect",
    "parzen.executors.profiles": "parzen.executors.spark.profiles",
    "parzen.executors.shipping": "parzen.executors.spark.shipping",
}
# `parzen.fmin` is both the function (the package's attribute) and, imported as a module, this one:
ALIASES["parzen.fmin"] = "parzen.driver.fmin"


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


class AliasFinder(importlib.abc.MetaPathFinder):
    """Finds the aliased paths, which have no file of their own.

    It stands first on ``sys.meta_path``: ``parzen.pyll`` is the module of
    ``parzen/_hyperopt/pyll``, and the path finder would otherwise load
    ``parzen.pyll.scope`` from that folder a second time, as a copy.
    """

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        alias_of = ALIASES.get(fullname)
        if alias_of is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(alias_of))


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once per process)."""
    if not any(isinstance(finder, AliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, AliasFinder())
