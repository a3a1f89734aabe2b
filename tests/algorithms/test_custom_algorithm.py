"""The worked example of `parzen.algorithms.base`, run through fmin and the public contract suite."""

from __future__ import annotations

import functools
import re

import numpy as np

import parzen.algorithms.base
from parzen import Trials, fmin, hp
from parzen.algorithms import rand
from parzen.testing.algorithms import AlgorithmContract


def example_source() -> str:
    """The example's code, as the docstring shows it (dedented)."""
    doc = parzen.algorithms.base.__doc__
    block = doc[doc.index("    import functools") : doc.index("and its test")]
    return "\n".join(line[4:] for line in block.splitlines())


namespace: dict = {}
exec(compile(example_source(), "parzen.algorithms.base docstring", "exec"), namespace)  # noqa: S102
local = namespace["local"]


class TestLocalSearch(AlgorithmContract):
    algorithm = staticmethod(local)


def test_the_example_runs_and_beats_random_search():
    assert re.search(r"best = fmin\(", example_source())
    assert 0.2 < namespace["best"]["x"] < 0.4

    def best_of(algo, seed):
        trials = Trials()
        space = {f"x{i}": hp.uniform(f"x{i}", 0, 1) for i in range(3)}
        fmin(
            lambda p: sum((v - 0.3) ** 2 for v in p.values()),
            space,
            algo=algo,
            max_evals=60,
            trials=trials,
            rstate=np.random.default_rng(seed),
            show_progressbar=False,
        )
        return trials.best_loss

    local_best = [best_of(functools.partial(local, radius=0.05), s) for s in range(6)]
    random_best = [best_of(rand.suggest, s) for s in range(6)]
    assert np.median(local_best) < 0.5 * np.median(random_best)
