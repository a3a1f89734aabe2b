"""Pickling the objective for executors, and saying exactly what could not be pickled.

The objective travels with pyspark's own cloudpickle, so an executor needs nothing but
pyspark to load it. When pickling fails, cloudpickle's message names a type
("cannot pickle '_thread.lock' object"), not the variable the user wrote; this module
finds the captured variable(s) responsible and names them.
"""

from __future__ import annotations

import contextlib
import inspect
import types
from typing import Any

from parzen.exceptions import ObjectiveNotSerializable


def _cloudpickle() -> Any:
    """pyspark's vendored cloudpickle (what executors load with), else the standalone one."""
    try:
        from pyspark import cloudpickle as vendored

        return vendored
    except ImportError:  # no pyspark: the standalone package serves in-process needs
        import cloudpickle

        return cloudpickle


def dumps(obj: Any) -> bytes:
    """Pickle `obj` as executors will load it."""
    return _cloudpickle().dumps(obj)


def _captured(fn: Any) -> dict[str, Any]:
    """Variables a callable carries with it: closure cells, globals it uses, defaults, self."""
    found: dict[str, Any] = {}
    if isinstance(fn, types.MethodType):
        found["self"] = fn.__self__
        fn = fn.__func__
    if isinstance(fn, types.FunctionType):
        code = fn.__code__
        for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
            with contextlib.suppress(ValueError):  # an empty cell
                found[name] = cell.cell_contents
        for name in code.co_names:
            if name in fn.__globals__ and not inspect.ismodule(fn.__globals__[name]):
                found[name] = fn.__globals__[name]
        for i, default in enumerate(fn.__defaults__ or ()):
            found[f"default #{i}"] = default
    elif hasattr(fn, "__dict__"):
        found.update({f"attribute {k}": v for k, v in vars(fn).items()})
    return found


def culprits(fn: Any) -> list[str]:
    """Descriptions of the captured variables of `fn` that cannot be pickled."""
    pickler = _cloudpickle()
    bad = []
    for name, value in _captured(fn).items():
        try:
            pickler.dumps(value)
        except Exception as exc:
            bad.append(f"{name!r} ({type(value).__module__}.{type(value).__qualname__}: {exc})")
    return bad


def dumps_objective(fn: Any) -> bytes:
    """Pickle the objective, or raise `ObjectiveNotSerializable` naming what failed."""
    try:
        return dumps(fn)
    except Exception as exc:
        names = culprits(fn)
        where = f"it captures {', '.join(names)}" if names else f"{type(exc).__name__}: {exc}"
        raise ObjectiveNotSerializable(
            f"the objective {getattr(fn, '__qualname__', fn)!r} cannot be pickled to run on Spark executors: "
            f"{where}. Create such objects inside the objective (or load them from a path there) "
            "instead of capturing them."
        ) from exc
