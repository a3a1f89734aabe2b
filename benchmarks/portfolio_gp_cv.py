"""gp's default, chosen by leave-one-family-out cross-validation among measured variants (issue 26).

    python benchmarks/portfolio_gp_cv.py --variants parzen_gp "parzen_gp[quadratic_every=5]" ...
    python benchmarks/portfolio_gp_cv.py --variants ... --out results/portfolio_gp_cv.json

A *cell* is one problem, replicate, budget and concurrency (batch size or trials in flight) where every
variant has a run; each variant's rank among the variants there (1 best, ties share). Families as in
portfolio_cv.py: the five BBOB function groups (every dimension), each scikit-learn model, the mixed
problems (the conditional ones are handed to TPE by every variant, so they cannot tell them apart). Each
family weighs the same. For each family, the variant with the best mean rank over the *other* families
is chosen and its rank on the held-out family reported beside every variant's; ties go to the variant
listed first (list the current default first). The final choice is made on all families.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from portfolio_cv import BUDGETS, family_of
from scipy import stats

HERE = Path(__file__).resolve().parent


def load_cells(paths: list[Path], variants: list[str]) -> list[tuple[str, dict[str, float]]]:
    """(family, variant -> rank) for every cell where every variant ran."""
    loss: dict[tuple, dict[str, float]] = defaultdict(dict)
    family: dict[tuple, str] = {}
    for path in paths:
        for r in json.loads(path.read_text())["runs"].values():
            if r["method"] not in variants or family_of(r) == "quality:conditional":
                continue
            concurrency = max(r["batch"], r.get("flight", 0), 1)
            for budget in BUDGETS:
                if str(budget) in r["at"]:
                    key = (r["problem"], r["seed"], budget, concurrency)
                    loss[key].setdefault(r["method"], float(r["at"][str(budget)]))
                    family[key] = family_of(r)
    cells = []
    for key, by in loss.items():
        if len(by) == len(variants):
            ranks = stats.rankdata([by[v] for v in variants])
            cells.append((family[key], dict(zip(variants, map(float, ranks)))))
    return cells


def family_means(cells: list[tuple[str, dict[str, float]]], variant: str) -> dict[str, float]:
    by: dict[str, list[float]] = defaultdict(list)
    for fam, ranks in cells:
        by[fam].append(ranks[variant])
    return {f: float(np.mean(v)) for f, v in by.items()}


def best_variant(cells: list[tuple[str, dict[str, float]]], variants: list[str]) -> str:
    scores = [float(np.mean(list(family_means(cells, v).values()))) for v in variants]
    return variants[int(np.argmin(scores))]  # the first of equals: the current default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", required=True, help="method names; the current default first")
    parser.add_argument("--files", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "portfolio_gp_cv.json")
    args = parser.parse_args(argv)
    paths = args.files or sorted(
        p for s in ("bbob", "sklearn", "mixed") for p in (HERE / "results").glob(f"portfolio_{s}*.json")
    )
    cells = load_cells(paths, args.variants)
    families = sorted({f for f, _ in cells})
    lines = [
        f"gp variants, leave-one-family-out over {len(families)} families, {len(cells)} cells",
        "",
        "| held-out family | cells | chosen on the others | its rank | " + " | ".join(args.variants) + " |",
        "|---|---|---|---|" + "---|" * len(args.variants),
    ]
    folds = []
    for held in families:
        chosen = best_variant([c for c in cells if c[0] != held], args.variants)
        test = [c for c in cells if c[0] == held]
        ranks = {v: float(np.mean([r[v] for _, r in test])) for v in args.variants}
        folds.append({"held_out": held, "cells": len(test), "chosen": chosen, "ranks": ranks})
        lines.append(
            f"| {held} | {len(test)} | {chosen} | {ranks[chosen]:.2f} | "
            + " | ".join(f"{ranks[v]:.2f}" for v in args.variants)
            + " |"
        )
    held_out = float(np.mean([f["ranks"][f["chosen"]] for f in folds]))
    singles = {v: float(np.mean([f["ranks"][v] for f in folds])) for v in args.variants}
    final = best_variant(cells, args.variants)
    lines += [
        "",
        f"Held-out mean rank of the choice, families weighted equally: **{held_out:.2f}** "
        f"(each variant always: {', '.join(f'{v} {s:.2f}' for v, s in singles.items())})",
        f"Chosen on every family: **{final}**",
    ]
    text = "\n".join(lines)
    print(text)
    args.out.write_text(
        json.dumps(
            {
                "files": [p.name for p in paths],
                "variants": args.variants,
                "folds": folds,
                "held_out": held_out,
                "singles": singles,
                "final": final,
                "table": text,
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
