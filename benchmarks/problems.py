"""Benchmark problems: each a search space written once for both parzen and hyperopt, and an objective.

Every problem is minimised. ``build_space(hp, scope)`` receives the ``hp`` module and the ``scope`` of
either library (they share the API), so the same function builds a parzen space and a hyperopt space.
``objective(args)`` receives the evaluated point (what ``fmin`` passes to the objective) and returns a
float. ``optimum`` is the known minimum (results are reported as regret = value - optimum), or None.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Problem:
    """One benchmark problem."""

    name: str
    build_space: Callable[[Any, Any], Any]
    objective: Callable[[Any], float]
    optimum: float | None
    description: str

    def space(self, library: str) -> Any:
        """The search space built with the ``hp`` and ``scope`` of `library` ("parzen" or "hyperopt")."""
        if library == "parzen":
            from parzen.pyll import scope

            from parzen import hp
        elif library == "hyperopt":
            from hyperopt import hp
            from hyperopt.pyll import scope
        else:
            raise ValueError(f"no hp module for library {library!r}")
        return self.build_space(hp, scope)

    def regret(self, value: float) -> float:
        """`value` minus the known optimum (the raw value when the optimum is unknown)."""
        return value if self.optimum is None else value - self.optimum


def _vector(args: dict, n: int) -> np.ndarray:
    return np.array([args[f"x{i}"] for i in range(n)], dtype=float)


def _box(hp, n: int, low: float, high: float) -> dict:
    return {f"x{i}": hp.uniform(f"x{i}", low, high) for i in range(n)}


# --- 1. Branin --------------------------------------------------------------------------------------------


def branin_space(hp, scope) -> dict:
    """x1 in [-5, 10], x2 in [0, 15]."""
    return {"x0": hp.uniform("x0", -5.0, 10.0), "x1": hp.uniform("x1", 0.0, 15.0)}


def branin(args: dict) -> float:
    """The Branin-Hoo function; three global minima of 0.397887."""
    x1, x2 = args["x0"], args["x1"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


# --- 2. Hartmann 6 ----------------------------------------------------------------------------------------

_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6_space(hp, scope) -> dict:
    """[0, 1]^6."""
    return _box(hp, 6, 0.0, 1.0)


def hartmann6(args: dict) -> float:
    """The 6-D Hartmann function; minimum -3.32237."""
    x = _vector(args, 6)
    return float(-_H6_ALPHA @ np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1)))


# --- 3. Rosenbrock 8-D ------------------------------------------------------------------------------------


def rosenbrock8_space(hp, scope) -> dict:
    """[-5, 10]^8."""
    return _box(hp, 8, -5.0, 10.0)


def rosenbrock8(args: dict) -> float:
    """log1p of the 8-D Rosenbrock function; minimum 0 at (1, ..., 1)."""
    x = _vector(args, 8)
    return float(np.log1p(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)))


# --- 4. Ackley 10-D ---------------------------------------------------------------------------------------


def ackley10_space(hp, scope) -> dict:
    """[-32.768, 32.768]^10."""
    return _box(hp, 10, -32.768, 32.768)


def ackley10(args: dict) -> float:
    """The 10-D Ackley function; minimum 0 at the origin."""
    x = _vector(args, 10)
    value = -20 * np.exp(-0.2 * np.sqrt(np.mean(x**2))) - np.exp(np.mean(np.cos(2 * np.pi * x))) + 20 + np.e
    return float(max(value, 0.0))  # rounding can give -4e-16 at the origin


# --- 5. Mixed: float, log-float, integer, categorical, interacting ----------------------------------------

_ACT_OFFSET = {"relu": 0.0, "tanh": 0.05, "sigmoid": 0.15}
_ACT_BEST_LOG10_LR = {"relu": -3.0, "tanh": -2.0, "sigmoid": -1.0}


def mixed_space(hp, scope) -> dict:
    """x in [-5, 5], lr log-uniform in [1e-5, 1], integer n in 1..64, act in relu/tanh/sigmoid."""
    return {
        "x": hp.uniform("x", -5.0, 5.0),
        "lr": hp.loguniform("lr", math.log(1e-5), math.log(1.0)),
        "n": scope.int(hp.quniform("n", 1, 64, 1)),
        "act": hp.choice("act", ["relu", "tanh", "sigmoid"]),
    }


def mixed(args: dict) -> float:
    """The best lr depends on act, the best n on x; minimum 0 at x=1.5, n=41, lr=1e-3, act=relu."""
    act = args["act"]
    lr_term = 0.25 * (math.log10(args["lr"]) - _ACT_BEST_LOG10_LR[act]) ** 2
    n_term = ((args["n"] - (32 + 6 * args["x"])) / 16) ** 2
    return 0.1 * (args["x"] - 1.5) ** 2 + lr_term + n_term + _ACT_OFFSET[act]


# --- 6. Conditional: three branches with their own parameters ---------------------------------------------


def conditional_space(hp, scope) -> Any:
    """hp.choice over three model families, each with 2-3 parameters of mixed kinds."""
    return hp.choice(
        "model",
        [
            {
                "kind": "a",
                "a_x": hp.uniform("a_x", -3.0, 3.0),
                "a_lr": hp.loguniform("a_lr", math.log(1e-4), math.log(1.0)),
            },
            {
                "kind": "b",
                "b_x": hp.uniform("b_x", 0.0, 1.0),
                "b_y": hp.uniform("b_y", 0.0, 1.0),
                "b_n": scope.int(hp.quniform("b_n", 1, 20, 1)),
            },
            {
                "kind": "c",
                "c_lr": hp.loguniform("c_lr", math.log(1e-6), math.log(1e-1)),
                "c_k": hp.randint("c_k", 0, 10),
            },
        ],
    )


def _conditional_a(args: dict) -> float:
    """Broad, easy; best 0.1 at a_x=1, a_lr=1e-2."""
    return 0.1 + 0.05 * (args["a_x"] - 1) ** 2 + 0.1 * (math.log10(args["a_lr"]) + 2) ** 2


def _conditional_b(args: dict) -> float:
    """The global optimum 0 at b_x=0.7, b_y=0.2, b_n=7; beats branch a's 0.1 only within ~0.3 of it."""
    return (args["b_x"] - 0.7) ** 2 + (args["b_y"] - 0.2) ** 2 + ((args["b_n"] - 7) / 8) ** 2


def _conditional_c(args: dict) -> float:
    """Best 0.25 at c_lr=1e-4, c_k=3."""
    return 0.25 + 0.1 * (math.log10(args["c_lr"]) + 4) ** 2 + 0.02 * (args["c_k"] - 3) ** 2


_CONDITIONAL = {"a": _conditional_a, "b": _conditional_b, "c": _conditional_c}


def conditional(args: dict) -> float:
    """Dispatch to the chosen branch's function."""
    return _CONDITIONAL[args["kind"]](args)


# --- 7. SVC on breast cancer (real ML; optimum unknown) ---------------------------------------------------

_SVC_CACHE: dict[tuple[float, float], float] = {}
_SVC_DATA: list = []


def svc_space(hp, scope) -> dict:
    """C log-uniform in [1e-3, 1e3], gamma log-uniform in [1e-5, 10]."""
    return {
        "C": hp.loguniform("C", math.log(1e-3), math.log(1e3)),
        "gamma": hp.loguniform("gamma", math.log(1e-5), math.log(1e1)),
    }


def _breast_cancer() -> tuple:
    if not _SVC_DATA:
        from sklearn.datasets import load_breast_cancer

        _SVC_DATA.extend(load_breast_cancer(return_X_y=True))
    return _SVC_DATA[0], _SVC_DATA[1]


def svc(args: dict) -> float:
    """1 - mean 3-fold CV accuracy of StandardScaler + SVC(C, gamma); memoised per (C, gamma) in a process."""
    key = (float(args["C"]), float(args["gamma"]))
    if key not in _SVC_CACHE:
        from sklearn.model_selection import StratifiedKFold, cross_val_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        x, y = _breast_cancer()
        model = make_pipeline(StandardScaler(), SVC(C=key[0], gamma=key[1]))
        folds = StratifiedKFold(3, shuffle=True, random_state=0)
        _SVC_CACHE[key] = 1.0 - float(np.mean(cross_val_score(model, x, y, cv=folds)))
    return _SVC_CACHE[key]


# --- 8. Decoy: an easy broad branch hides a narrow better one ---------------------------------------------

DECOY_ESCAPE = 0.30  # a run "escaped" the decoy if its best value is below this
_HIDDEN_CENTRE = (0.8, 0.25)
# Width (sigma) of the hidden branch's basin; a point escapes within ~0.85 sigma of the centre. Measured on
# 200 seeds x 100 evaluations, random search escaped in: width 0.15 -> 82.5% (parzen_rand), 81.5%
# (hyperopt_rand), 82.5% (optuna_rand); 0.13 -> 74.5/69.5/72.0%; 0.12 -> 69.5/63.0/67.5%; 0.10 -> 58.0/48.5/51.0%.
# 0.15 is kept: inside the intended 60-90% band.
_HIDDEN_WIDTH = 0.15


def decoy_space(hp, scope) -> Any:
    """hp.choice("branch", [decoy, hidden, other]), two parameters on [0, 1] (one for other)."""
    return hp.choice(
        "branch",
        [
            {"kind": "decoy", "d_x": hp.uniform("d_x", 0.0, 1.0), "d_y": hp.uniform("d_y", 0.0, 1.0)},
            {"kind": "hidden", "h_x": hp.uniform("h_x", 0.0, 1.0), "h_y": hp.uniform("h_y", 0.0, 1.0)},
            {"kind": "other", "o_x": hp.uniform("o_x", 0.0, 1.0)},
        ],
    )


def decoy(args: dict) -> float:
    """Decoy: bowl with minimum 0.30; hidden: ~1 except a narrow Gaussian basin down to 0; other: >= 0.6."""
    kind = args["kind"]
    if kind == "decoy":
        return DECOY_ESCAPE + (args["d_x"] - 0.5) ** 2 + (args["d_y"] - 0.5) ** 2
    if kind == "hidden":
        r2 = (args["h_x"] - _HIDDEN_CENTRE[0]) ** 2 + (args["h_y"] - _HIDDEN_CENTRE[1]) ** 2
        return 1.0 - math.exp(-r2 / (2 * _HIDDEN_WIDTH**2))
    return 0.6 + 0.3 * (args["o_x"] - 0.3) ** 2


# --- 9. Distractor (hyperopt's tests): a spike beside a long easy asymptote ---------------------------------

DISTRACTOR_TARGET = -1.96  # hyperopt's test threshold: a run "found the basin" if its best loss is below it


def distractor_space(hp, scope) -> dict:
    """x uniform on [-15, 15] (hyperopt/tests/unit/test_domains.py)."""
    return {"x": hp.uniform("x", -15.0, 15.0)}


def distractor(args: dict) -> float:
    """-sigmoid(x) - 2 exp(-(x + 10)^2): the asymptote (-1 as x -> 15) is easy, the spike at -10 (-2) is narrow."""
    x = args["x"]
    return -1.0 / (1.0 + math.exp(-x)) - 2.0 * math.exp(-((x + 10.0) ** 2))


_DISTRACTOR_MIN = -2.0000453981263  # at x = -9.99999 (sigmoid(-10) lifts the spike slightly)


# --- registry ---------------------------------------------------------------------------------------------

PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in (
        Problem("branin", branin_space, branin, 0.397887357729738, "Branin, 2-D continuous"),
        Problem("hartmann6", hartmann6_space, hartmann6, -3.322368011415515, "Hartmann, 6-D on [0,1]^6"),
        Problem("rosenbrock8", rosenbrock8_space, rosenbrock8, 0.0, "log1p(Rosenbrock), 8-D on [-5,10]"),
        Problem("ackley10", ackley10_space, ackley10, 0.0, "Ackley, 10-D on [-32.768,32.768]"),
        Problem("mixed", mixed_space, mixed, 0.0, "float + log-float + int + categorical, interacting"),
        Problem("conditional", conditional_space, conditional, 0.0, "hp.choice of 3 branches, best not first"),
        Problem("svc", svc_space, svc, None, "SVC(C, gamma) 3-fold CV error on breast cancer"),
        Problem("decoy", decoy_space, decoy, 0.0, "easy branch (0.30) hides a narrow basin (0.0)"),
        Problem("distractor", distractor_space, distractor, _DISTRACTOR_MIN, "hyperopt's distractor: 1-D spike at -10"),
    )
}
