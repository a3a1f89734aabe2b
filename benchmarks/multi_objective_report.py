"""The issue-25 tables from the multi-objective benchmark's results: parzen against the best optuna sampler.

    python benchmarks/multi_objective_report.py                        # writes results/multi_objective.md
    python benchmarks/multi_objective_report.py --extra results/multi_objective_gp.json --print

One table per setting (budget x trials in flight): a row per problem with the median hypervolume of each
method over the seeds it has (against the problem's fixed reference point, feasible trials only; raw, not
normalised: the reference is in the results file's meta), the best optuna sampler on that problem (highest
median among those with runs), parzen's two-sided Mann-Whitney p against it, and for constrained problems
the mean feasible share of each method. Under each table: on how many problems parzen's median is at or
above the best optuna sampler's, and a pooled sign test over every (problem, seed) pair that both have,
parzen against that problem's best optuna sampler. Choosing the best sampler per problem after the fact
favours optuna: the test is conservative for parzen.

Runs come from ``results/multi_objective.json`` (written by ``multi_objective.py run``) and any ``--extra``
files (e.g. the GPSampler runs, stored separately because they stop at 100 evaluations); a run stored in
several files is taken from the first. Only seeds in ``--seeds`` count.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mo_problems import PROBLEMS  # noqa: E402

OURS = "parzen"
OPTUNA = ("optuna_tpe", "optuna_nsga2", "optuna_gp")
METHODS = (OURS, *OPTUNA, "random")
SHORT = {"optuna_tpe": "TPE", "optuna_nsga2": "NSGA-II", "optuna_gp": "GP", "random": "random"}


def short(method: str) -> str:
    """A column name: optuna's samplers abbreviated, parzen and its variants as named."""
    return SHORT.get(method, method)


def load_runs(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """Runs keyed ``problem|method|k|seed``, the first file winning on duplicates."""
    runs: dict[str, dict[str, Any]] = {}
    for path in paths:
        if path.exists():
            for k, v in json.loads(path.read_text())["runs"].items():
                runs.setdefault(k, v)
    return runs


def hv(runs: dict[str, Any], problem: str, method: str, k: int, budget: int, seeds: list[int]) -> np.ndarray:
    """Hypervolume at `budget` per seed; NaN for a seed without a run (or a run stopped before `budget`)."""
    out = []
    for s in seeds:
        run = runs.get(f"{problem}|{method}|{k}|{s}")
        out.append(np.nan if run is None else run["hv"].get(str(budget), np.nan))
    return np.asarray(out, dtype=float)


def feasible(runs: dict[str, Any], problem: str, method: str, k: int, budget: int, seeds: list[int]) -> float:
    """Mean share of feasible trials among the first `budget` asked, over the seeds with a run."""
    shares = []
    for s in seeds:
        run = runs.get(f"{problem}|{method}|{k}|{s}")
        if run is not None and str(budget) in run["feasible"]:
            shares.append(run["feasible"][str(budget)])
    return float(np.mean(shares)) if shares else math.nan


def fmt(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{x:.4g}"


def setting_table(
    runs: dict[str, Any], problems: list[str], k: int, budget: int, seeds: list[int], min_seeds: int, ours: str = OURS
) -> tuple[list[str], dict[str, Any]]:
    """One setting's Markdown table and its tallies (problems counted, at-or-above, sign-test counts)."""
    from scipy.stats import mannwhitneyu

    methods = [
        m for m in (ours, *METHODS[1:]) if any(np.isfinite(hv(runs, p, m, k, budget, seeds)).any() for p in problems)
    ]
    head = ["problem", "seeds", *[short(m) for m in methods], "best optuna", "p vs best", "ahead"]
    lines = ["| " + " | ".join(head) + " | feasible share (" + " / ".join(short(m) for m in methods) + ") |"]
    lines.append("|---" * (len(head) + 1) + "|")
    tally: dict[str, Any] = {
        "ours": ours,
        "counted": 0,
        "at_or_above": 0,
        "won": 0,
        "lost": 0,
        "tied": 0,
        "constrained": 0,
        "feasible_ok": 0,
    }
    for p in problems:
        mine = hv(runs, p, ours, k, budget, seeds)
        if np.isfinite(mine).sum() < min_seeds:
            continue
        medians = {
            m: np.nanmedian(v) if np.isfinite(v).any() else np.nan
            for m in methods
            for v in [hv(runs, p, m, k, budget, seeds)]
        }
        rivals = [
            m for m in OPTUNA if m in methods and np.isfinite(hv(runs, p, m, k, budget, seeds)).sum() >= min_seeds
        ]
        if not rivals:
            continue
        best = max(rivals, key=lambda m: medians[m])
        theirs = hv(runs, p, best, k, budget, seeds)
        both = np.isfinite(mine) & np.isfinite(theirs)
        pval = mannwhitneyu(mine[np.isfinite(mine)], theirs[np.isfinite(theirs)], alternative="two-sided").pvalue
        ahead = medians[ours] >= medians[best]
        tally["counted"] += 1
        tally["at_or_above"] += int(ahead)
        tally["won"] += int((mine[both] > theirs[both]).sum())
        tally["lost"] += int((mine[both] < theirs[both]).sum())
        tally["tied"] += int((mine[both] == theirs[both]).sum())
        share = ""
        if PROBLEMS[p].n_con:
            shares = {m: feasible(runs, p, m, k, budget, seeds) for m in methods}
            share = " / ".join(f"{shares[m]:.2f}" if np.isfinite(shares[m]) else "-" for m in methods)
            tally["constrained"] += 1
            best_share = max(shares[m] for m in rivals)
            tally["feasible_ok"] += int(shares[ours] >= best_share - 1e-12)
        n = f"{int(np.isfinite(mine).sum())}/{int(np.isfinite(theirs).sum())}"
        counts = {m: int(np.isfinite(hv(runs, p, m, k, budget, seeds)).sum()) for m in methods}
        shown = [fmt(medians[m]) + (f" (n={counts[m]})" if 0 < counts[m] < min_seeds else "") for m in methods]
        cells = [p, n, *shown, short(best), f"{pval:.3g}", "yes" if ahead else "no"]
        lines.append("| " + " | ".join(cells) + f" | {share} |")
    return lines, tally


def sign_line(tally: dict[str, Any]) -> str:
    """The pooled sign test (ties dropped) and the tallies, as one line."""
    from scipy.stats import binomtest

    decided = tally["won"] + tally["lost"]
    p = binomtest(tally["won"], decided, 0.5).pvalue if decided else math.nan
    text = (
        f"{tally['ours']}'s median at or above the best optuna sampler's on {tally['at_or_above']} of"
        f" {tally['counted']} problems; pooled sign test, seed by seed against each problem's best optuna sampler:"
        f" ahead in {tally['won']}, behind in {tally['lost']} (ties {tally['tied']}), two-sided p = {p:.3g}"
    )
    if tally["constrained"]:
        text += (
            f"; feasible share at least every optuna sampler's on {tally['feasible_ok']} of"
            f" {tally['constrained']} constrained problems"
        )
    return text + "."


def report(
    runs: dict[str, Any],
    problems: list[str],
    ks: list[int],
    budgets: list[int],
    seeds: list[int],
    min_seeds: int,
    ours: str = OURS,
) -> tuple[list[str], list[str]]:
    """The Markdown tables per setting (those where `ours` has runs) and a summary row per setting."""
    from scipy.stats import binomtest

    body: list[str] = []
    summary = [
        f"| budget | in flight | problems | {ours} >= best optuna | sign test (ahead/behind) | p | feasible share ok |",
        "|---|---|---|---|---|---|---|",
    ]
    for budget in budgets:
        for k in ks:
            lines, tally = setting_table(runs, problems, k, budget, seeds, min_seeds, ours)
            if tally["counted"] == 0:
                continue
            where = "sequential" if k == 1 else f"{k} in flight"
            body += [f"\n#### budget {budget}, {where}\n", *lines, "", sign_line(tally)]
            decided = tally["won"] + tally["lost"]
            p = binomtest(tally["won"], decided, 0.5).pvalue if decided else math.nan
            ok = f"{tally['feasible_ok']}/{tally['constrained']}" if tally["constrained"] else "-"
            summary.append(
                f"| {budget} | {k} | {tally['counted']} | {tally['at_or_above']}/{tally['counted']} |"
                f" {tally['won']}/{tally['lost']} | {p:.3g} | {ok} |"
            )
    return body, summary


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=HERE / "results" / "multi_objective.json")
    parser.add_argument("--extra", type=Path, nargs="*", default=[HERE / "results" / "multi_objective_gp.json"])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--ks", nargs="+", type=int, default=[1, 8, 24])
    parser.add_argument("--budgets", nargs="+", type=int, default=[100, 200])
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds count, from --seed-from")
    parser.add_argument("--seed-from", type=int, default=0)
    parser.add_argument("--min-seeds", type=int, default=5, help="a method with fewer runs on a problem is left out")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "multi_objective.md")
    parser.add_argument(
        "--preamble",
        type=Path,
        default=HERE / "results" / "multi_objective_notes.md",
        help="Markdown before the tables",
    )
    parser.add_argument("--print", action="store_true", help="print instead of writing --out")
    parser.add_argument(
        "--variants",
        nargs="*",
        default=["parzen[multivariate=True]", "parzen[multivariate=False]"],
        help="parzen variants shown as diagnostics",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs = load_runs([args.results, *args.extra])
    seeds = list(range(args.seed_from, args.seed_from + args.seeds))
    body, summary = report(runs, args.problems, args.ks, args.budgets, seeds, args.min_seeds)
    head = [
        "## Several objectives: parzen against optuna 5's samplers (issue 25)",
        "",
        "Generated by `python benchmarks/multi_objective_report.py` from `benchmarks/results/multi_objective*.json`"
        f" (seeds {seeds[0]}-{seeds[-1]}; a method needs {args.min_seeds} seeds on a problem to count). Hypervolume of"
        " the feasible trials among the first `budget` asked, against the fixed reference point per problem (raw,"
        " not normalised; higher is better). 'seeds' is parzen's / the best optuna sampler's run count; a median"
        " over fewer seeds than that is marked (n=...) and not counted.",
    ]
    if args.preamble is not None and args.preamble.exists():
        head += ["", args.preamble.read_text().strip()]
    parts = [*head, "", "### parzen (defaults): summary per setting", "", *summary, *body]
    for variant in args.variants:
        v_body, v_summary = report(runs, args.problems, args.ks, args.budgets, seeds, args.min_seeds, variant)
        if len(v_summary) > 2:
            parts += ["", f"### Diagnostic, not the default: `{variant}` in parzen's place", "", *v_summary, *v_body]
    text = "\n".join(parts) + "\n"
    if args.print:
        print(text)
    else:
        args.out.write_text(text)
        print(f"wrote {args.out} ({len(text)} characters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
