"""Stable descriptions of the Python objects a search space holds (functions, classes, instances).

The store records a JSON description of the space so that resuming with a different
space is refused. Store format 1 described such objects by ``repr``, which holds a
memory address: the same script never matched its own store. Here an object is
described by what stays the same from one process to the next:

* something importable by name (a function, a class, a builtin, a numpy ufunc or
  array function) and any Python function: ``{"ref": "module.qualified.name"}``;
* any other object: ``{"object": "module.TypeName", "sha256": ...}``, a hash of the
  state pickle would save (``__reduce_ex__``), walked with sets sorted and arrays
  hashed, so it depends neither on addresses nor on the string hash seed; an object
  whose state cannot be taken apart is described by its type alone.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import types
from typing import Any

import numpy as np

_PLAIN = (type(None), bool, int, float, str)
_MAX_NODES = 100_000  # an object graph larger than this is described by its type alone


def describe_object(obj: Any) -> dict[str, str]:
    """The stable description of a constant that is not plain JSON data."""
    try:
        name = reference(obj)
    except Exception:  # noqa: BLE001 - an object whose attributes raise is described by its type
        name = None
    if name is not None:
        return {"ref": name}
    described = {"object": qualified_name(type(obj))}
    digest = content_hash(obj)
    if digest is not None:
        described["sha256"] = digest
    return described


def qualified_name(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or ("numpy" if isinstance(obj, np.ufunc) else "?")
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
    return f"{module}.{name}"


def reference(obj: Any) -> str | None:
    """``module.qualname`` for functions, classes and objects importable by that name, else None."""
    if isinstance(obj, types.BuiltinFunctionType) and not isinstance(obj.__self__, (types.ModuleType, type(None))):
        return None  # a bound builtin method ([].append): its object matters
    if isinstance(obj, (types.FunctionType, type, np.ufunc, types.BuiltinFunctionType)) or _importable(obj):
        return qualified_name(obj)
    return None


def _importable(obj: Any) -> bool:
    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(name, str) or module not in sys.modules:
        return False
    found: Any = sys.modules[module]
    for part in name.split("."):
        found = getattr(found, part, None)
    return found is obj


def content_hash(obj: Any) -> str | None:
    """A hash of `obj`'s state that is the same in every process, or None if it cannot be taken apart."""
    try:
        state = _Walker().walk(obj)
        text = json.dumps(state, separators=(",", ":"), allow_nan=True)
    except Exception:  # noqa: BLE001 - any object may refuse to be reduced; then the type alone describes it
        return None
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class _Walker:
    """Turns an object graph into JSON data the way pickle would see it, in a stable order."""

    def __init__(self) -> None:
        self.nodes = 0
        self.path: set[int] = set()

    def walk(self, obj: Any) -> Any:
        self.nodes += 1
        if self.nodes > _MAX_NODES:
            raise ValueError("object graph too large")
        if isinstance(obj, _PLAIN):
            return obj if not isinstance(obj, float) else repr(obj)
        if isinstance(obj, (bytes, bytearray)):
            return {"bytes": hashlib.sha256(obj).hexdigest()}
        if isinstance(obj, np.ndarray):
            return {"ndarray": [str(obj.dtype), list(obj.shape), hashlib.sha256(obj.tobytes()).hexdigest()]}
        name = reference(obj)
        if name is not None:
            return {"ref": name}
        if id(obj) in self.path:
            return "<cycle>"
        self.path.add(id(obj))
        try:
            return self._container(obj)
        finally:
            self.path.discard(id(obj))

    def _container(self, obj: Any) -> Any:
        if isinstance(obj, (list, tuple)):
            return [type(obj).__name__, [self.walk(v) for v in obj]]
        if isinstance(obj, dict):
            return ["dict", [[self.walk(k), self.walk(v)] for k, v in obj.items()]]
        if isinstance(obj, (set, frozenset)):
            items = sorted((self.walk(v) for v in obj), key=lambda v: json.dumps(v, sort_keys=True))
            return [type(obj).__name__, items]
        reduced = obj.__reduce_ex__(4)
        if isinstance(reduced, str):  # a global's name
            return {"ref": f"{getattr(obj, '__module__', '?')}.{reduced}"}
        parts = [list(p) if isinstance(p, types.GeneratorType) or hasattr(p, "__next__") else p for p in reduced]
        return [qualified_name(type(obj)), [self.walk(p) for p in parts]]


def mask_addresses(text: str) -> str:
    """`text` with memory addresses (`` at 0x7f...``) blanked, to compare format-1 descriptions."""
    return re.sub(r" at 0x[0-9a-fA-F]+", " at 0x…", text)
