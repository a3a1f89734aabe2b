"""Several objectives and constraints: parzen's multi-objective TPE against optuna 5's samplers.

    python benchmarks/multi_objective.py run                         # every problem, method, k; 10 seeds
    python benchmarks/multi_objective.py run --methods parzen "parzen[tie_break=none]" --ks 1 --seeds 3
    python benchmarks/multi_objective.py report                      # tables and tests from the results file

Every method gets the same budget (200 evaluations; the budget-100 figures are the first 100 trials asked
in the same runs, which is exactly a 100-evaluation run: nothing asked before trial 100 depends on the
budget). Runs go through one ask/tell loop with a simulated pool of k workers (k = 1: sequential): each
trial gets a random duration (log-normal, sigma 0.5, drawn per seed and trial number, the same for every
method), is told only when it finishes, and the freed slot is refilled at once; slots that free together
are filled by one batch ask. Methods:

* ``parzen[opt=value,...]``: ``tpe.suggest`` through ``parzen.Tuner`` (ask/tell): with several losses its
  split ranks finished trials by ``parzen.trial.pareto.goodness_order``; options are TPE's;
* ``optuna_tpe`` (optuna 5's default sampler for several objectives: TPESampler as it ships,
  constant_liar=True), ``optuna_nsga2`` (NSGAIISampler), ``optuna_gp`` (GPSampler, log-EHVI; needs torch);
  constraints through ``trial.set_constraint``;
* ``random``: prior draws.

Each run stores the hypervolume (against the problem's fixed reference point, feasible trials only) of the
first 25, 50, 75, 100, 150 and 200 trials asked, the feasible share of the first 100 and 200, and its wall
time. Results are cached per (problem, method, k, seed) in ``results/multi_objective.json``; the file is
rewritten after every run, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from mo_problems import PROBLEMS, MOProblem  # noqa: E402

DEFAULT_OUT = HERE / "results" / "multi_objective.json"
BUDGET = 200
CHECKPOINTS = (25, 50, 75, 100, 150, 200)
KS = (1, 8, 24)
OPTUNA = ("optuna_tpe", "optuna_nsga2", "optuna_gp")
METHODS = ("parzen", *OPTUNA, "random")


# --- methods: ask(n) -> list of (point, handle); tell(handle, f, g) --------------------------------------------


@dataclass
class ParzenMO:
    """parzen's TPE through its ask/tell interface (`parzen.Tuner`): the losses and constraints told as a result."""

    problem: MOProblem
    seed: int
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import functools

        from parzen import Tuner, tpe

        algo = functools.partial(tpe.suggest, **self.options) if self.options else tpe.suggest
        self.tuner = Tuner(self.problem.parzen_space(), algo=algo, rstate=np.random.default_rng(self.seed))

    def ask(self, n: int) -> list[tuple[dict[str, Any], int]]:
        return [(s.args, s.tid) for s in self.tuner.ask_many(n)]

    def tell(self, tid: int, f: list[float], g: list[float] | None) -> None:
        result: dict[str, Any] = {"loss": list(f), "status": "ok"}
        if g is not None:
            result["constraints"] = list(g)
        self.tuner.tell(tid, result)


@dataclass
class Random:
    """Prior draws (the same space as parzen's)."""

    problem: MOProblem
    seed: int

    def __post_init__(self) -> None:
        from parzen.space import compile_space

        self.space = compile_space(self.problem.parzen_space())
        self.rng = np.random.default_rng(self.seed)

    def ask(self, n: int) -> list[tuple[dict[str, Any], None]]:
        return [(self.space.eval(self.space.sample(self.rng)), None) for _ in range(n)]

    def tell(self, handle: None, f: list[float], g: list[float] | None) -> None:
        pass


@dataclass
class Optuna:
    """An optuna study driven by ask/tell; constraints through ``trial.set_constraint``."""

    problem: MOProblem
    seed: int
    sampler: str
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        make = {
            "optuna_tpe": optuna.samplers.TPESampler,
            "optuna_nsga2": optuna.samplers.NSGAIISampler,
            "optuna_gp": optuna.samplers.GPSampler,
        }[self.sampler]
        self.study = optuna.create_study(
            directions=["minimize"] * self.problem.n_obj, sampler=make(seed=self.seed, **self.options)
        )

    def ask(self, n: int) -> list[tuple[dict[str, Any], Any]]:
        out = []
        for _ in range(n):
            trial = self.study.ask()
            out.append((self.problem.optuna_suggest(trial), trial))
        return out

    def tell(self, trial: Any, f: list[float], g: list[float] | None) -> None:
        for j, value in enumerate(g or []):
            trial.set_constraint(f"c{j}", value)
        self.study.tell(trial, f)


def parse_method(name: str) -> tuple[str, dict[str, Any]]:
    """``parzen[tie_break=none,gamma=0.2]`` -> ("parzen", {"tie_break": "none", "gamma": 0.2})."""
    base, _, rest = name.partition("[")
    options: dict[str, Any] = {}
    for item in filter(None, rest.rstrip("]").split(",")):
        key, _, value = item.partition("=")
        options[key.strip()] = _literal(value.strip())
    if base not in METHODS:
        raise SystemExit(f"unknown method {name!r}; bases are {METHODS}")
    return base, options


def _literal(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(text, text)


def make_method(name: str, problem: MOProblem, seed: int) -> Any:
    base, options = parse_method(name)
    if base == "parzen":
        return ParzenMO(problem, seed, options)
    if base == "random":
        return Random(problem, seed)
    return Optuna(problem, seed, base, options)


# --- the simulated pool ---------------------------------------------------------------------------------------


def durations(seed: int, n: int) -> np.ndarray:
    """Each trial's duration: log-normal (sigma 0.5), by seed and trial number, the same for every method."""
    return np.random.default_rng([seed, 20250]).lognormal(0.0, 0.5, size=n)


def run_pool(method: Any, problem: MOProblem, seed: int, k: int, budget: int = BUDGET) -> dict[str, Any]:
    """Ask/tell with k slots: a trial is told when it finishes; free slots are filled by one batch ask.

    Returns the objectives and constraints in ask order, the wall time, and the trials in flight after
    each ask (trial numbers), from which `front_coverage` is computed.
    """
    took = durations(seed, budget)
    f_rows: list[list[float] | None] = [None] * budget
    g_rows: list[list[float] | None] = [None] * budget
    pending: list[tuple[float, int, Any]] = []  # (finish time, trial number, handle)
    handles: dict[int, Any] = {}
    asked, now = 0, 0.0
    in_flight: list[list[int]] = []
    start = time.perf_counter()
    while asked < budget or pending:
        free = min(k - len(pending), budget - asked)
        if free > 0:
            for point, handle in method.ask(free):
                f, g = problem.evaluate(point)
                f_rows[asked], g_rows[asked] = f, g
                handles[asked] = handle
                heapq.heappush(pending, (now + took[asked], asked, handle))
                asked += 1
            in_flight.append([number for _, number, _ in pending])
        now, number, handle = heapq.heappop(pending)
        method.tell(handle, f_rows[number], g_rows[number])  # type: ignore[arg-type]
    return {
        "f": np.asarray(f_rows, dtype=float),
        "g": None if problem.n_con == 0 else np.asarray(g_rows, dtype=float),
        "seconds": time.perf_counter() - start,
        "in_flight": in_flight,
    }


def front_coverage(f: np.ndarray, in_flight: list[list[int]], after: int = 50) -> float:
    """Mean number of tenths of the front (f1 in [0, 1] on ZDT) that the trials in flight fall in.

    Counted at every ask once `after` trials were asked, over the trials running then (their results, known
    afterwards). Trials bunched on one region of the front score 1; k trials spread evenly, min(k, 10).
    """
    counts = [
        len(np.unique(np.clip(np.floor(f[running, 0] * 10), 0, 9)))
        for running in in_flight
        if min(running) >= 0 and max(running) >= after
    ]
    return float(np.mean(counts)) if counts else math.nan


def summarise(problem: MOProblem, f: np.ndarray, g: np.ndarray | None) -> dict[str, Any]:
    """Hypervolume of the feasible trials among the first m asked, for each checkpoint m; feasible shares."""
    from parzen.trial.pareto import hypervolume

    feasible = np.ones(len(f), dtype=bool) if g is None else (g <= 0).all(axis=1)
    ref = np.asarray(problem.reference)
    hv = {str(m): hypervolume(f[:m][feasible[:m]], ref) for m in CHECKPOINTS if m <= len(f)}
    share = {str(m): float(feasible[:m].mean()) for m in (100, 200) if m <= len(f)}
    return {"hv": hv, "feasible": share}


def run_one(name: str, problem_name: str, seed: int, k: int, budget: int = BUDGET) -> dict[str, Any]:
    """One run's record (what is stored)."""
    problem = PROBLEMS[problem_name]
    out = run_pool(make_method(name, problem, seed), problem, seed, k, budget)
    record = {**summarise(problem, out["f"], out["g"]), "seconds": round(out["seconds"], 2)}
    if problem.family == "zdt" and k > 1:
        record["coverage"] = round(front_coverage(out["f"], out["in_flight"]), 3)
    return record


# --- results file ---------------------------------------------------------------------------------------------


def key(problem: str, method: str, k: int, seed: int) -> str:
    return f"{problem}|{method}|{k}|{seed}"


def load(path: Path) -> dict[str, Any]:
    if path.exists():
        return json.loads(path.read_text())
    return {"meta": {}, "runs": {}}


def save(path: Path, data: dict[str, Any]) -> None:
    from importlib import metadata

    path.parent.mkdir(parents=True, exist_ok=True)
    data["meta"] = {
        "budget": BUDGET,
        "checkpoints": CHECKPOINTS,
        "durations": "log-normal(0, 0.5) per seed and trial number",
        "references": {name: p.reference for name, p in PROBLEMS.items()},
        "versions": {n: metadata.version(n) for n in ("optuna", "numpy", "scipy", "scikit-learn")},
        "updated": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":"), sort_keys=True))
    tmp.replace(path)


def cmd_run(args: argparse.Namespace) -> int:
    data = load(args.out)
    todo = [
        (m, p, k, s)
        for p in args.problems
        for k in args.ks
        for m in args.methods
        for s in range(args.seed_from, args.seed_from + args.seeds)
        if args.force or key(p, m, k, s) not in data["runs"]
    ]
    print(f"{len(todo)} runs to do", flush=True)
    done = 0
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = {pool.submit(run_one, m, p, s, k, args.budget): (m, p, k, s) for m, p, k, s in todo}
        for future in as_completed(futures):
            m, p, k, s = futures[future]
            try:
                record = future.result()
            except Exception as exc:  # a crashed run is reported and skipped, the rest go on
                print(f"FAILED {p} {m} k={k} seed={s}: {exc!r}", flush=True)
                continue
            data["runs"][key(p, m, k, s)] = record
            save(args.out, data)
            done += 1
            final = record["hv"][str(args.budget)]
            print(
                f"[{done}/{len(todo)}] {p} {m} k={k} seed={s} hv{args.budget}={final:.5g} {record['seconds']}s",
                flush=True,
            )
    return 0


# --- analysis -------------------------------------------------------------------------------------------------


def values(data: dict[str, Any], problem: str, method: str, k: int, budget: int, seeds: range) -> np.ndarray:
    """Final hypervolumes (at `budget`) of the stored runs, NaN where missing."""
    out = []
    for s in seeds:
        run = data["runs"].get(key(problem, method, k, s))
        out.append(np.nan if run is None else run["hv"].get(str(budget), np.nan))
    return np.asarray(out)


def feasible_share(data: dict[str, Any], problem: str, method: str, k: int, budget: int, seeds: range) -> float:
    runs = [data["runs"].get(key(problem, method, k, s)) for s in seeds]
    shares = [run["feasible"][str(budget)] for run in runs if run is not None and str(budget) in run["feasible"]]
    return float(np.mean(shares)) if shares else math.nan


def compare(
    data: dict[str, Any],
    ours: str,
    theirs: list[str],
    problems: list[str],
    ks: list[int],
    budgets: list[int],
    seeds: range,
) -> list[str]:
    """Markdown tables: median hypervolume per method, Mann-Whitney p against each optuna sampler, sign tests."""
    from scipy.stats import binomtest, mannwhitneyu

    lines = []
    for budget in budgets:
        for k in ks:
            lines.append(f"\n### budget {budget}, {'sequential' if k == 1 else f'{k} in flight'}\n")
            header = "| problem | " + " | ".join([ours, *theirs]) + " | " + " | ".join(f"p vs {t}" for t in theirs)
            lines += [header + " | feasible share |", "|---" * (2 + 2 * len(theirs)) + "|---|"]
            wins = {t: [0, 0] for t in theirs}
            at_or_above_best = 0
            counted = 0
            for p in problems:
                mine = values(data, p, ours, k, budget, seeds)
                cells, pvals = [f"{np.nanmedian(mine):.5g}"], []
                best_other = -np.inf
                for t in theirs:
                    other = values(data, p, t, k, budget, seeds)
                    cells.append(f"{np.nanmedian(other):.5g}" if np.isfinite(other).any() else "-")
                    both = np.isfinite(mine) & np.isfinite(other)
                    if both.sum() >= 3 and t != "random":
                        best_other = max(best_other, float(np.nanmedian(other)))
                    if both.sum() >= 3:
                        test = mannwhitneyu(mine[both], other[both], alternative="two-sided")
                        pvals.append(f"{test.pvalue:.3g}")
                        wins[t][0] += int((mine[both] > other[both]).sum())
                        wins[t][1] += int((mine[both] != other[both]).sum())
                    else:
                        pvals.append("-")
                if np.isfinite(best_other) and np.isfinite(mine).any():
                    counted += 1
                    at_or_above_best += int(np.nanmedian(mine) >= best_other)
                share = ""
                if PROBLEMS[p].n_con:
                    share = " / ".join(f"{feasible_share(data, p, m, k, budget, seeds):.2f}" for m in [ours, *theirs])
                lines.append(f"| {p} | " + " | ".join(cells) + " | " + " | ".join(pvals) + f" | {share} |")
            lines.append(f"\nmedian at or above the best optuna sampler's: {at_or_above_best} of {counted} problems")
            for t in theirs:
                won, decided = wins[t]
                if decided:
                    p_sign = binomtest(won, decided, 0.5).pvalue
                    lines.append(
                        f"- seed by seed against {t}: ahead in {won} of {decided} (sign test p = {p_sign:.3g})"
                    )
    return lines


def mean_ranks(
    data: dict[str, Any], methods: list[str], problems: list[str], ks: list[int], budget: int, seeds: range
) -> dict[str, dict[str, float]]:
    """Per method and problem: its mean rank among `methods` (1 = best hypervolume), over ks and seeds.

    Only (problem, k, seed) cells where every method has a run count; ties share their mean rank.
    """
    from scipy.stats import rankdata

    out: dict[str, dict[str, float]] = {m: {} for m in methods}
    for p in problems:
        cells = []
        for k in ks:
            for s in seeds:
                runs = [data["runs"].get(key(p, m, k, s)) for m in methods]
                if all(run is not None and str(budget) in run["hv"] for run in runs):
                    cells.append(rankdata([-r["hv"][str(budget)] for r in runs]))  # type: ignore[index]
        if cells:
            mean = np.mean(cells, axis=0)
            for m, r in zip(methods, mean):
                out[m][p] = float(r)
    return out


def cross_validate(
    data: dict[str, Any], candidates: list[str], problems: list[str], ks: list[int], budget: int, seeds: range
) -> list[str]:
    """Leave one problem family out: pick the candidate with the best mean rank on the other families.

    Returns Markdown: each candidate's mean rank per family, and for each held-out family the candidate
    chosen without it and that candidate's rank on it (against the best possible choice).
    """
    ranks = mean_ranks(data, candidates, problems, ks, budget, seeds)
    families = sorted({PROBLEMS[p].family for p in problems})

    def family_rank(m: str, fams: list[str]) -> float:
        vals = [r for p, r in ranks[m].items() if PROBLEMS[p].family in fams]
        return float(np.mean(vals)) if vals else math.nan

    lines = ["| candidate | " + " | ".join(families) + " | all |", "|---" * (len(families) + 2) + "|"]
    for m in candidates:
        cells = [f"{family_rank(m, [f]):.2f}" for f in families] + [f"{family_rank(m, families):.2f}"]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += ["", "| held out | chosen on the others | its rank there | best there |", "|---|---|---|---|"]
    for f in families:
        others = [g for g in families if g != f]
        chosen = min(candidates, key=lambda m: family_rank(m, others))
        best = min(candidates, key=lambda m: family_rank(m, [f]))
        lines.append(f"| {f} | {chosen} | {family_rank(chosen, [f]):.2f} | {best} ({family_rank(best, [f]):.2f}) |")
    return lines


def cmd_table(args: argparse.Namespace) -> int:
    """Median hypervolume per method and problem, mean ranks, and the family cross-validation."""
    data = load(args.out)
    seeds = range(args.seed_from, args.seed_from + args.seeds)
    for budget in args.budgets:
        for k in args.ks:
            print(f"\n## budget {budget}, k = {k}: median hypervolume (mean rank among the methods listed)\n")
            ranks = mean_ranks(data, args.methods, args.problems, [k], budget, seeds)
            print("| method | " + " | ".join(args.problems) + " | mean rank |")
            print("|---" * (len(args.problems) + 2) + "|")
            for m in args.methods:
                cells = []
                for p in args.problems:
                    v = values(data, p, m, k, budget, seeds)
                    cells.append(
                        f"{np.nanmedian(v):.4g} ({ranks[m].get(p, math.nan):.1f})" if np.isfinite(v).any() else "-"
                    )
                mean = np.mean(list(ranks[m].values())) if ranks[m] else math.nan
                print(f"| {m} | " + " | ".join(cells) + f" | {mean:.2f} |")
        if args.candidates:
            print(f"\n## cross-validation over families, budget {budget}, ks {args.ks}\n")
            print("\n".join(cross_validate(data, args.candidates, args.problems, args.ks, budget, seeds)))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    data = load(args.out)
    seeds = range(args.seed_from, args.seed_from + args.seeds)
    lines = compare(data, args.ours, args.theirs, args.problems, args.ks, args.budgets, seeds)
    print("\n".join(lines))
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "report", "table"):
        p = sub.add_parser(name)
        p.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
        p.add_argument("--ks", nargs="+", type=int, default=list(KS))
        p.add_argument("--seeds", type=int, default=10)
        p.add_argument("--seed-from", type=int, default=0)
        p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    run = sub.choices["run"]
    run.add_argument("--methods", nargs="+", default=list(METHODS))
    run.add_argument("--workers", type=int, default=1)
    run.add_argument("--budget", type=int, default=BUDGET, help="a run of 100 stores the checkpoints up to 100")
    run.add_argument("--force", action="store_true")
    report = sub.choices["report"]
    report.add_argument("--ours", default="parzen")
    report.add_argument("--theirs", nargs="+", default=[*OPTUNA, "random"])
    report.add_argument("--budgets", nargs="+", type=int, default=[100, 200])
    table = sub.choices["table"]
    table.add_argument("--methods", nargs="+", default=list(METHODS))
    table.add_argument("--candidates", nargs="*", default=[])
    table.add_argument("--budgets", nargs="+", type=int, default=[200])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return {"run": cmd_run, "report": cmd_report, "table": cmd_table}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
