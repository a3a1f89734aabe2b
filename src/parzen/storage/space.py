"""Is this the experiment's space? Comparing a space with the description a store recorded.

A store records its space's JSON description (`CompiledSpace.describe`) and refuses to
resume with a different one, listing what changed. Store format 1 described objects by
``repr`` (a memory address in it), so its descriptions are matched against the space's
format-1 description with the addresses blanked, and then replaced.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from parzen.exceptions import SpaceMismatch, StoreWarning
from parzen.space import CompiledSpace
from parzen.space.identity import mask_addresses


def compare(stored: Any, space: CompiledSpace | Any, path: Path, warn: bool) -> str:
    """'absent', 'same' or 'format1' (matched through format 1's description); SpaceMismatch otherwise.

    `space` is a compiled space or its description.
    """
    if stored is None:
        return "absent"
    description = as_read_back(space.describe() if isinstance(space, CompiledSpace) else space)
    if stored == description:
        return "same"
    if isinstance(space, CompiledSpace) and format1_match(stored, space, path, warn):
        return "format1"
    changes = describe_changes(stored, description)
    raise SpaceMismatch(
        f"{path} holds trials of a different search space; resuming would mix them. "
        f"Changes: {'; '.join(changes)}. Use a new trials_save_file for the new space."
    )


def as_read_back(description: Any) -> Any:
    """`description` as it reads back from JSON (tuples become lists...)."""
    return json.loads(json.dumps(description))


def format1_match(stored: Any, space: CompiledSpace, path: Path, warn: bool) -> bool:
    """Whether `stored` is `space`'s format-1 description, memory addresses aside (warning if they were)."""
    old = json.dumps(as_read_back(space.describe_format1()), sort_keys=True)
    recorded = json.dumps(stored, sort_keys=True)
    if recorded == old:
        return True
    if mask_addresses(recorded) != mask_addresses(old) or not warn:
        return mask_addresses(recorded) == mask_addresses(old)
    warnings.warn(
        f"{path} (store format 1) names objects by their memory address; they were matched by type and name only. "
        "The first write records them by a stable identity.",
        StoreWarning,
        stacklevel=4,
    )
    return True


def choice_options(description: Any) -> dict[str, tuple[Any, ...]]:
    """label -> the options of each choice whose options are all plain values (numbers, strings, None).

    What a reader without the Python space can decode: ``{"kernel": ("rbf", "linear")}``;
    a choice between nested spaces is left out (its index is all a description can give).
    """
    found: dict[str, tuple[Any, ...]] = {}
    if isinstance(description, dict):
        options = description.get("options")
        if "hp" in description and isinstance(options, list) and all(_plain(o) for o in options):
            found[description["hp"]["label"]] = tuple(options)
        for value in description.values():
            found |= choice_options(value)
    elif isinstance(description, list):
        for value in description:
            found |= choice_options(value)
    return found


def _plain(option: Any) -> bool:
    return option is None or isinstance(option, (bool, int, float, str))


def _params_of(description: Any, out: dict[str, Any] | None = None) -> dict[str, Any]:
    """label -> that hyperparameter's description, from a space description."""
    out = {} if out is None else out
    if isinstance(description, dict):
        if "hp" in description:
            out[description["hp"]["label"]] = description["hp"]
        for value in description.values():
            _params_of(value, out)
    elif isinstance(description, list):
        for value in description:
            _params_of(value, out)
    return out


def describe_changes(old: Any, new: Any) -> list[str]:
    """Human-readable differences between two space descriptions.

    Args:
        old: the description the store holds.
        new: the run's description.

    Returns:
        One line per change (new or removed hyperparameters, changed kinds or bounds).
    """
    new = as_read_back(new)
    before, after = _params_of(old), _params_of(new)
    changes = []
    if set(after) - set(before):
        changes.append(f"new hyperparameters {sorted(set(after) - set(before))}")
    if set(before) - set(after):
        changes.append(f"removed hyperparameters {sorted(set(before) - set(after))}")
    for label in sorted(set(before) & set(after)):
        if before[label] != after[label]:
            changes.append(f"{label!r} was {_short(before[label])}, now {_short(after[label])}")
    changes += _option_changes(old, new)
    return changes or ["the structure around the hyperparameters (constants, nesting or choice options) changed"]


def _option_changes(old: Any, new: Any) -> list[str]:
    """Choice options that changed (same label, same number of options, a different option)."""
    found: list[str] = []
    if isinstance(old, dict) and isinstance(new, dict):
        if "options" in old and "options" in new and old.get("hp", {}).get("label") == new.get("hp", {}).get("label"):
            for i, (a, b) in enumerate(zip(old["options"], new["options"], strict=False)):
                if a != b and not (_params_of(a) or _params_of(b)):
                    found.append(f"{old['hp']['label']!r} option {i} was {_brief(a)}, now {_brief(b)}")
        for key in old.keys() & new.keys():
            found += _option_changes(old[key], new[key])
    elif isinstance(old, list) and isinstance(new, list):
        for a, b in zip(old, new, strict=False):
            found += _option_changes(a, b)
    return found


def _brief(d: Any) -> str:
    if isinstance(d, dict) and "ref" in d:
        return str(d["ref"])
    if isinstance(d, dict) and "object" in d:
        return f"a {d['object']}" + (f" (content {d['sha256'][:8]})" if "sha256" in d else "")
    if isinstance(d, dict) and "const" in d:
        return str(d["const"])
    return json.dumps(d)[:80]


def _short(d: dict) -> str:
    args = ", ".join(f"{k}={v}" for k, v in d.items() if k not in ("label", "kind") and v is not None)
    return f"{d['kind']}({args})"
