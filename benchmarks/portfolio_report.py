"""Tables of the portfolio benchmark: mean ranks with bootstrap intervals, pooled sign tests, optimiser seconds.

    python benchmarks/portfolio_report.py                        # every stored setting, the default methods
    python benchmarks/portfolio_report.py --methods parzen_gp optuna_gp ngopt --suite bbob --dims 5 --budgets 100

Reads every ``results/portfolio_<suite>*.json``. A *setting* is (suite, dimension, budget, batch size);
a *cell* one problem and replicate (BBOB: function and instance) where every method compared has a run.
Ranks are computed per cell (1 = best, ties share), averaged over the replicates of each problem and then
over problems, so every function (model-data pair) weighs the same; the interval is a 95% percentile
bootstrap over problems. The sign test pools every cell of the settings shown: wins and losses of a method
against an anchor, ties dropped, two-sided binomial p. Seconds are the optimiser's own (inside ask and tell),
per suggestion: the median over runs of CPU seconds (wall seconds in brackets; the machine is shared, so wall
time is the noisier one).
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

HERE = Path(__file__).resolve().parent
DEFAULT_METHODS = (
    "parzen_auto",
    "parzen_gp",
    "parzen_tpe",
    "optuna_gp",
    "optuna_tpe",
    "ngopt",
    "smac_bb",
    "smac_hpo",
    "random",
)
BBOB_ORDER = ["separable", "moderate", "ill-conditioned", "multimodal", "weak structure"]
ANCHORS = ("optuna_gp", "optuna_tpe", "ngopt", "smac_bb", "smac_hpo", "random")
BUDGET_AWARE = ("ngopt", "smac_bb", "smac_hpo", "parzen_auto")  # told the budget: only that budget's run counts


def load_runs(suite: str, files: Iterable[Path] | None = None) -> list[dict[str, Any]]:
    paths = list(files) if files else sorted((HERE / "results").glob(f"portfolio_{suite}*.json"))
    runs: list[dict[str, Any]] = []
    for path in paths:
        runs += json.loads(path.read_text())["runs"].values()
    return runs


def dim_of(run: dict[str, Any]) -> int:
    """BBOB's dimension (from the problem name); 0 for the scikit-learn suite."""
    name = run["problem"]
    return int(name.rsplit("_d", 1)[1]) if name.startswith("bbob_") else 0


class Table:
    """Best loss per (problem, seed) and method at one budget and batch size."""

    def __init__(
        self, runs: list[dict[str, Any]], budget: int, batch: int, dims: set[int] | None = None, flight: int = 0
    ):
        self.loss: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
        self.cpu: dict[str, list[float]] = defaultdict(list)
        self.wall: dict[str, list[float]] = defaultdict(list)
        self.group: dict[str, str] = {}
        for r in runs:
            if r["batch"] != batch or r.get("flight", 0) != flight or str(budget) not in r["at"]:
                continue
            if dims and dim_of(r) not in dims:
                continue
            if r["method"] in BUDGET_AWARE and r["evals"] != budget:
                continue  # told the budget: only its own budget's run counts
            cell = (r["problem"], r["seed"])
            if r["method"] in self.loss[cell] and r["evals"] != budget:
                continue  # prefer the run of exactly this budget
            self.loss[cell][r["method"]] = r["at"][str(budget)]
            self.cpu[r["method"]].append(r["cpu"])
            self.wall[r["method"]].append(r["wall"])
            self.group[r["problem"]] = r["group"]

    def cells(self, methods: list[str], groups: set[str] | None = None) -> list[tuple[str, int]]:
        return sorted(
            c
            for c, by in self.loss.items()
            if all(m in by for m in methods) and (groups is None or self.group[c[0]] in groups)
        )

    def rank_matrix(self, methods: list[str], cells: list) -> tuple[list[str], np.ndarray]:
        """(problems, (problems, methods) mean ranks over each problem's replicates)."""
        by_problem: dict[str, list[np.ndarray]] = defaultdict(list)
        for c in cells:
            values = np.array([self.loss[c][m] for m in methods])
            by_problem[c[0]].append(stats.rankdata(values))
        problems = sorted(by_problem)
        return problems, np.array([np.mean(by_problem[p], axis=0) for p in problems])

    def sign(self, a: str, b: str, cells: list) -> tuple[int, int]:
        wins = losses = 0
        for c in cells:
            va, vb = self.loss[c][a], self.loss[c][b]
            tol = 1e-12 * max(1.0, abs(va), abs(vb))
            wins += va < vb - tol
            losses += vb < va - tol
        return wins, losses


def covering(table: Table, methods: list[str], share: float = 0.6) -> list[str]:
    """The methods to rank together: most covered first, each added while the cells all of them share stay at
    least `share` of the most covered method's (a method run on a subset only, like SMAC, is left out there)."""
    count = {m: len(table.cells([m])) for m in methods}
    order = sorted(methods, key=lambda m: -count[m])
    if not order:
        return []
    chosen = [order[0]]
    for m in order[1:]:
        if len(table.cells([*chosen, m])) >= share * count[order[0]]:
            chosen.append(m)
    return [m for m in methods if m in chosen]


def bootstrap(rows: np.ndarray, rng: np.random.Generator, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """95% percentile intervals of the column means, resampling rows."""
    if len(rows) < 2:
        return np.full(rows.shape[1], math.nan), np.full(rows.shape[1], math.nan)
    idx = rng.integers(0, len(rows), size=(n, len(rows)))
    means = rows[idx].mean(axis=1)
    return np.quantile(means, 0.025, axis=0), np.quantile(means, 0.975, axis=0)


def p_value(wins: int, losses: int) -> float:
    return float(stats.binomtest(wins, wins + losses, 0.5).pvalue) if wins + losses else 1.0


def rank_table(table: Table, methods: list[str], title: str, groups: dict[str, set[str]] | None = None) -> list[str]:
    cells = table.cells(methods)
    if not cells:
        return []
    problems, ranks = table.rank_matrix(methods, cells)
    lo, hi = bootstrap(ranks, np.random.default_rng(0))
    mean = ranks.mean(axis=0)
    seeds = len(cells) / max(1, len(problems))
    lines = [f"**{title}**: {len(problems)} problems x {seeds:.3g} replicates ({len(cells)} cells)", ""]
    header = "| method | mean rank [95% CI] |"
    sep = "|---|---|"
    group_cols = []
    for name, members in (groups or {}).items():
        sub = table.cells(methods, members)
        if sub:
            group_cols.append((name, table.rank_matrix(methods, sub)[1].mean(axis=0)))
            header += f" {name} |"
            sep += "---|"
    header += " CPU s / suggestion [wall] |"
    sep += "---|"
    lines += [header, sep]
    for j in np.argsort(mean, kind="stable"):
        m = methods[j]
        row = f"| {m} | {mean[j]:.2f} [{lo[j]:.2f}, {hi[j]:.2f}] |"
        row += "".join(f" {g[j]:.2f} |" for _, g in group_cols)
        row += f" {np.median(table.cpu[m]):.3g} [{np.median(table.wall[m]):.3g}] |"
        lines.append(row)
    return lines + [""]


def sign_table(tables: list[Table], methods: list[str], anchors: list[str]) -> list[str]:
    """Pooled over every table: each of `methods` against each anchor."""
    lines = ["| method | " + " | ".join(f"vs {a}" for a in anchors) + " |", "|---|" + "---|" * len(anchors)]
    for m in methods:
        row = f"| {m} |"
        for a in anchors:
            if a == m:
                row += " - |"
                continue
            wins = losses = 0
            for t in tables:
                w, lo = t.sign(m, a, t.cells([m, a]))
                wins, losses = wins + w, losses + lo
            row += f" {wins}-{losses} (p={p_value(wins, losses):.2g}) |" if wins + losses else " - |"
        lines.append(row)
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=("bbob", "sklearn", "mixed"), default="bbob")
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS))
    parser.add_argument("--anchors", nargs="+", default=list(ANCHORS))
    parser.add_argument("--dims", nargs="+", type=int, default=[2, 5, 10, 20])
    parser.add_argument("--budgets", nargs="+", type=int)
    parser.add_argument("--batch", type=int)
    parser.add_argument("--flight", type=int, default=0)
    parser.add_argument("--files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    runs = load_runs(args.suite, args.files)
    batch = args.batch or (8 if args.suite == "sklearn" else 1)
    budgets = args.budgets or ([128] if args.suite == "sklearn" else [50, 100, 200])
    dims = args.dims if args.suite == "bbob" else [0]
    names = sorted(
        {r["group"] for r in runs},
        key=lambda g: (g not in BBOB_ORDER, BBOB_ORDER.index(g) if g in BBOB_ORDER else 0, g),
    )
    groups = {g: {g} for g in names}
    tables = []
    out: list[str] = []
    for d in dims:
        for budget in budgets:
            table = Table(runs, budget, batch, {d}, args.flight)
            present = covering(table, [m for m in args.methods if table.cpu.get(m)])
            title = f"{args.suite} d={d}, budget {budget}" if d else f"{args.suite}, budget {budget}"
            title += f", batches of {batch}" if batch > 1 else ""
            title += f", {args.flight} in flight" if args.flight else ""
            lines = rank_table(table, present, title, groups)
            if lines:
                out += lines
                tables.append(table)
    out += ["**Pooled sign tests** (wins-losses over every cell above, ties dropped)", ""]
    mine = [m for m in args.methods if m not in args.anchors]
    out += sign_table(tables, mine, args.anchors)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
