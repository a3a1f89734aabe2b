"""The ``scope`` namespace: ``scope.int``, ``scope.float``, arithmetic, ``@scope.define``."""

from __future__ import annotations

import builtins
import math
import operator
from collections.abc import Callable
from typing import Any

from parzen.space import Call


def _switch(index: int, *options: Any) -> Any:
    return options[index]


def _identity(x: Any) -> Any:
    return x


_BUILTINS: dict[str, Callable] = {
    "int": int,
    "float": float,
    "bool": bool,
    "str": str,
    "len": len,
    "list": list,
    "tuple": tuple,
    "dict": dict,
    "range": range,
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sum": sum,
    "minimum": min,
    "maximum": max,
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "neg": operator.neg,
    "pow": operator.pow,
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "getattr": getattr,
    "getitem": operator.getitem,
    "switch": _switch,
    "identity": _identity,
}


class Scope:
    """Names that build `Call` nodes: ``scope.int(hp.quniform(...))``.

    ``@scope.define`` registers a function under its ``__name__`` and returns it
    unchanged, as hyperopt's did, so it stays callable directly too.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_functions", dict(_BUILTINS))

    def define(self, fn: Callable | None = None, **_options: Any) -> Callable:
        """Register `fn` (usable as ``@scope.define`` or ``@scope.define(o_len=2)``)."""
        if fn is None:
            return self.define
        if not callable(fn):
            raise TypeError(f"scope.define needs a function, got {fn!r}")
        self._functions[fn.__name__] = fn
        return fn

    define_pure = define
    define_info = define

    def undefine(self, fn: Callable | str) -> None:
        name = fn if isinstance(fn, str) else fn.__name__
        self._functions.pop(name, None)

    _functions: dict[str, Callable[..., Any]]

    def __getattr__(self, name: str) -> Callable[..., Call]:
        functions = object.__getattribute__(self, "_functions")
        if name not in functions:
            raise AttributeError(
                f"scope has no function {name!r}; define one with @scope.define, or use one of {sorted(functions)}"
            )
        fn = functions[name]

        def build(*args: Any, **kwargs: Any) -> Call:
            return Call(fn, args, kwargs)

        build.__name__ = name
        return build

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("use @scope.define to add a function to scope")

    def __dir__(self) -> list[str]:
        return sorted(set(builtins.dir(type(self))) | set(self._functions))


scope = Scope()
