"""Strict JSON for the trial store: what SQLite's ``json_*`` functions accept, nothing that runs code.

NaN and infinities are not JSON (Python writes them as the bare tokens ``NaN`` and
``Infinity``, which SQLite rejects). The store writes them as ``null`` and lists where
they were under the reserved key ``_nonfinite`` of the same document: a JSON pointer
(RFC 6901) to ``"nan"``, ``"inf"`` or ``"-inf"``. Reading puts them back, so a result
reads back as it was written. A value JSON cannot hold at all (an object, a set, a key
that is not a string, nesting deeper than `MAX_DEPTH`) is stored as its ``repr``, with
one warning per key naming it: a result is never refused for what it holds.

A user's own top-level key that looks like the marker (``_nonfinite``, ``~_nonfinite``,
...) is stored with one more leading ``~`` and read back without it, so a result or a
label named like the marker round-trips unchanged and never reads as the store's notes.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from parzen.exceptions import StoreWarning

NONFINITE = "_nonfinite"  # reserved key: where the non-finite numbers of a document were

Path = tuple[str | int, ...]
_STRICT = json.JSONEncoder(allow_nan=False)  # one encoder: json.dumps(allow_nan=False) would build one per call
_SIMPLE = (str, int, bool, type(None))
MAX_DEPTH = 100  # nesting kept as JSON; deeper, a value is stored as its repr (JSON parsers recurse)
_warned: set[str] = set()  # key paths already warned about in this process


def encode(mapping: Mapping[str, Any], where: str) -> str:
    """`mapping` (params or a result) as strict JSON text, non-finite numbers noted under ``_nonfinite``."""
    if _flat_and_finite(mapping):  # the usual result ({"loss": 0.25, "status": "ok"}): no walk needed
        return _STRICT.encode(mapping)
    nonfinite: dict[str, str] = {}
    data = _mapping(mapping, (), where, nonfinite)
    if nonfinite:
        data[NONFINITE] = nonfinite
    return _STRICT.encode(data)


def _escape_key(key: Any) -> Any:
    """A user key named like the marker gets one more leading ``~`` (see the module docstring)."""
    return "~" + key if _marker_like(key) else key


def _marker_like(key: Any) -> bool:
    return isinstance(key, str) and key.lstrip("~") == NONFINITE


def _unescape(data: dict[str, Any]) -> dict[str, Any]:
    """The user's keys as they were: one leading ``~`` fewer on an escaped marker-like key."""
    if not any(_marker_like(k) for k in data):
        return data
    return {(k[1:] if _marker_like(k) else k): v for k, v in data.items()}


def _flat_and_finite(mapping: Mapping[str, Any]) -> bool:
    for key, value in mapping.items():
        kind = type(value)
        if type(key) is not str or not (kind in _SIMPLE or (kind is float and math.isfinite(value))):
            return False
        if key.endswith(NONFINITE):  # a user key named like the marker is escaped
            return False
    return True


def encode_value(value: Any, key: str, where: str) -> str:
    """One JSON attachment as strict JSON; non-finite numbers become null (with a warning)."""
    nonfinite: dict[str, str] = {}
    text = _STRICT.encode(_plain(value, (key,), where, nonfinite))
    if nonfinite:
        warnings.warn(
            f"attachment {key!r} of {where} holds non-finite numbers at {sorted(nonfinite)}; JSON cannot, so the "
            "store keeps null there (store bytes or text to keep them)",
            StoreWarning,
            3,
        )
    return text


def decode(text: Any) -> dict[str, Any]:
    """A stored params/result document; raises ValueError (naming what is wrong) if it is not one."""
    if not isinstance(text, str):
        raise ValueError(f"holds a {type(text).__name__}, not JSON text")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"holds a JSON {type(data).__name__}, not an object")
    if NONFINITE not in text:  # the usual document: no marker, no marker-like key (a search in C, not a walk)
        return data
    notes = data.pop(NONFINITE, None)
    if isinstance(notes, dict):
        for pointer, name in notes.items():
            _restore(data, pointer, name)
    return _unescape(data)


def _plain(value: Any, path: Path, where: str, nonfinite: dict[str, str]) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isfinite(number):
            return number
        nonfinite[_pointer(path)] = "nan" if math.isnan(number) else ("inf" if number > 0 else "-inf")
        return None
    if len(path) > MAX_DEPTH and isinstance(value, (dict, list, tuple)):
        _warn_once(path, f"nests deeper than {MAX_DEPTH} levels", where)
        return _bounded_repr(value)
    if isinstance(value, dict):
        return _mapping(value, path, where, nonfinite)
    if isinstance(value, (list, tuple)):
        return [_plain(v, (*path, i), where, nonfinite) for i, v in enumerate(value)]
    _warn_once(path, f"is a {type(value).__name__}, which JSON cannot hold", where)
    return _bounded_repr(value)


def _mapping(mapping: Mapping[Any, Any], path: Path, where: str, nonfinite: dict[str, str]) -> dict[str, Any]:
    """A dict as JSON holds it: keys that are not strings become their repr (said once per key).

    At the top (`path` empty) a key named like the store's marker gets one more leading ``~``.
    """
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if not isinstance(key, str):
            _warn_once((*path, repr(key)), f"has a {type(key).__name__} key, which JSON cannot hold", where)
            key = repr(key)
        if not path:  # the document's own keys: one named like the marker is escaped
            key = _escape_key(key)
        out[key] = _plain(value, (*path, key), where, nonfinite)
    return out


def _bounded_repr(value: Any) -> str:
    """``repr(value)``, which may itself recurse too deep or fail: a placeholder then."""
    try:
        text = repr(value)
    except Exception as exc:  # RecursionError, or a __repr__ that raises: a result is never refused
        text = f"<{type(value).__name__}: repr failed ({type(exc).__name__})>"
    return text if len(text) <= 10_000 else text[:10_000] + "...(cut)"


def _warn_once(path: Path, what: str, where: str) -> None:
    name = _dotted(path) if path else "(the result)"
    if name in _warned:
        return
    _warned.add(name)
    warnings.warn(
        f"result key {name!r} {what}; the store keeps its repr (first seen in {where})", StoreWarning, stacklevel=6
    )


def _dotted(path: Path) -> str:
    text = str(path[0])
    for part in path[1:]:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _pointer(path: Path) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _restore(data: dict[str, Any], pointer: Any, name: Any) -> None:
    """Put the non-finite number `name` back at `pointer` (a note that does not fit is ignored)."""
    value = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}.get(name)
    if value is None or not isinstance(pointer, str) or not pointer.startswith("/"):
        return
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]
    container: Any = data
    try:
        for part in parts[:-1]:
            container = container[int(part)] if isinstance(container, list) else container[part]
        last = parts[-1]
        if isinstance(container, list):
            container[int(last)] = value
        elif isinstance(container, dict):
            container[last] = value
    except (KeyError, IndexError, ValueError, TypeError):
        return


def encode_step_value(value: float | tuple[float, ...]) -> float | str:
    """The ``intermediate.value`` cell of a report: a REAL, or a JSON list for several values.

    SQLite keeps the text as written in a REAL column, so stores with one value per report
    are unchanged and an older parzen reads the rows it understands."""
    return json.dumps(list(value)) if isinstance(value, tuple) else float(value)


def decode_step_value(cell: Any) -> float | tuple[float, ...] | None:
    """What `encode_step_value` wrote (NULL: NaN); None when the cell holds neither."""
    if cell is None:
        return math.nan
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return float(cell)
    if isinstance(cell, str):
        try:
            values = json.loads(cell)
        except ValueError:
            return None
        if isinstance(values, list) and len(values) > 1 and all(_number(v) for v in values):
            return tuple(float(v) for v in values)
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
