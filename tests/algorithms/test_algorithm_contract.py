"""Every algorithm of parzen against the public contract suite (`parzen.testing.algorithms`).

A new algorithm gets these tests with a class of three lines here; the last tests
show the contract is a real check: broken algorithms fail it.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from parzen import anneal, grid, mix, rand, tpe
from parzen.space import Numeric
from parzen.testing.algorithms import SPACES, AlgorithmContract, drive


class TestRand(AlgorithmContract):
    algorithm = staticmethod(rand.suggest)


class TestGrid(AlgorithmContract):
    algorithm = staticmethod(functools.partial(grid.suggest, points_per_dimension=3))
    reaches_every_branch = False  # by construction, checked in its own tests


class TestAnneal(AlgorithmContract):
    algorithm = staticmethod(anneal.suggest)


class TestTPE(AlgorithmContract):
    algorithm = staticmethod(tpe.suggest)


class TestTPEEarlyModel(AlgorithmContract):
    algorithm = staticmethod(functools.partial(tpe.suggest, n_startup_jobs=2))


class TestTPEUnivariate(AlgorithmContract):
    algorithm = staticmethod(functools.partial(tpe.suggest, n_startup_jobs=2, multivariate=False))


class TestTPEBatch(AlgorithmContract):
    algorithm = staticmethod(lambda space, history, rng: tpe.suggest_many(space, history, rng, 3, n_startup_jobs=2)[-1])


class TestMix(AlgorithmContract):
    algorithm = staticmethod(functools.partial(mix.suggest, p_suggest=[(0.5, rand.suggest), (0.5, tpe.suggest)]))


# ---- the contract is a real check: a broken algorithm fails it --------------------------------


def returns_an_inactive_label(space, history, rng):
    point = space.sample(rng)
    inactive = [label for label in space.labels if label not in point]
    if inactive:
        point[inactive[0]] = 0
    return point


def returns_out_of_bounds(space, history, rng):
    point = space.sample(rng)
    for label, param in space.params.items():
        if label in point and isinstance(param, Numeric) and param.bounded and param.kind == "uniform":
            point[label] = param.high + 1.0
    return point


def ignores_its_rng(space, history, rng):
    return space.sample(np.random.default_rng())


@pytest.mark.parametrize(
    "broken, space_name, words",
    [
        (returns_an_inactive_label, "conditional", "active labels"),
        (returns_out_of_bounds, "every_numeric_kind", "outside"),
        (ignores_its_rng, "every_numeric_kind", "assert"),
    ],
)
def test_a_broken_algorithm_fails_the_contract(broken, space_name, words):
    with pytest.raises(AssertionError, match=words):
        first = drive(broken, SPACES[space_name], seed=5, n=8)
        assert first == drive(broken, SPACES[space_name], seed=5, n=8)
