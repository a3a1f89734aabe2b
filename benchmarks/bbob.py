"""COCO's BBOB suite (24 noiseless functions, any dimension, many instances) for every method of runners.py.

    python benchmarks/bbob.py                                   # d = 2, 5, 10, 20; instances 1-3; 200 evaluations
    python benchmarks/bbob.py --dims 2 5 10 --instances 4-5     # more instances for the head-to-head test
    python benchmarks/bbob.py --methods "parzen_tpe[gamma=0.15]" --dims 5
    python benchmarks/bbob.py --seeds 1 --evals 20 --dims 2 --functions 1 --out /tmp/bbob.json   # smoke

Each run minimises one BBOB problem (function f, dimension d, instance i) on its box [-5, 5]^d, written as d
``hp.uniform`` parameters, with the method's ordinary loop; its seed is derived from (f, d, i), so an instance
is one replicate. Stored per run: the best regret (value minus the instance's optimum f(xopt)) after each
budget of ``BUDGETS`` up to ``--evals``, so one run of 200 evaluations answers 50, 100 and 200 (the methods
do not know the budget). Results are cached in the JSON file and saved every few runs: an interrupted run
continues where it stopped. ``--seeds`` is accepted for the smoke mode and counts instances.

The analysis (ranks, sign tests, bootstrap intervals, cross-validation over function groups) lives here
too, as plain functions of the stored results, and is rendered by report.py.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from problems import Problem
from quality import code_version, load, save
from runners import parse_method, run, split_methods
from scipy import stats

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "bbob.json"
BUDGETS = (25, 50, 100, 200)
BBOB_METHODS = ("parzen_tpe", "optuna_tpe", "hyperopt_tpe", "parzen_rand")
RIVALS = BBOB_METHODS[1:]
# The configurations measured (the ablation table, and the candidates the cross-validation picks among).
# Those with gap_fill=0.0 ran before gap filling became the default: each differs from the default by
# its own change and by gap filling off.
CANDIDATES = (
    "parzen_tpe",
    "parzen_tpe[gap_fill=0.0]",  # the previous default: no gap filling (distractor 80%)
    "parzen_tpe[below_shrink=1.0,prior_weight=1.0,gap_fill=0.0]",  # the default before that
    "parzen_tpe[below_shrink=1.0,gap_fill=0.0]",
    "parzen_tpe[below_shrink=0.5,gap_fill=0.0]",
    "parzen_tpe[prior_weight=1.0,gap_fill=0.0]",
    "parzen_tpe[prior_weight=3.0,gap_fill=0.0]",  # finds the distractor spike in 30/30 seeds; costs in flight
    "parzen_tpe[prior_weight=4.0,gap_fill=0.0]",
    "parzen_tpe[above_shrink=0.3,gap_fill=0.0]",
    "parzen_tpe[below_weights=rank,gap_fill=0.0]",
    "parzen_tpe[kernel=rotated,gap_fill=0.0]",
    "parzen_tpe[n_EI_candidates=64,gap_fill=0.0]",
    "parzen_tpe[gamma=0.15,gap_fill=0.0]",
    "parzen_tpe[split=sqrt,gamma=0.25,gap_fill=0.0]",
)
GROUPS = {
    "separable": range(1, 6),
    "moderate": range(6, 10),
    "ill-conditioned": range(10, 15),
    "multimodal": range(15, 20),
    "weak structure": range(20, 25),
}


def group_of(f: int) -> str:
    """The BBOB function group of function `f` (1-24)."""
    return next(name for name, fs in GROUPS.items() if f in fs)


# --- problems ---------------------------------------------------------------------------------------------


@functools.cache
def _suite() -> Any:
    import cocoex

    return cocoex.Suite("bbob", "instances:1-100", "")


def coco_problem(f: int, d: int, i: int) -> Any:
    """The cocoex problem object (cached by cocoex's suite)."""
    return _suite().get_problem_by_function_dimension_instance(f, d, i)


@functools.cache
def optimum(f: int, d: int, i: int) -> float:
    """f(xopt) of an instance: cocoex writes xopt to a file in the working directory, so ask it in a temp dir."""
    problem = coco_problem(f, d, i)
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            problem._best_parameter("print")
            xopt = np.atleast_1d(np.loadtxt("._bbob_problem_best_parameter.txt"))
        finally:
            os.chdir(here)
    return float(problem(xopt))


def bbob(f: int, d: int, i: int) -> Problem:
    """A BBOB instance as a benchmark `Problem` (hp.uniform on [-5, 5] per coordinate)."""
    problem = coco_problem(f, d, i)

    def build_space(hp: Any, scope: Any) -> dict:
        return {f"x{j}": hp.uniform(f"x{j}", -5.0, 5.0) for j in range(d)}

    def objective(args: dict) -> float:
        return float(problem(np.array([args[f"x{j}"] for j in range(d)])))

    return Problem(f"bbob_f{f}_d{d}_i{i}", build_space, objective, optimum(f, d, i), f"BBOB f{f}, {d}-D, instance {i}")


def seed_of(f: int, d: int, i: int) -> int:
    return 10_000 * f + 100 * d + i


def key(f: int, d: int, i: int, method: str, evals: int) -> str:
    return f"f{f}|d{d}|i{i}|{method}|{evals}"


def record(f: int, d: int, i: int, method: str, evals: int) -> dict[str, Any]:
    """One run; what is stored of it."""
    problem = bbob(f, d, i)
    result = run(method, problem, seed_of(f, d, i), evals)
    regret = [problem.regret(v) for v in result["best"]]
    return {
        "f": f,
        "d": d,
        "i": i,
        "method": method,
        "evals": evals,
        "at": {str(b): float(f"{max(regret[b - 1], 0.0):.6g}") for b in sorted({*BUDGETS, evals}) if b <= evals},
        "seconds": round(result["seconds"], 3),
        "code": code_version(parse_method(method).library),
    }


def run_all(
    out: Path, methods: list[str], dims: list[int], functions: list[int], instances: list[int], evals: int, force: bool
) -> int:
    """Every (method, d, f, i) not cached yet; saves at least every 20 s. Returns how many ran."""
    data = load(out)
    longest: dict[tuple, int] = {}  # a run of more evaluations answers a shorter budget
    for r in data["runs"].values():
        cell = (r["f"], r["d"], r["i"], r["method"])
        longest[cell] = max(longest.get(cell, 0), r["evals"])
    computed, last_save = 0, time.monotonic()
    for method in methods:
        for d in dims:
            todo = [(f, i) for f in functions for i in instances if force or longest.get((f, d, i, method), 0) < evals]
            start = time.perf_counter()
            for f, i in todo:
                data["runs"][key(f, d, i, method, evals)] = record(f, d, i, method, evals)
                computed += 1
                if time.monotonic() - last_save > 20:
                    save(out, data)
                    last_save = time.monotonic()
            if todo:
                save(out, data)
                took = time.perf_counter() - start
                print(f"bbob d={d:<3d} {method:40s} {len(todo):4d} runs {took:7.1f}s", file=sys.stderr, flush=True)
    return computed


# --- analysis ---------------------------------------------------------------------------------------------


class BBOBResults:
    """Final regrets indexed [(f, d, i)][method] at one budget."""

    def __init__(self, data: dict[str, Any], budget: int):
        self.budget = budget
        self.regret: dict[tuple[int, int, int], dict[str, float]] = defaultdict(dict)
        self.seconds: dict[tuple[str, int], list[float]] = defaultdict(list)
        for r in data.get("runs", {}).values():  # a run of 200 evaluations answers budget 100 too
            if str(budget) in r["at"]:
                self.regret[r["f"], r["d"], r["i"]][r["method"]] = r["at"][str(budget)]
                self.seconds[r["method"], r["d"]].append(r["seconds"] / r["evals"])

    def cells(self, methods: Iterable[str], dims: Iterable[int], functions: Iterable[int] = range(1, 25)) -> list:
        """The (f, d, i) where every method in `methods` has a result."""
        methods, dims, functions = list(methods), set(dims), set(functions)
        return sorted(
            c for c, by in self.regret.items() if c[1] in dims and c[0] in functions and all(m in by for m in methods)
        )

    def ranks(self, methods: list[str], cells: list) -> np.ndarray:
        """(cells, methods) ranks by regret, 1 = best, ties sharing the mean rank."""
        values = np.array([[self.regret[c][m] for m in methods] for c in cells])
        return stats.rankdata(values, axis=1) if len(cells) else np.empty((0, len(methods)))

    def mean_rank(self, methods: list[str], cells: list) -> dict[str, float]:
        """Mean rank over cells, averaging instances within each function first (each function weighs the same)."""
        ranks = self.ranks(methods, cells)
        by_f: dict[tuple[int, int], list[np.ndarray]] = defaultdict(list)
        for c, r in zip(cells, ranks):
            by_f[c[0], c[1]].append(r)
        means = np.array([np.mean(v, axis=0) for v in by_f.values()]) if by_f else np.full((1, len(methods)), np.nan)
        return dict(zip(methods, means.mean(axis=0).tolist()))

    def head_to_head(self, a: str, b: str, cells: list) -> tuple[int, int, int, float]:
        """(wins of a, losses, ties, two-sided sign-test p) over `cells`."""
        va = np.array([self.regret[c][a] for c in cells])
        vb = np.array([self.regret[c][b] for c in cells])
        tol = 1e-12 * np.maximum(1.0, np.maximum(np.abs(va), np.abs(vb)))
        wins, losses = int(np.sum(va < vb - tol)), int(np.sum(vb < va - tol))
        ties = len(cells) - wins - losses
        p = stats.binomtest(wins, wins + losses, 0.5).pvalue if wins + losses else 1.0
        return wins, losses, ties, float(p)


def bootstrap_ci(values: np.ndarray, rng: np.random.Generator, n: int = 2000, level: float = 0.95) -> tuple:
    """Percentile bootstrap interval of the mean of `values` (resampling its rows)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return (math.nan, math.nan)
    idx = rng.integers(0, len(values), size=(n, len(values)))
    means = values[idx].mean(axis=1)
    return tuple(np.quantile(means, [(1 - level) / 2, (1 + level) / 2]).tolist())


def cross_validate(res: BBOBResults, candidates: list[str], rivals: list[str], dims: list[int]) -> list[dict[str, Any]]:
    """Leave one function group out: pick the candidate with the best mean rank (among itself and `rivals`)
    on the other groups, and report that pick's rank on the held-out group.

    This is how well "choose the defaults on a benchmark" generalises to functions it never saw.
    """

    def score(method: str, functions: Iterable[int]) -> float:
        cells = res.cells([method, *rivals], dims, functions)
        return res.mean_rank([method, *rivals], cells)[method] if cells else math.inf

    rows = []
    for held, held_fs in GROUPS.items():
        train = [f for g, fs in GROUPS.items() if g != held for f in fs]
        pick = min(candidates, key=lambda m: score(m, train))
        cells = res.cells([pick, *rivals, candidates[0]], dims, held_fs)
        ranks = res.mean_rank([pick, *rivals], cells)
        default_rank = res.mean_rank([candidates[0], *rivals], cells)[candidates[0]]
        rows.append({"held_out": held, "pick": pick, "ranks": ranks, "default": default_rank, "cells": len(cells)})
    return rows


# --- command line -----------------------------------------------------------------------------------------


def int_ranges(items: list[str]) -> list[int]:
    """``["1-3", "7"]`` -> [1, 2, 3, 7]."""
    out: list[int] = []
    for item in items:
        for part in item.split(","):
            lo, _, hi = part.partition("-")
            out += list(range(int(lo), int(hi or lo) + 1))
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="+", default=list(BBOB_METHODS))
    parser.add_argument("--dims", nargs="+", type=int, default=[2, 5, 10, 20])
    parser.add_argument("--functions", nargs="+", default=["1-24"])
    parser.add_argument("--instances", nargs="+", default=["1-3"])
    parser.add_argument("--seeds", type=int, help="smoke mode: use instances 1..N")
    parser.add_argument("--evals", type=int, default=200)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--force", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    methods = split_methods(args.methods)
    for name in methods:
        parse_method(name)
    instances = list(range(1, args.seeds + 1)) if args.seeds else int_ranges(args.instances)
    n = run_all(args.out, methods, args.dims, int_ranges(args.functions), instances, args.evals, args.force)
    print(f"bbob: {n} runs computed into {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
