"""The search-space tree: frozen nodes, what a value may be, and prior sampling.

A space is any nesting of dicts, lists and tuples holding constants and nodes:

* `Numeric` -- one labelled numeric hyperparameter (``hp.uniform`` and friends);
* `Categorical` -- ``hp.choice`` / ``hp.pchoice``; its options are sub-spaces, which is
  what makes a space *conditional*: a parameter inside an option is active only when
  that option is chosen;
* `Call` -- a deterministic function applied to sub-spaces (``scope.int``, arithmetic,
  ``@scope.define`` functions).

Nodes are built by `parzen.hp` and `parzen.pyll.scope`; `parzen.space.compile` turns a
tree into the flat view algorithms use.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from parzen.exceptions import DuplicateLabel, InvalidParameterValue, InvalidSpace


class Node:
    """Base of every space expression. Frozen after construction; supports arithmetic."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; build a new node instead")

    def _init(self, **fields: Any) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def children(self) -> tuple:
        """Sub-spaces that are evaluated whenever this node is (not choice options)."""
        return ()

    def __reduce__(self):
        # Slots plus a refusing __setattr__ defeat pickle's default protocol.
        state = {name: getattr(self, name) for cls in type(self).__mro__ for name in getattr(cls, "__slots__", ())}
        return (_rebuild_node, (type(self), state))

    # Arithmetic builds `Call` nodes, as hyperopt's pyll `Apply` did.
    def __add__(self, other):
        return Call(operator.add, (self, other))

    def __radd__(self, other):
        return Call(operator.add, (other, self))

    def __sub__(self, other):
        return Call(operator.sub, (self, other))

    def __rsub__(self, other):
        return Call(operator.sub, (other, self))

    def __mul__(self, other):
        return Call(operator.mul, (self, other))

    def __rmul__(self, other):
        return Call(operator.mul, (other, self))

    def __truediv__(self, other):
        return Call(operator.truediv, (self, other))

    def __rtruediv__(self, other):
        return Call(operator.truediv, (other, self))

    def __floordiv__(self, other):
        return Call(operator.floordiv, (self, other))

    def __rfloordiv__(self, other):
        return Call(operator.floordiv, (other, self))

    def __pow__(self, other):
        return Call(operator.pow, (self, other))

    def __rpow__(self, other):
        return Call(operator.pow, (other, self))

    def __neg__(self):
        return Call(operator.neg, (self,))

    def __getitem__(self, key):
        return Call(operator.getitem, (self, key))


def _slack(low: float, high: float) -> float:
    """Tolerance of bound checks: values written out by hand or through exp/log round-trips."""
    return 1e-9 * max(1.0, abs(low), abs(high))


def _rebuild_node(cls: type, state: dict[str, Any]) -> Node:
    node: Node = object.__new__(cls)
    node._init(**state)
    return node


class Param(Node):
    """A labelled hyperparameter: the unit an algorithm chooses a value for."""

    __slots__ = ("label",)
    label: str

    def sample(self, rng: np.random.Generator, size: int | None = None) -> Any:
        """Draw from the prior (an option index for a choice)."""
        raise NotImplementedError

    def check_value(self, value: Any) -> Any:
        """Coerce a user-supplied value into the domain, or raise `InvalidParameterValue`."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """A JSON-able description, used to detect a changed space on resume."""
        raise NotImplementedError


class Numeric(Param):
    """A numeric hyperparameter with hyperopt's semantics.

    ``kind`` is one of ``uniform quniform loguniform qloguniform normal qnormal
    lognormal qlognormal randint``. For the log kinds, ``low``/``high``/``mu``/``sigma``
    describe ``log(value)``, exactly as in hyperopt.
    """

    __slots__ = ("kind", "low", "high", "mu", "sigma", "q")
    kind: str
    # Floats, or None where the kind has none (bounded kinds: low/high; normal kinds: mu/sigma).
    # Typed Any: code reads them after checking `bounded`, which a type checker cannot follow.
    low: Any
    high: Any
    mu: Any
    sigma: Any
    q: Any

    def __init__(self, label, kind, *, low=None, high=None, mu=None, sigma=None, q=None):
        self._init(label=label, kind=kind, low=low, high=high, mu=mu, sigma=sigma, q=q)

    @property
    def log(self) -> bool:
        """True when the distribution is over ``log(value)``."""
        return "log" in self.kind

    @property
    def bounded(self) -> bool:
        return self.low is not None

    @property
    def is_integer(self) -> bool:
        return self.kind == "randint"

    def sample(self, rng: np.random.Generator, size: int | None = None) -> Any:
        """Draw from the prior, returning values in the user's scale."""
        if self.kind == "randint":
            return rng.integers(int(self.low), int(self.high), size=size)
        if self.bounded:
            raw = rng.uniform(self.low, self.high, size=size)
        else:
            raw = rng.normal(self.mu, self.sigma, size=size)
        return self.from_internal(raw)

    def from_internal(self, x: Any) -> Any:
        """Map a point of the sampling scale (log scale for log kinds) to a value."""
        value = np.exp(x) if self.log else x
        if self.q is not None:
            value = np.round(value / self.q) * self.q
        return value

    def check_value(self, value: Any) -> float | int:
        """Coerce a user-supplied value (points_to_evaluate, a stored trial) or raise."""
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
            raise InvalidParameterValue(
                f"hyperparameter {self.label!r} ({self.kind}) needs a finite number, got {value!r}"
            )
        value = float(value) if not isinstance(value, numbers.Integral) else int(value)
        if self.kind == "randint":
            if value != int(value) or not self.low <= value < self.high:
                raise InvalidParameterValue(
                    f"hyperparameter {self.label!r} (randint) needs an integer in "
                    f"[{int(self.low)}, {int(self.high)}), got {value!r}"
                )
            return int(value)
        if self.log and value < 0:
            raise InvalidParameterValue(f"hyperparameter {self.label!r} ({self.kind}) takes values >= 0, got {value!r}")
        if self.bounded:
            low, high = self.value_bounds()
            if not low - _slack(low, high) <= value <= high + _slack(low, high):
                where = f"[{low:.6g}, {high:.6g}]"
                raise InvalidParameterValue(
                    f"hyperparameter {self.label!r} ({self.kind}) takes values in {where}, got {value!r}"
                )
        return float(value)

    def value_bounds(self) -> tuple[float, float]:
        """The smallest and largest value a bounded kind can take (after exp and rounding)."""
        low, high = (math.exp(self.low), math.exp(self.high)) if self.log else (self.low, self.high)
        if self.q is not None:
            low, high = round(low / self.q) * self.q, round(high / self.q) * self.q
        return float(low), float(high)

    def describe(self) -> dict[str, Any]:
        """A JSON-able description, used to detect a changed space on resume."""
        fields = {k: getattr(self, k) for k in ("low", "high", "mu", "sigma", "q")}
        return {"label": self.label, "kind": self.kind} | {k: v for k, v in fields.items() if v is not None}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.describe().items() if k not in ("label", "kind"))
        return f"hp.{self.kind}({self.label!r}, {args})"


class Categorical(Param):
    """``hp.choice`` / ``hp.pchoice``: picks one of ``options``; its value is the index."""

    __slots__ = ("options", "probs", "kind")
    options: tuple
    probs: np.ndarray
    kind: str

    def __init__(self, label, options, probs, kind="choice"):
        probs = np.asarray(probs, dtype=float)
        probs.setflags(write=False)
        self._init(label=label, options=tuple(options), probs=probs, kind=kind)
        check_unique_labels(self)

    def sample(self, rng: np.random.Generator, size: int | None = None) -> Any:
        if self.kind == "choice":
            return rng.integers(0, len(self.options), size=size)
        return rng.choice(len(self.options), size=size, p=self.probs)

    def check_value(self, value: Any) -> int:
        n = len(self.options)
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 <= int(value) < n
        if not ok and isinstance(value, numbers.Real) and not isinstance(value, bool):
            ok = float(value).is_integer() and 0 <= float(value) < n
        if not ok:
            raise InvalidParameterValue(
                f"hyperparameter {self.label!r} ({self.kind}) takes the index of an option, "
                f"an integer in [0, {n}), got {value!r}"
            )
        return int(value)

    def describe(self) -> dict:
        return {
            "label": self.label,
            "kind": self.kind,
            "n_options": len(self.options),
            "probs": [round(float(p), 12) for p in self.probs] if self.kind == "pchoice" else None,
        }

    def __repr__(self) -> str:
        return f"hp.{self.kind}({self.label!r}, <{len(self.options)} options>)"


class Call(Node):
    """A deterministic function of sub-spaces (``scope.int(...)``, ``x + 1``, ...).

    Args:
        fn: the function, called once the values inside are chosen.
        args: its positional arguments (values or sub-spaces).
        kwargs: its keyword arguments.
    """

    __slots__ = ("fn", "args", "kwargs")
    fn: Callable
    args: tuple
    kwargs: tuple

    def __init__(self, fn: Callable, args: tuple = (), kwargs: Mapping | None = None):
        self._init(fn=fn, args=tuple(args), kwargs=tuple(sorted((kwargs or {}).items())))
        check_unique_labels(self)

    def children(self) -> tuple:
        return self.args + tuple(v for _, v in self.kwargs)

    @property
    def name(self) -> str:
        """The function's name, as ``scope.<name>`` shows it."""
        return getattr(self.fn, "__name__", repr(self.fn))

    def __repr__(self) -> str:
        args = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs]
        return f"scope.{self.name}({', '.join(args)})"


def _subspaces(obj: Any) -> Iterator[Any]:
    """Every direct sub-space of `obj`, choice options included."""
    if isinstance(obj, Categorical):
        yield from obj.options
    elif isinstance(obj, Node):
        yield from obj.children()
    elif isinstance(obj, dict):
        yield from obj.values()
    elif isinstance(obj, (list, tuple)):
        yield from obj


def _collect_params(obj: Any, path: tuple, found: dict, paths: dict) -> None:
    """Depth-first: record each Param once and every choice path leading to it."""
    if isinstance(obj, Param):
        seen = found.get(obj.label)
        if seen is None:
            found[obj.label] = obj
            paths[obj.label] = set()
        elif seen is not obj:
            raise DuplicateLabel(
                f"label {obj.label!r} is used by two different hyperparameters "
                f"({seen!r} and {obj!r}); every hp.* expression needs its own label "
                "(reuse the same expression object to share one value)"
            )
        paths[obj.label].add(path)
    if isinstance(obj, Categorical):
        for index, option in enumerate(obj.options):
            _collect_params(option, path + ((obj.label, index),), found, paths)
        return
    for sub in _subspaces(obj):
        _collect_params(sub, path, found, paths)


def check_unique_labels(space: Any) -> None:
    """Raise `DuplicateLabel` if two distinct hyperparameters in `space` share a label."""
    _collect_params(space, (), {}, {})


def to_python(value: Any) -> Any:
    """numpy scalar -> plain int/float, so points are JSON-able and compare simply."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def is_invalid_bound(x: Any) -> bool:
    return not isinstance(x, numbers.Real) or isinstance(x, bool) or not math.isfinite(x)


def validate_label(label: Any, what: str) -> str:
    if not isinstance(label, str):
        raise InvalidSpace(
            f"hp.{what} needs a string label as its first argument, got {label!r} ({type(label).__name__})"
        )
    if not label:
        raise InvalidSpace(f"hp.{what} needs a non-empty label")
    return label
