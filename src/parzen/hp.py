"""``hp.*``: hyperopt's search-space constructors, checked when they are called.

Semantics are hyperopt's: ``loguniform(label, low, high)`` is ``exp(uniform(low, high))``
(bounds in log space), ``quniform`` is ``round(uniform / q) * q`` and returns floats,
``randint(label, upper)`` draws from ``[0, upper)`` and ``randint(label, low, high)`` from
``[low, high)``; ``fmin`` reports a ``choice`` by the index of the option.

What hyperopt let through and failed on much later (or never), parzen refuses here,
naming the label: non-string labels, ``low >= high``, ``q <= 0``, non-finite bounds,
``sigma <= 0``, empty choices, ``pchoice`` probabilities that do not sum to 1, and two
different hyperparameters with one label inside a choice.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from parzen.exceptions import InvalidSpace
from parzen.space import Call, Categorical, Numeric, is_invalid_bound, validate_label

__all__ = [
    "choice",
    "pchoice",
    "randint",
    "uniform",
    "quniform",
    "loguniform",
    "qloguniform",
    "normal",
    "qnormal",
    "lognormal",
    "qlognormal",
    "uniformint",
]

_PROB_TOLERANCE = 1e-6
_MISSING: Any = object()  # a bound left out: said plainly, not as Python's "missing positional argument"
_INT64 = (-(2**63), 2**63 - 1)  # what numpy draws integers in
_EXP_LIMIT = 50.0  # exp(50) ~ 5e21: a log bound past it is almost surely a raw value


def _given(label: Any, kind: str, names: str, *values: Any) -> str:
    """The checked label, once every bound was given (`names`: how the call reads, for the message)."""
    missing = any(v is _MISSING for v in values)  # identity: a value may be a numpy array
    if not isinstance(label, str) and missing:
        shown = ", ".join(repr(v) for v in (label, *values) if v is not _MISSING)
        raise InvalidSpace(
            f"hp.{kind} takes a label first, as in hp.{kind}('x', {names}); got hp.{kind}({shown}), "
            f"whose first argument {label!r} is not a label (a string)"
        )
    label = validate_label(label, kind)
    if missing:
        raise InvalidSpace(f"hp.{kind}({label!r}) needs {names}: hp.{kind}({label!r}, {names})")
    return label


def _warn_if_raw(label: str, kind: str, low: float, high: float) -> None:
    """loguniform's bounds are logs; bounds that read as raw values (1e-5, 1e-1) get a warning naming the fix."""
    if low > 0 and (high / low >= 10 or high > _EXP_LIMIT):
        warnings.warn(
            f"hp.{kind}({label!r}, {low!r}, {high!r}): the bounds are logs, so values run from "
            f"exp({low!r}) to exp({high!r}); if you meant {low!r} to {high!r}, write "
            f"hp.{kind}({label!r}, math.log({low!r}), math.log({high!r})" + (", q)" if kind.startswith("q") else ")"),
            UserWarning,
            stacklevel=3,
        )


def _finite(label: str, kind: str, name: str, value: Any) -> float:
    if is_invalid_bound(value):
        raise InvalidSpace(f"hp.{kind}({label!r}): {name} must be a finite number, got {value!r}")
    return float(value)


def _bounds(label: str, kind: str, low: Any, high: Any) -> tuple[float, float]:
    low = _finite(label, kind, "low", low)
    high = _finite(label, kind, "high", high)
    if not low < high:
        hint = " (bounds are in log space: use np.log(value))" if "log" in kind else ""
        raise InvalidSpace(f"hp.{kind}({label!r}): low must be less than high, got low={low!r} >= high={high!r}{hint}")
    return low, high


def _step(label: str, kind: str, q: Any) -> float:
    q = _finite(label, kind, "q", q)
    if q <= 0:
        raise InvalidSpace(f"hp.{kind}({label!r}): q must be > 0 (the quantisation step), got {q!r}")
    return q


def _normal(label: str, kind: str, mu: Any, sigma: Any) -> tuple[float, float]:
    mu = _finite(label, kind, "mu", mu)
    sigma = _finite(label, kind, "sigma", sigma)
    if sigma <= 0:
        raise InvalidSpace(f"hp.{kind}({label!r}): sigma must be > 0, got {sigma!r}")
    return mu, sigma


def _options(label: str, kind: str, options: Any) -> tuple:
    if isinstance(options, np.ndarray) and options.ndim == 1:  # hp.choice("n", np.arange(1, 10))
        options = options.tolist()
    if isinstance(options, (str, bytes, dict)) or not isinstance(options, Sequence):
        raise InvalidSpace(f"hp.{kind}({label!r}) needs a list or tuple of options, got {type(options).__name__}")
    if len(options) == 0:
        raise InvalidSpace(f"hp.{kind}({label!r}) needs at least one option, got an empty sequence")
    return tuple(options)


def choice(label: str, options: Sequence = _MISSING) -> Categorical:
    """One of `options` (each may be a nested space); `fmin` reports the index.

    Args:
        label: the hyperparameter's name, unique in the space.
        options: a list or tuple of values or sub-spaces (dicts, lists, other ``hp.*``), each
            equally likely a priori.

    Returns:
        The categorical node; ``space_eval`` maps the reported index back to the option.
    """
    label = _given(label, "choice", "[option, ...]", options)
    options = _options(label, "choice", options)
    return Categorical(label, options, [1.0 / len(options)] * len(options))


def pchoice(label: str, p_options: Sequence = _MISSING) -> Categorical:
    """One of the options of ``[(probability, option), ...]``, drawn with those odds.

    Args:
        label: the hyperparameter's name, unique in the space.
        p_options: ``(probability, option)`` pairs; the probabilities must sum to 1.

    Returns:
        The categorical node (reported by index, as `choice`).
    """
    label = _given(label, "pchoice", "[(probability, option), ...]", p_options)
    pairs = _options(label, "pchoice", p_options)
    probs, options = [], []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise InvalidSpace(f"hp.pchoice({label!r}): item {i} must be a (probability, option) pair, got {pair!r}")
        p = _finite(label, "pchoice", f"probability of option {i}", pair[0])
        if p < 0:
            raise InvalidSpace(f"hp.pchoice({label!r}): probability of option {i} is negative ({p!r})")
        probs.append(p)
        options.append(pair[1])
    total = math.fsum(probs)
    if abs(total - 1.0) > _PROB_TOLERANCE:
        raise InvalidSpace(f"hp.pchoice({label!r}): probabilities must sum to 1, they sum to {total!r} ({probs})")
    return Categorical(label, options, [p / total for p in probs], kind="pchoice")


def _integer_bound(label: str, name: str, value: Any) -> int:
    """An int, or a float with an integer value; within numpy's int64, where integers are drawn."""
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not whole:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or float(value) != int(value):
            raise InvalidSpace(f"hp.randint({label!r}): {name} must be an integer, got {value!r}")
    number = int(value)
    if not _INT64[0] <= number <= _INT64[1]:
        raise InvalidSpace(
            f"hp.randint({label!r}): {name} must be between -2**63 and 2**63 - 1 (integers are drawn as int64), "
            f"got {value!r}; for a larger range draw its logarithm with hp.qloguniform"
        )
    return number


def randint(label: str, *args: Any, **kwargs: Any) -> Numeric:
    """An integer: ``randint(label, upper)`` in ``[0, upper)``, ``randint(label, low, high)`` in ``[low, high)``.

    Args:
        label: the hyperparameter's name, unique in the space.
        *args: ``(upper)`` or ``(low, high)``, integers; `high`/`upper` is excluded.
        **kwargs: the same bounds by name: ``upper=``, or ``low=`` and ``high=``.

    Returns:
        The integer node (its values are ints; TPE treats them as ordered).
    """
    label = validate_label(label, "randint")
    if kwargs:
        bad = set(kwargs) - {"low", "high", "upper"}
        if bad:
            raise InvalidSpace(f"hp.randint({label!r}): unexpected arguments {sorted(bad)}; use (upper) or (low, high)")
        args = args + tuple(kwargs[k] for k in ("low", "high", "upper") if k in kwargs)
    if len(args) == 1:
        low, high = 0, _integer_bound(label, "upper", args[0])
    elif len(args) == 2:
        low, high = _integer_bound(label, "low", args[0]), _integer_bound(label, "high", args[1])
    else:
        raise InvalidSpace(f"hp.randint({label!r}) takes (upper) or (low, high), got {len(args)} bounds")
    if not low < high:
        raise InvalidSpace(f"hp.randint({label!r}): the range [{low}, {high}) is empty; need low < high")
    return Numeric(label, "randint", low=low, high=high)


def uniform(label: str, low: float = _MISSING, high: float = _MISSING) -> Numeric:
    """A float uniformly in ``[low, high]``.

    Args:
        label: the hyperparameter's name, unique in the space.
        low: the lower bound.
        high: the upper bound, greater than `low`.
    """
    label = _given(label, "uniform", "low, high", low, high)
    low, high = _bounds(label, "uniform", low, high)
    return Numeric(label, "uniform", low=low, high=high)


def quniform(label: str, low: float = _MISSING, high: float = _MISSING, q: float = _MISSING) -> Numeric:
    """``round(uniform(low, high) / q) * q`` (a float, as in hyperopt).

    Args:
        label: the hyperparameter's name, unique in the space.
        low: the lower bound.
        high: the upper bound, greater than `low`.
        q: the step (> 0); wrap in ``scope.int(...)`` for an int.
    """
    label = _given(label, "quniform", "low, high, q", low, high, q)
    low, high = _bounds(label, "quniform", low, high)
    return Numeric(label, "quniform", low=low, high=high, q=_step(label, "quniform", q))


def loguniform(label: str, low: float = _MISSING, high: float = _MISSING) -> Numeric:
    """``exp(uniform(low, high))``: `low` and `high` are logs of the value's range (``math.log(1e-5)``...).

    For learning rates and other scales: ``hp.loguniform("lr", math.log(1e-5), math.log(1e-1))``
    draws between 1e-5 and 0.1, evenly per decade. Bounds that read as raw values (both
    positive, a ratio of 10 or more) get a warning naming the likely intended call.

    Args:
        label: the hyperparameter's name, unique in the space.
        low: the log of the smallest value (``math.log(1e-5)``, not ``1e-5``).
        high: the log of the largest value, greater than `low`.
    """
    label = _given(label, "loguniform", "low, high", low, high)
    low, high = _bounds(label, "loguniform", low, high)
    _warn_if_raw(label, "loguniform", low, high)
    return Numeric(label, "loguniform", low=low, high=high)


def qloguniform(label: str, low: float = _MISSING, high: float = _MISSING, q: float = _MISSING) -> Numeric:
    """``round(exp(uniform(low, high)) / q) * q``: `low` and `high` are logs, as for `loguniform`.

    Args:
        label: the hyperparameter's name, unique in the space.
        low: the log of the smallest value, as for `loguniform`.
        high: the log of the largest value, greater than `low`.
        q: the step (> 0) the value is rounded to.
    """
    label = _given(label, "qloguniform", "low, high, q", low, high, q)
    low, high = _bounds(label, "qloguniform", low, high)
    _warn_if_raw(label, "qloguniform", low, high)
    return Numeric(label, "qloguniform", low=low, high=high, q=_step(label, "qloguniform", q))


def normal(label: str, mu: float = _MISSING, sigma: float = _MISSING) -> Numeric:
    """A normally distributed float (unbounded).

    Args:
        label: the hyperparameter's name, unique in the space.
        mu: the mean.
        sigma: the standard deviation (> 0).
    """
    label = _given(label, "normal", "mu, sigma", mu, sigma)
    mu, sigma = _normal(label, "normal", mu, sigma)
    return Numeric(label, "normal", mu=mu, sigma=sigma)


def qnormal(label: str, mu: float = _MISSING, sigma: float = _MISSING, q: float = _MISSING) -> Numeric:
    """``round(normal(mu, sigma) / q) * q``.

    Args:
        label: the hyperparameter's name, unique in the space.
        mu: the mean.
        sigma: the standard deviation (> 0).
        q: the step (> 0) the value is rounded to.
    """
    label = _given(label, "qnormal", "mu, sigma, q", mu, sigma, q)
    mu, sigma = _normal(label, "qnormal", mu, sigma)
    return Numeric(label, "qnormal", mu=mu, sigma=sigma, q=_step(label, "qnormal", q))


def lognormal(label: str, mu: float = _MISSING, sigma: float = _MISSING) -> Numeric:
    """``exp(normal(mu, sigma))``: positive, log-normally distributed (`mu`, `sigma` of the log).

    Args:
        label: the hyperparameter's name, unique in the space.
        mu: the mean of the value's log.
        sigma: the standard deviation of the value's log (> 0).
    """
    label = _given(label, "lognormal", "mu, sigma", mu, sigma)
    mu, sigma = _normal(label, "lognormal", mu, sigma)
    return Numeric(label, "lognormal", mu=mu, sigma=sigma)


def qlognormal(label: str, mu: float = _MISSING, sigma: float = _MISSING, q: float = _MISSING) -> Numeric:
    """``round(exp(normal(mu, sigma)) / q) * q``.

    Args:
        label: the hyperparameter's name, unique in the space.
        mu: the mean of the value's log.
        sigma: the standard deviation of the value's log (> 0).
        q: the step (> 0) the value is rounded to.
    """
    label = _given(label, "qlognormal", "mu, sigma, q", mu, sigma, q)
    mu, sigma = _normal(label, "qlognormal", mu, sigma)
    return Numeric(label, "qlognormal", mu=mu, sigma=sigma, q=_step(label, "qlognormal", q))


def uniformint(label: str, low: float = _MISSING, high: float = _MISSING, q: float = 1.0) -> Call:
    """``int(quniform(label, low, high, 1))``: an integer in ``[low, high]``, as in hyperopt.

    Args:
        label: the hyperparameter's name, unique in the space.
        low: the smallest integer.
        high: the largest integer (included).
        q: accepted for hyperopt's signature; the step is always 1.
    """
    label = _given(label, "uniformint", "low, high", low, high)
    return Call(int, (quniform(label, low, high, 1.0),))
