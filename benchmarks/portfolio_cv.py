"""The rule of `parzen.auto`, learned: leave-one-problem-family-out cross-validation over the portfolio results.

    python benchmarks/portfolio_cv.py                 # reads results/portfolio_{bbob,sklearn,mixed}*.json
    python benchmarks/portfolio_cv.py --out results/portfolio_cv.json
    python benchmarks/portfolio_cv.py --compare parzen_local "parzen_local[startup=gp,startup_per_dim=10]"

A *cell* is one problem, replicate, budget and concurrency (batch size or trials in flight) where parzen's
gp and tpe both have a run. The family of rules (the module docstring of `parzen.algorithms.auto`):

    tpe   if the space is conditional (neither model handles inactive parameters), else
    local if one trial at a time, no categorical parameter, dimension >= L, budget <= LB and
             budget <= LR x dimension, else
    gp    if categorical share <= S and dimension <= D and budget <= B and concurrency <= F, else tpe

with S, D, B, F, L, LB, LR on small grids. A rule's outcome in a cell is the run of the method it picks
there, so its rank is that method's rank among the methods compared in the cell (parzen gp, tpe and local
and every anchor that ran there; ties share); a rule that picks local search where it has no run cannot be
scored (local ran on every sequential cell of BBOB and the mixed suite). Families: the five BBOB function
groups (every dimension), each scikit-learn model, the mixed problems and the conditional ones. Each
family weighs the same: a rule's score is the mean over families of its mean rank in the family's cells.
For each family, the rule with the best score on the *other* families is chosen and its rank on the
held-out family reported beside each single method's rank on the same cells. Ties between rules go to the
rule that uses the GP and local search least (the smallest D, B, F, S, the largest L, the smallest LB and
LR): neither is extrapolated beyond what the data supports. The final rule is chosen on all families: its
thresholds are the constants of `parzen/algorithms/auto.py`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from portfolio_report import dim_of
from scipy import stats

HERE = Path(__file__).resolve().parent
GP, TPE, LOCAL = "parzen_gp", "parzen_tpe", "parzen_local"
# auto's local-search arm: the GP for 5 trials per parameter, then COBYLA from its best (chosen over COBYLA from
# the centre and over 10 per parameter by holding out the whole procedure with each: portfolio.md)
LOCAL_ARM = "parzen_local[startup=gp,startup_per_dim=5]"
# the variant measured before gp's defaults were set to it (same algorithm): used where parzen_gp has no run
GP_ALIASES: tuple[str, ...] = ()  # a variant that stands for parzen_gp where it has no run (none since 8 Dec)
ANCHORS = ("optuna_tpe", "optuna_gp", "ngopt", "smac_bb", "smac_hpo", "random")
BUDGET_AWARE = ("ngopt", "smac_bb", "smac_hpo", "parzen_auto")  # told the budget: a run per budget
BUDGETS = (50, 100, 128, 200)
INF = math.inf
GRID = {
    "S": (0.0, 0.25, 0.5, 0.75, 1.0),
    "D": (2, 5, 10, 20, INF),
    "B": (50, 100, 200, INF),
    "F": (1, 8, 24, INF),
    "L": (INF, 20, 10, 5, 2),  # local search (one trial at a time) from this dimension up (ties: the largest) ...
    "LB": (50, 100, 200, INF),  # ... while the budget is at most this
    "LR": (10, 20, 40, INF),  # ... and at most this many trials per parameter
}


@dataclass(frozen=True)
class Shape:
    """A problem's space, as auto sees it."""

    dim: int
    categorical_share: float
    conditional: bool


@dataclass
class Cell:
    family: str
    problem: str
    budget: int
    concurrency: int
    shape: Shape
    ranks: dict[str, float]  # method -> rank in this cell (1 best)


def shapes() -> dict[str, Shape]:
    """Every non-BBOB problem's shape, from its parzen space (BBOB: d uniform parameters, from the name)."""
    from portfolio_problems import MIXED_PROBLEMS, SPACES
    from problems import PROBLEMS

    from parzen import hp
    from parzen.algorithms import auto
    from parzen.space import compile_space
    from parzen.trial import Trials

    def shape_of(space_def: Any) -> Shape:
        space = compile_space(space_def)
        trials = Trials()
        trials.attach_space(space)
        f = auto.features(space, trials.history())
        return Shape(f.dim, f.categorical_share, f.conditional)

    out = {}
    for model, build in SPACES.items():
        out[f"sk_{model}"] = shape_of(build(hp))
    for name in MIXED_PROBLEMS:
        out[name] = shape_of(PROBLEMS[name].space("parzen"))
    return out


def family_of(run: dict[str, Any]) -> str:
    if run["suite"] == "bbob":
        return f"bbob:{run['group']}"
    if run["suite"] == "sklearn":
        return f"sklearn:{run['group']}"
    return f"quality:{run['group']}"


def load_cells(paths: list[Path], gp_variant: str = GP, local_variant: str = LOCAL) -> list[Cell]:
    """Cells where parzen gp and tpe both ran, with every method's rank among those that ran there.

    `gp_variant`: the method name whose runs stand for parzen's GP (a candidate default, e.g.
    ``parzen_gp[quadratic_every=5]``); the other parzen_gp runs are then left out. `local_variant`: likewise
    for the local-search arm (e.g. ``parzen_local[startup=gp,startup_per_dim=5]``).
    """
    runs = [r for p in paths for r in json.loads(p.read_text())["runs"].values()]
    known = shapes()
    loss: dict[tuple, dict[str, float]] = defaultdict(dict)
    info: dict[tuple, tuple[str, Shape]] = {}
    aliases = GP_ALIASES if gp_variant == GP else (gp_variant,)
    for r in runs:
        if gp_variant != GP and r["method"] == GP:
            continue
        if local_variant != LOCAL and r["method"] == LOCAL:
            continue
        method = GP if r["method"] in aliases else LOCAL if r["method"] == local_variant else r["method"]
        if method not in (GP, TPE, LOCAL, *ANCHORS):
            continue
        concurrency = max(r["batch"], r.get("flight", 0), 1)
        for budget in BUDGETS:
            if str(budget) not in r["at"] or (method in BUDGET_AWARE and r["evals"] != budget):
                continue
            key = (r["problem"], r["seed"], budget, concurrency)
            if method in loss[key] and r["method"] in GP_ALIASES and gp_variant == GP:
                continue  # parzen_gp's own run first
            loss[key][method] = float(r["at"][str(budget)])
            if r["suite"] == "bbob":
                shape = Shape(dim_of(r), 0.0, False)
            elif r["suite"] == "sklearn":
                shape = known[f"sk_{r['group']}"]
            else:
                shape = known[r["problem"]]
            info[key] = (family_of(r), shape)
    cells = []
    for key, by in loss.items():
        if GP not in by or TPE not in by:
            continue
        methods = sorted(by)
        ranks = stats.rankdata([by[m] for m in methods])
        family, shape = info[key]
        cells.append(Cell(family, key[0], key[2], key[3], shape, dict(zip(methods, map(float, ranks)))))
    return cells


def picks_gp(rule: dict[str, float], cell: Cell) -> bool:
    s = cell.shape
    return (
        not s.conditional
        and s.categorical_share <= rule["S"]
        and s.dim <= rule["D"]
        and cell.budget <= rule["B"]
        and cell.concurrency <= rule["F"]
    )


def picks_local(rule: dict[str, float], cell: Cell) -> bool:
    """Local search: sequential, flat, numeric only (it never moves a categorical), from dimension L up,
    budget at most LB."""
    s = cell.shape
    return (
        not s.conditional
        and cell.concurrency == 1
        and s.categorical_share == 0
        and s.dim >= rule["L"]
        and cell.budget <= rule["LB"]
        and cell.budget <= rule["LR"] * s.dim
    )


def pick(rule: dict[str, float], cell: Cell) -> str:
    """The method the rule picks in a cell (local first, as `parzen.auto` decides)."""
    if picks_local(rule, cell):
        return LOCAL
    return GP if picks_gp(rule, cell) else TPE


def rules() -> list[dict[str, float]]:
    """The grid, smallest thresholds first (ties go to the first).

    A rule that would pick local search in a cell where it did not run cannot be scored
    (`Table.score` gives it inf); local ran on every sequential cell of BBOB and the mixed suite.
    """
    keys = list(GRID)
    out = []
    for values in itertools.product(*(GRID[k] for k in keys)):
        rule = dict(zip(keys, values))
        if rule["L"] == INF and (rule["LB"] != GRID["LB"][0] or rule["LR"] != GRID["LR"][0]):  # INF comes first
            continue  # no local search: LB and LR do not matter
        out.append(rule)
    return out


class Table:
    """The cells as arrays, so thousands of rules are scored with a few numpy operations each."""

    def __init__(self, cells: list[Cell]):
        self.families = sorted({c.family for c in cells})
        self.family = np.array([self.families.index(c.family) for c in cells])
        self.dim = np.array([c.shape.dim for c in cells], dtype=float)
        self.share = np.array([c.shape.categorical_share for c in cells])
        self.flat = np.array([not c.shape.conditional for c in cells])
        self.budget = np.array([c.budget for c in cells], dtype=float)
        self.concurrency = np.array([c.concurrency for c in cells], dtype=float)
        self.rank = {m: np.array([c.ranks.get(m, np.nan) for c in cells]) for m in (GP, TPE, LOCAL)}

    def picks(self, rule: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Masks of the cells where the rule picks local search and the GP (as `pick`)."""
        local = (
            self.flat
            & (self.concurrency == 1)
            & (self.share == 0)
            & (self.dim >= rule["L"])
            & (self.budget <= rule["LB"])
            & (self.budget <= rule["LR"] * self.dim)
        )
        gp = (
            ~local
            & self.flat
            & (self.share <= rule["S"])
            & (self.dim <= rule["D"])
            & (self.budget <= rule["B"])
            & (self.concurrency <= rule["F"])
        )
        return local, gp

    def score(self, rule: dict[str, float]) -> float:
        """Mean over families of the rule's mean rank; inf when it picks local search where it did not run."""
        local, gp = self.picks(rule)
        ranks = np.where(local, self.rank[LOCAL], np.where(gp, self.rank[GP], self.rank[TPE]))
        if np.isnan(ranks).any():
            return INF
        sums = np.bincount(self.family, ranks, minlength=len(self.families))
        counts = np.bincount(self.family, minlength=len(self.families))
        return float(np.mean(sums[counts > 0] / counts[counts > 0]))


def best_rule(cells: list[Cell]) -> tuple[dict[str, float], float]:
    table = Table(cells)
    best, best_score = None, INF
    for rule in rules():
        s = table.score(rule)
        if s < best_score - 1e-12:
            best, best_score = rule, s
    assert best is not None
    return best, best_score


def held_out(cells: list[Cell], without_local: bool = False) -> float:
    """The whole procedure held out: each family's rank under the rule chosen on the others, families equal."""
    saved = GRID["L"]
    if without_local:
        GRID["L"] = (INF,)
    try:
        scores = []
        for held in sorted({c.family for c in cells}):
            rule, _ = best_rule([c for c in cells if c.family != held])
            scores.append(float(np.mean([c.ranks.get(pick(rule, c), np.nan) for c in cells if c.family == held])))
        return float(np.mean(scores))
    finally:
        GRID["L"] = saved


def show(rule: dict[str, float]) -> str:
    return ", ".join(f"{k}={'inf' if v == INF else v}" for k, v in rule.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "portfolio_cv.json")
    parser.add_argument("--gp", default=GP, help="the method whose runs stand for parzen's GP (a candidate default)")
    parser.add_argument("--local", default=LOCAL_ARM, help="the method whose runs stand for the local-search arm")
    parser.add_argument(
        "--compare", nargs="*", default=[], help="other local-search arms to hold out the whole procedure with"
    )
    args = parser.parse_args(argv)
    paths = args.files or sorted(
        p for s in ("bbob", "sklearn", "mixed") for p in (HERE / "results").glob(f"portfolio_{s}*.json")
    )
    cells = load_cells(paths, args.gp, args.local)
    families = sorted({c.family for c in cells})
    methods = [GP, TPE, LOCAL, *ANCHORS]
    folds = []
    lines = [
        f"Leave-one-family-out over {len(families)} families, {len(cells)} cells, gp = {args.gp}, "
        f"local = {args.local} "
        f"(files: {', '.join(p.name for p in paths)})",
        "",
        "| held-out family | cells | rule chosen on the others | auto (rule) | " + " | ".join(methods) + " |",
        "|---|---|---|---|" + "---|" * len(methods),
    ]
    for held in families:
        train = [c for c in cells if c.family != held]
        test = [c for c in cells if c.family == held]
        rule, _ = best_rule(train)
        auto_rank = float(np.mean([c.ranks.get(pick(rule, c), np.nan) for c in test]))
        single = {}
        for m in methods:
            have = [c for c in test if m in c.ranks]
            # a method's rank on the held-out cells where it ran; auto's on the same cells, for a fair pair
            single[m] = (
                (
                    float(np.mean([c.ranks[m] for c in have])),
                    float(np.mean([c.ranks[pick(rule, c)] for c in have])),
                    len(have),
                )
                if have
                else None
            )
        folds.append({"held_out": held, "cells": len(test), "rule": rule, "auto": auto_rank, "single": single})
        row = f"| {held} | {len(test)} | {show(rule)} | {auto_rank:.2f} |"
        for m in methods:
            v = single[m]
            row += f" {v[0]:.2f} (auto {v[1]:.2f}, n={v[2]}) |" if v else " - |"
        lines.append(row)
    # pooled over held-out families: each family weighs the same
    pooled_auto = float(np.mean([f["auto"] for f in folds]))
    lines += ["", f"Held-out mean rank of the chosen rule, families weighted equally: **{pooled_auto:.2f}**", ""]
    lines += [
        "| single method | families where it ran | its held-out mean rank | auto's on the same cells |",
        "|---|---|---|---|",
    ]
    for m in methods:
        pairs = [f["single"][m] for f in folds if f["single"][m]]
        if pairs:
            lines.append(
                f"| {m} | {len(pairs)} | {np.mean([p[0] for p in pairs]):.2f} | {np.mean([p[1] for p in pairs]):.2f} |"
            )
    arms = []
    for arm in [args.local, *args.compare]:
        arm_cells = load_cells(paths, args.gp, arm)
        arms.append({"arm": arm, "with": held_out(arm_cells), "without": held_out(arm_cells, without_local=True)})
    lines += [
        "",
        "Which local search for the arm: the whole procedure held out with each candidate, and without local "
        "search on the same cells (their ranks include the candidate's runs):",
        "",
        "| local-search arm | held-out mean rank with it | without local search |",
        "|---|---|---|",
    ]
    lines += [f"| {a['arm']} | {a['with']:.3f} | {a['without']:.3f} |" for a in arms]
    final, final_score = best_rule(cells)
    lines += [
        "",
        f"Rule chosen on every family (the constants of auto.py): **{show(final)}** (score {final_score:.3f})",
    ]
    share = {m: float(np.mean([pick(final, c) == m for c in cells])) for m in (GP, TPE, LOCAL)}
    lines.append(
        f"It picks the GP in {share[GP]:.0%} of the cells, TPE in {share[TPE]:.0%}, local search in {share[LOCAL]:.0%}."
    )
    text = "\n".join(lines)
    print(text)
    encode = lambda r: {k: (None if v == INF else v) for k, v in r.items()}  # noqa: E731
    args.out.write_text(
        json.dumps(
            {
                "files": [p.name for p in paths],
                "gp": args.gp,
                "local": args.local,
                "families": families,
                "cells": len(cells),
                "folds": [{**f, "rule": encode(f["rule"])} for f in folds],
                "held_out_mean_rank_auto": pooled_auto,
                "arms": arms,
                "final_rule": encode(final),
                "final_score": final_score,
                "table": text,
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
