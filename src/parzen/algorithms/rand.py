"""Random search: every suggestion is an independent draw from the prior."""

from __future__ import annotations

from typing import Any

import numpy as np

from parzen.space import CompiledSpace
from parzen.trial import History


def suggest(space: CompiledSpace, history: History, rng: np.random.Generator) -> dict[str, Any]:
    """A point drawn from the prior of `space` (history is not used)."""
    return space.sample(rng)
