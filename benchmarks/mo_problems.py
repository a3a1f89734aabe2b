"""Problems with several objectives (all minimised) and constraints (feasible when every value is <= 0).

The synthetic problems are defined as pymoo defines them (ZDT: Zitzler et al. 2000; DTLZ:
Deb et al. 2005; WFG4: Huband et al. 2006; BNH, SRN, C2-DTLZ2: Jain & Deb 2014; welded
beam: Deb & Sundar 2006, pymoo's normalised constraints), with modest dimensions: ZDT at
d = 10, DTLZ1 at pymoo's 7, DTLZ2 and DTLZ7 at 10, C2-DTLZ2 at pymoo's 12, WFG4 at 10
(k = 4, l = 6), three objectives for DTLZ, C2-DTLZ2 and WFG4.

Each problem has a fixed reference point for its hypervolume, chosen from its known
objective ranges, never from a method's results: BoTorch's published points where it
has one (ZDT 11, DTLZ1 400, DTLZ2 and C2-DTLZ2 1.1, DTLZ7 15), else just beyond the
largest value an objective can take on the feasible set (WFG4: 1 + S_m; BNH, SRN,
welded beam, the real problem: see each definition).

``real_extratrees`` is a real tuning problem on scikit-learn's digits: an extra-trees
classifier's validation error against its prediction cost (the decision nodes visited
per prediction, summed over the trees: what its latency is proportional to,
deterministic unlike a timing), under a memory limit (at most 1,000 tree nodes; 61% of random configurations meet it).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Var:
    """One decision variable: float in [low, high], or an integer (optionally on a log scale)."""

    name: str
    low: float
    high: float
    kind: str = "float"  # "float", "int", "logint"


@dataclass(frozen=True)
class MOProblem:
    """A problem: variables, objectives and constraints of a point (a dict of variable values)."""

    name: str
    family: str  # "zdt", "dtlz", "wfg", "constrained", "real": the groups defaults are cross-validated over
    variables: tuple[Var, ...]
    n_obj: int
    n_con: int
    reference: tuple[float, ...]
    fn: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]  # x of shape (n, d) -> F (n, k), G (n, c)

    def evaluate(self, point: dict[str, Any]) -> tuple[list[float], list[float] | None]:
        """Objectives and constraints of one point."""
        x = np.array([[float(point[v.name]) for v in self.variables]])
        f, g = self.fn(x)
        return f[0].tolist(), None if g is None else g[0].tolist()

    def parzen_space(self) -> dict[str, Any]:
        """The variables as a parzen space (integers as scope.int of a quantised uniform)."""
        from parzen.pyll import scope

        from parzen import hp

        space: dict[str, Any] = {}
        for v in self.variables:
            if v.kind == "float":
                space[v.name] = hp.uniform(v.name, v.low, v.high)
            elif v.kind == "int":
                space[v.name] = scope.int(hp.quniform(v.name, v.low - 0.5, v.high + 0.5, 1))
            else:
                space[v.name] = scope.int(hp.qloguniform(v.name, math.log(v.low - 0.5), math.log(v.high + 0.5), 1))
        return space

    def optuna_suggest(self, trial: Any) -> dict[str, Any]:
        """The variables through optuna's define-by-run API."""
        out: dict[str, Any] = {}
        for v in self.variables:
            if v.kind == "float":
                out[v.name] = trial.suggest_float(v.name, v.low, v.high)
            else:
                out[v.name] = trial.suggest_int(v.name, int(v.low), int(v.high), log=v.kind == "logint")
        return out


def _box(d: int, low: float = 0.0, high: float = 1.0) -> tuple[Var, ...]:
    return tuple(Var(f"x{i}", low, high) for i in range(d))


# --- ZDT ------------------------------------------------------------------------------------------------------


def _zdt_g(x: np.ndarray) -> np.ndarray:
    return 1.0 + 9.0 * x[:, 1:].sum(axis=1) / (x.shape[1] - 1)


def zdt1(x: np.ndarray) -> tuple[np.ndarray, None]:
    f1, g = x[:, 0], _zdt_g(x)
    return np.column_stack([f1, g * (1 - np.sqrt(f1 / g))]), None


def zdt2(x: np.ndarray) -> tuple[np.ndarray, None]:
    f1, g = x[:, 0], _zdt_g(x)
    return np.column_stack([f1, g * (1 - (f1 / g) ** 2)]), None


def zdt3(x: np.ndarray) -> tuple[np.ndarray, None]:
    f1, g = x[:, 0], _zdt_g(x)
    return np.column_stack([f1, g * (1 - np.sqrt(f1 / g) - f1 / g * np.sin(10 * np.pi * f1))]), None


def zdt6(x: np.ndarray) -> tuple[np.ndarray, None]:
    f1 = 1 - np.exp(-4 * x[:, 0]) * np.sin(6 * np.pi * x[:, 0]) ** 6
    g = 1 + 9.0 * (x[:, 1:].sum(axis=1) / (x.shape[1] - 1)) ** 0.25
    return np.column_stack([f1, g * (1 - (f1 / g) ** 2)]), None


# --- DTLZ ------------------------------------------------------------------------------------------------------


def _dtlz_sphere(x_: np.ndarray, g: np.ndarray, m: int) -> np.ndarray:
    """DTLZ2's objectives: (1 + g) times the spherical coordinates of the first m - 1 variables."""
    f = []
    for i in range(m):
        fi = (1 + g) * np.prod(np.cos(x_[:, : m - 1 - i] * np.pi / 2), axis=1)
        if i > 0:
            fi = fi * np.sin(x_[:, m - 1 - i] * np.pi / 2)
        f.append(fi)
    return np.column_stack(f)


def dtlz1(x: np.ndarray, m: int = 3) -> tuple[np.ndarray, None]:
    x_, xm = x[:, : m - 1], x[:, m - 1 :]
    g = 100 * (xm.shape[1] + ((xm - 0.5) ** 2 - np.cos(20 * np.pi * (xm - 0.5))).sum(axis=1))
    f = []
    for i in range(m):
        fi = 0.5 * (1 + g) * np.prod(x_[:, : m - 1 - i], axis=1)
        if i > 0:
            fi = fi * (1 - x_[:, m - 1 - i])
        f.append(fi)
    return np.column_stack(f), None


def dtlz2(x: np.ndarray, m: int = 3) -> tuple[np.ndarray, None]:
    g = ((x[:, m - 1 :] - 0.5) ** 2).sum(axis=1)
    return _dtlz_sphere(x[:, : m - 1], g, m), None


def dtlz7(x: np.ndarray, m: int = 3) -> tuple[np.ndarray, None]:
    k = x.shape[1] - m + 1
    f = x[:, : m - 1]
    g = 1 + 9.0 / k * x[:, -k:].sum(axis=1)
    h = m - (f / (1 + g[:, None]) * (1 + np.sin(3 * np.pi * f))).sum(axis=1)
    return np.column_stack([f, (1 + g) * h]), None


def c2_dtlz2(x: np.ndarray, m: int = 3, r: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """DTLZ2 with the C2 constraint: feasible only near the front's centre and its corners (pymoo, r = 0.4)."""
    f, _ = dtlz2(x, m)
    total = (f**2).sum(axis=1)
    corners = np.min([(f[:, i] - 1) ** 2 + total - f[:, i] ** 2 - r**2 for i in range(m)], axis=0)
    centre = ((f - 1 / math.sqrt(m)) ** 2).sum(axis=1) - r**2
    return f, np.minimum(corners, centre)[:, None]


# --- WFG4 ------------------------------------------------------------------------------------------------------


def wfg4(x: np.ndarray, m: int = 3, k: int = 4) -> tuple[np.ndarray, None]:
    """WFG4: a multi-modal shift on every variable, a concave (spherical) front scaled by S = 2, 4, ..., 2m."""
    n = x.shape[1]
    z = x / (2.0 * np.arange(1, n + 1))
    a, b, c = 30.0, 10.0, 0.35
    tmp1 = np.abs(z - c) / (2.0 * (np.floor(c - z) + c))
    y = (1.0 + np.cos((4.0 * a + 2.0) * np.pi * (0.5 - tmp1)) + 4.0 * b * tmp1**2) / (b + 2.0)
    y = np.clip(y, 0.0, 1.0)
    gap = k // (m - 1)
    t = [y[:, i * gap : (i + 1) * gap].mean(axis=1) for i in range(m - 1)] + [y[:, k:].mean(axis=1)]
    t = np.column_stack(t)
    xm = t[:, -1]
    pos = np.column_stack([np.maximum(xm, 1.0) * (t[:, i] - 0.5) + 0.5 for i in range(m - 1)])
    h = []
    for i in range(1, m + 1):  # WFG's concave shape, h_1 ... h_m
        if i == 1:
            hi = np.prod(np.sin(0.5 * np.pi * pos), axis=1)
        elif i <= m - 1:
            hi = np.prod(np.sin(0.5 * np.pi * pos[:, : m - i]), axis=1) * np.cos(0.5 * np.pi * pos[:, m - i])
        else:
            hi = np.cos(0.5 * np.pi * pos[:, 0])
        h.append(hi)
    s = 2.0 * np.arange(1, m + 1)
    return xm[:, None] + s * np.column_stack(h), None


# --- constrained engineering problems ----------------------------------------------------------------------------


def bnh(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x1, x2 = x[:, 0], x[:, 1]
    f = np.column_stack([4 * x1**2 + 4 * x2**2, (x1 - 5) ** 2 + (x2 - 5) ** 2])
    g = np.column_stack([((x1 - 5) ** 2 + x2**2 - 25) / 25, -((x1 - 8) ** 2 + (x2 + 3) ** 2 - 7.7) / 7.7])
    return f, g


def srn(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x1, x2 = x[:, 0], x[:, 1]
    f = np.column_stack([2 + (x1 - 2) ** 2 + (x2 - 1) ** 2, 9 * x1 - (x2 - 1) ** 2])
    g = np.column_stack([(x1**2 + x2**2 - 225) / 225, (x1 - 3 * x2 + 10) / 10])
    return f, g


def welded_beam(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cost and end deflection of a welded beam; shear stress, bending stress, geometry and buckling limits."""
    h, ll, t, b = x[:, 0], x[:, 1], x[:, 2], x[:, 3]
    f1 = 1.10471 * h**2 * ll + 0.04811 * t * b * (14.0 + ll)
    f2 = 2.1952 / (b * t**3)
    p, length, tau_max, sigma_max = 6000.0, 14.0, 13600.0, 30000.0
    r = np.sqrt(0.25 * (ll**2 + (h + t) ** 2))
    moment = p * (length + ll / 2)
    j = 2 * math.sqrt(0.5) * h * ll * (ll**2 / 12 + 0.25 * (h + t) ** 2)
    tau1 = p / (math.sqrt(2) * h * ll)
    tau2 = moment * r / j
    tau = np.sqrt(tau1**2 + tau2**2 + tau1 * tau2 * ll / r)
    sigma = 6 * p * length / (b * t**2)
    p_c = 64746.022 * (1 - 0.0282346 * t) * t * b**3
    g = np.column_stack(
        [(tau - tau_max) / tau_max, (sigma - sigma_max) / sigma_max, (h - b) / (5 - 0.125), (p - p_c) / p]
    )
    return np.column_stack([f1, f2]), g


# --- a real problem: extra-trees on digits -----------------------------------------------------------------------

_MAX_NODES = 1_000


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    return tuple(train_test_split(x, y, test_size=0.3, random_state=0, stratify=y))  # type: ignore[return-value]


def extratrees(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validation error and prediction cost (hundreds of nodes visited per prediction); nodes <= 1,000."""
    from sklearn.ensemble import ExtraTreesClassifier

    xtr, xva, ytr, yva = _digits()
    f, g = [], []
    for row in x:
        model = ExtraTreesClassifier(
            n_estimators=int(round(row[0])),
            max_depth=int(round(row[1])),
            min_samples_leaf=int(round(row[2])),
            max_features=float(row[3]),
            random_state=0,
            n_jobs=1,
        ).fit(xtr, ytr)
        error = 1.0 - model.score(xva, yva)
        visited = model.decision_path(xva)[0].sum() / len(xva)
        nodes = sum(e.tree_.node_count for e in model.estimators_)
        f.append([error, visited / 100.0])
        g.append([nodes / _MAX_NODES - 1.0])
    return np.asarray(f), np.asarray(g)


_EXTRATREES_VARS = (
    Var("n_estimators", 1, 64, "logint"),
    Var("max_depth", 1, 24, "int"),
    Var("min_samples_leaf", 1, 32, "logint"),
    Var("max_features", 0.02, 1.0),
)


PROBLEMS: dict[str, MOProblem] = {
    p.name: p
    for p in (
        MOProblem("zdt1", "zdt", _box(10), 2, 0, (11.0, 11.0), zdt1),
        MOProblem("zdt2", "zdt", _box(10), 2, 0, (11.0, 11.0), zdt2),
        MOProblem("zdt3", "zdt", _box(10), 2, 0, (11.0, 11.0), zdt3),
        MOProblem("zdt6", "zdt", _box(10), 2, 0, (11.0, 11.0), zdt6),
        MOProblem("dtlz1", "dtlz", _box(7), 3, 0, (400.0, 400.0, 400.0), dtlz1),
        MOProblem("dtlz2", "dtlz", _box(10), 3, 0, (1.1, 1.1, 1.1), dtlz2),
        MOProblem("dtlz7", "dtlz", _box(10), 3, 0, (15.0, 15.0, 15.0), dtlz7),
        # WFG4's objectives are at most 1 + S_m (S = 2, 4, 6): every point counts
        MOProblem(
            "wfg4", "wfg", tuple(Var(f"x{i}", 0.0, 2.0 * (i + 1)) for i in range(10)), 3, 0, (3.0, 5.0, 7.0), wfg4
        ),
        # BNH: f1 <= 136 and f2 <= 50 on the whole box
        MOProblem("bnh", "constrained", (Var("x0", 0.0, 5.0), Var("x1", 0.0, 3.0)), 2, 2, (140.0, 55.0), bnh),
        # SRN: its Pareto front spans f1 in [24, 213], f2 in [-213, -25]; the reference bounds the feasible trade-off
        MOProblem("srn", "constrained", _box(2, -20.0, 20.0), 2, 2, (250.0, 50.0), srn),
        MOProblem("c2dtlz2", "constrained", _box(12), 3, 1, (1.1, 1.1, 1.1), c2_dtlz2),
        # welded beam: pymoo's front spans cost 2.4-36.4 and deflection 0.0004-0.0055
        MOProblem(
            "welded_beam",
            "constrained",
            (Var("h", 0.125, 5.0), Var("l", 0.1, 10.0), Var("t", 0.1, 10.0), Var("b", 0.125, 5.0)),
            2,
            4,
            (40.0, 0.015),
            welded_beam,
        ),
        # digits: error <= 1; under the node limit, 200 random configurations cost at most 1.6 (160 nodes visited)
        MOProblem("real_extratrees", "real", _EXTRATREES_VARS, 2, 1, (1.0, 3.0), extratrees),
    )
}
