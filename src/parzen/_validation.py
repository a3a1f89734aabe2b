"""One way to check a user's arguments: one idea of an integer, one of a real number, one message form.

An integer is any `numbers.Integral` (numpy's included) that is not a bool; a real is any
`numbers.Real` that is not a bool. `require` raises `InvalidArgument` saying which
argument is at fault, what would be valid and what was given. Standard library only.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from parzen.exceptions import InvalidArgument


def is_integer(value: Any) -> bool:
    """An int, a numpy integer or another `numbers.Integral`; never a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    """A finite real number (ints and numpy numbers included); never a bool, NaN or an infinity."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def is_number(value: Any) -> bool:
    """A real number that is not NaN (infinities allowed: a loss threshold may be -inf)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isnan(value)


def require(ok: bool, what: str, valid: str, value: Any) -> None:
    """Raise `InvalidArgument` ("`what` must be `valid`, got `value`") unless `ok`.

    Args:
        ok: whether the value is valid.
        what: the argument at fault, with its owner when it helps (``"SparkTrials: timeout"``).
        valid: what would be valid (``"a positive integer (or None)"``).
        value: what was given (shown with ``repr``).
    """
    if not ok:
        raise InvalidArgument(f"{what} must be {valid}, got {value!r}")


def integer_at_least(what: str, value: Any, minimum: int) -> int:
    """`value` as an int, or `InvalidArgument` ("must be an integer >= minimum")."""
    require(is_integer(value) and value >= minimum, what, f"an integer >= {minimum}", value)
    return int(value)
