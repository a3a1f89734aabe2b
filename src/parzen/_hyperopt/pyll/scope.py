"""The ``scope`` namespace: ``scope.int``, ``scope.float``, arithmetic, ``@scope.define``.

``scope.f(...)`` builds a `Call` node: ``f`` is applied to the values of its arguments
when the space is evaluated (``space_eval``, or once per trial in ``fmin``). Every
function hyperopt's pyll registered is here under its hyperopt name and with its
semantics (numpy's ``sin``/``exp``/``minimum``..., the comparisons, ``str_join``,
``partial``, ``call``, ``asarray``, the unlabelled random draws ``scope.uniform(0, 1,
rng=rng)``...), so ``scope.sin(hp.uniform("x", -20, 20))`` means what it meant there.
"""

from __future__ import annotations

import builtins
import copy
import functools
import operator
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from parzen.space import Call

# ---- functions hyperopt's pyll.base registered ------------------------------------


def _identity(x: Any) -> Any:
    return x


def _pos_args(*args: Any) -> tuple:
    return args


def _switch(index: int, *options: Any) -> Any:
    return options[index]


def _sum(x: Any, axis: int | None = None) -> Any:
    return np.sum(x) if axis is None else np.sum(x, axis=axis)


def _pow(a: Any, b: Any) -> Any:
    return a**b


def _array_union1(args: Iterable[Iterable[Any]]) -> np.ndarray:
    union: set = set()
    for a in args:
        union.update(a)
    return np.asarray(sorted(union))


def _array_union(*args: Iterable[Any]) -> np.ndarray:
    return _array_union1(args)


def _asarray(a: Any, dtype: Any = None) -> np.ndarray:
    return np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype)


def _str_join(s: str, seq: Iterable[str]) -> str:
    return s.join(seq)


def _bincount(x: Any, offset: int = 0, weights: Any = None, minlength: int = 0, p: Any = None) -> np.ndarray:
    if p is not None and np.ndim(p) == 2:
        minlength = len(p[0])
    return np.bincount(np.asarray(x, dtype=int) - offset, weights, minlength)


def _repeat(n_times: int, obj: Any) -> list:
    return [obj] * n_times


def _call(fn: Callable, args: Iterable[Any] = (), kwargs: dict | None = None) -> Any:
    return fn(*args, **(kwargs or {}))


def _callpipe1(fn_list: Iterable[Callable], arg: Any) -> Any:
    for fn in fn_list:
        arg = fn(arg)
    return arg


def _call_method(obj: Any, methodname: str, *args: Any, **kwargs: Any) -> Any:
    return getattr(obj, methodname)(*args, **kwargs)


def _copy_call_method_pure(obj: Any, methodname: str, *args: Any, **kwargs: Any) -> Any:
    return getattr(copy.copy(obj), methodname)(*args, **kwargs)


def _kwswitch(kw: str, **options: Any) -> Any:
    """The option named `kw` (hyperopt's ``scope.kwswitch``)."""
    return options[kw]


def _raise(etype: type[BaseException], *args: Any, **kwargs: Any) -> Any:
    raise etype(*args, **kwargs)


def _curtime(obj: Any) -> tuple[float, Any]:
    return time.time(), obj


def _pdb_settrace(obj: Any) -> Any:
    """Stop in the debugger while the space is evaluated (hyperopt's debugging helper)."""
    import pdb

    pdb.set_trace()
    return obj


def _map(fn: Callable, seq: Iterable[Any]) -> list:
    return list(map(fn, seq))


# ---- unlabelled random draws (hyperopt's pyll.stochastic) ----------------------------
# Each draws anew whenever the space is evaluated; without `rng`, from parzen's own
# generator. (A labelled hyperparameter is hp.*: these are for noise inside a space.)

_DEFAULT_RNG = np.random.default_rng()


def _rng(rng: np.random.Generator | None) -> np.random.Generator:
    return _DEFAULT_RNG if rng is None else rng


def _uniform(low: float, high: float, rng: Any = None, size: Any = ()) -> Any:
    return _rng(rng).uniform(low, high, size=size)


def _loguniform(low: float, high: float, rng: Any = None, size: Any = ()) -> Any:
    return np.exp(_rng(rng).uniform(low, high, size=size))


def _quniform(low: float, high: float, q: float, rng: Any = None, size: Any = ()) -> Any:
    return np.round(_rng(rng).uniform(low, high, size=size) / q) * q


def _qloguniform(low: float, high: float, q: float, rng: Any = None, size: Any = ()) -> Any:
    return np.round(np.exp(_rng(rng).uniform(low, high, size=size)) / q) * q


def _normal(mu: float, sigma: float, rng: Any = None, size: Any = ()) -> Any:
    return _rng(rng).normal(mu, sigma, size=size)


def _qnormal(mu: float, sigma: float, q: float, rng: Any = None, size: Any = ()) -> Any:
    return np.round(_rng(rng).normal(mu, sigma, size=size) / q) * q


def _lognormal(mu: float, sigma: float, rng: Any = None, size: Any = ()) -> Any:
    return np.exp(_rng(rng).normal(mu, sigma, size=size))


def _qlognormal(mu: float, sigma: float, q: float, rng: Any = None, size: Any = ()) -> Any:
    return np.round(np.exp(_rng(rng).normal(mu, sigma, size=size)) / q) * q


def _randint(low: int, high: int | None = None, rng: Any = None, size: Any = ()) -> Any:
    return _rng(rng).integers(low, high, size=size)


def _categorical(p: Any, rng: Any = None, size: Any = ()) -> Any:
    """Index i drawn with probability p[i] (an array of shape `size`, (1,) by default)."""
    p = np.asarray(p[0] if len(p) == 1 and isinstance(p[0], np.ndarray) else p, dtype=float)
    shape = (1,) if size == () else ((size,) if isinstance(size, (int, np.integer)) else tuple(size))
    return _rng(rng).choice(len(p), size=shape, p=p / p.sum())


def _one_of(*options: Any, rng: Any = None) -> Any:
    """One of `options`, drawn uniformly (an unlabelled choice)."""
    return options[int(_rng(rng).integers(len(options)))]


def _rng_from_seed(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


_BUILTINS: dict[str, Callable] = {
    # Python builtins hyperopt's SymbolTable held
    "int": int,
    "float": float,
    "bool": bool,
    "str": str,
    "len": len,
    "list": list,
    "tuple": tuple,
    "dict": dict,
    "range": range,
    "map": _map,
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "getattr": getattr,
    # pyll.base
    "identity": _identity,
    "pos_args": _pos_args,
    "getitem": operator.getitem,
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "neg": operator.neg,
    "eq": operator.eq,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "pow": _pow,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "sum": _sum,
    "minimum": np.minimum,
    "maximum": np.maximum,
    "array_union1": _array_union1,
    "array_union": _array_union,
    "asarray": _asarray,
    "str_join": _str_join,
    "bincount": _bincount,
    "repeat": _repeat,
    "call": _call,
    "callpipe1": _callpipe1,
    "call_method": _call_method,
    "call_method_pure": _call_method,
    "copy_call_method_pure": _copy_call_method_pure,
    "switch": _switch,
    "kwswitch": _kwswitch,
    "Raise": _raise,
    "curtime": _curtime,
    "pdb_settrace": _pdb_settrace,
    # pyll.stochastic
    "rng_from_seed": _rng_from_seed,
    "uniform": _uniform,
    "loguniform": _loguniform,
    "quniform": _quniform,
    "qloguniform": _qloguniform,
    "normal": _normal,
    "qnormal": _qnormal,
    "lognormal": _lognormal,
    "qlognormal": _qlognormal,
    "randint": _randint,
    "randint_via_categorical": _categorical,
    "categorical": _categorical,
    "one_of": _one_of,
}


class Scope:
    """Names that build `Call` nodes: ``scope.int(hp.quniform(...))``.

    ``@scope.define`` registers a function under its ``__name__`` and returns it
    unchanged, as hyperopt's did, so it stays callable directly too. Defining a name
    again replaces it (hyperopt raised, which broke re-running a notebook cell).
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_functions", dict(_BUILTINS))

    def define(self, fn: Callable | None = None, **_options: Any) -> Callable:
        """Register `fn` (usable as ``@scope.define`` or ``@scope.define(o_len=2)``).

        ``define_pure``, ``define_info`` and ``define_if_new`` are the same method, as
        hyperopt's options do not matter without its expression graph.

        Args:
            fn: the function, registered under its ``__name__``; None when used with options.

        Returns:
            `fn` itself, so it stays callable directly.
        """
        if fn is None:
            return self.define
        if not callable(fn):
            raise TypeError(f"scope.define needs a function, got {fn!r}")
        self._functions[fn.__name__] = fn
        return fn

    define_pure = define
    define_info = define
    define_if_new = define

    def undefine(self, fn: Callable | str) -> None:
        """Forget a function registered with `define`.

        Args:
            fn: the function or its name.
        """
        name = fn if isinstance(fn, str) else fn.__name__
        self._functions.pop(name, None)

    def partial(self, name: str | Callable, *args: Any, **kwargs: Any) -> Call:
        """``scope.partial("f", a)``: the function ``x -> scope.f(a, x)``, as a space node.

        Args:
            name: the scope function, or its name.
            *args: its first positional arguments (values or sub-spaces).
            **kwargs: its keyword arguments.
        """
        fn = self._function(name if isinstance(name, str) else name.__name__)
        return Call(functools.partial, (fn, *args), kwargs)

    def choice(self, options: Iterable[Any]) -> Call:
        """An unlabelled uniform choice among `options` (hyperopt's ``scope.choice``).

        Args:
            options: the values or sub-spaces to choose from.
        """
        return Call(_one_of, tuple(options))

    _functions: dict[str, Callable[..., Any]]

    def _function(self, name: str) -> Callable[..., Any]:
        functions = object.__getattribute__(self, "_functions")
        if name not in functions:
            raise AttributeError(
                f"scope has no function {name!r}; define one with @scope.define, or use one of {sorted(functions)}"
            )
        return functions[name]

    def __getattr__(self, name: str) -> Callable[..., Call]:
        fn = self._function(name)

        def build(*args: Any, **kwargs: Any) -> Call:
            return Call(fn, args, kwargs)

        build.__name__ = name
        return build

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("use @scope.define to add a function to scope")

    def __dir__(self) -> list[str]:
        return sorted(set(builtins.dir(type(self))) | set(self._functions))


scope = Scope()
"""hyperopt's ``scope``: ``scope.int(hp.quniform(...))``, ``@scope.define``, arithmetic and numpy functions."""


def as_apply(obj: Any) -> Any:
    """`obj` as a space node, so indexing and arithmetic on it build the space.

    hyperopt's ``as_apply([-1, 0, 0])[hp.choice("x", [0, 1, 2])]`` is the element the
    choice picks; a node is returned as it is.

    Args:
        obj: a constant or a space node.
    """
    from parzen.space import Node

    return obj if isinstance(obj, Node) else Call(_identity, (obj,))
