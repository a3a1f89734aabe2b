"""Search spaces: the tree `parzen.hp` builds, compiled once per run into the flat view algorithms use.

* `nodes`: `Numeric`, `Categorical`, `Call` (the frozen tree) and what values they accept;
* `compile`: `CompiledSpace` (parameters, conditions, `walk`, `sample`, `eval`) and `space_eval`;
* `identity`: stable descriptions of the objects inside a space (to recognise it on resume).
"""

from parzen.space.compile import CompiledSpace, compile_space, sample, space_eval
from parzen.space.nodes import (
    Call,
    Categorical,
    Node,
    Numeric,
    Param,
    check_unique_labels,
    is_invalid_bound,
    to_python,
    validate_label,
)

__all__ = [
    "Call",
    "Categorical",
    "CompiledSpace",
    "Node",
    "Numeric",
    "Param",
    "check_unique_labels",
    "compile_space",
    "is_invalid_bound",
    "sample",
    "space_eval",
    "to_python",
    "validate_label",
]
