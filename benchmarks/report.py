"""Markdown report of the quality and speed results.

    python benchmarks/report.py                          # to stdout
    python benchmarks/report.py --out docs/benchmarks.md

Reads benchmarks/results/quality.json and speed.json (written by quality.py and speed.py), and,
when present, spark.json (spark_bench.py) and store_load.json (store_load.py); computes nothing
but statistics. Values are regrets (best value found minus the known optimum), except for svc
whose optimum is unknown (raw cross-validation error).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import report_suites
from problems import DECOY_ESCAPE, DISTRACTOR_TARGET, PROBLEMS
from runners import IN_FLIGHT_METHODS, MAIN_METHODS
from scipy import stats

HERE = Path(__file__).resolve().parent
COMMAND = "python benchmarks/run_all.py"
MAIN_TPE = ("parzen_tpe", "optuna_tpe", "hyperopt_tpe")  # the methods the in-flight table at the quality budget shows


# --- data -------------------------------------------------------------------------------------------------


class Results:
    """Best-so-far regret at checkpoints, indexed [problem][method][seed][n evaluations], for one budget."""

    def __init__(self, data: dict[str, Any], evals: int):
        self.evals = evals
        self.meta = data.get("meta", {})
        self.curves: dict[str, dict[str, dict[int, dict[int, float]]]] = defaultdict(lambda: defaultdict(dict))
        self.codes: dict[str, set] = defaultdict(set)
        for run in data.get("runs", {}).values():
            if run["evals"] != evals or run["problem"] not in PROBLEMS:
                continue
            problem = PROBLEMS[run["problem"]]
            at = {int(k): problem.regret(v) for k, v in run["best_at"].items()}
            self.curves[run["problem"]][run["method"]][run["seed"]] = at
            self.codes[run["method"]].add(run.get("code", "?"))
        self.seconds = _seconds(data, evals)

    def problems(self) -> list[str]:
        return [p for p in PROBLEMS if p in self.curves]

    def methods(self, problem: str | None = None) -> list[str]:
        """Methods with results (on `problem`, or anywhere), main ones first."""
        present = set(self.curves[problem]) if problem else {m for p in self.curves.values() for m in p}
        return ordered(present)

    def at(self, problem: str, method: str, n_evals: int) -> dict[int, float]:
        """seed -> best regret after `n_evals` evaluations."""
        return {seed: float(curve[n_evals]) for seed, curve in self.curves[problem][method].items()}


def _seconds(data: dict[str, Any], evals: int) -> dict[tuple[str, str], float]:
    """Mean wall seconds per run, by (problem, method)."""
    spent: dict[tuple[str, str], list[float]] = defaultdict(list)
    for run in data.get("runs", {}).values():
        if run["evals"] == evals:
            spent[run["problem"], run["method"]].append(run.get("seconds", math.nan))
    return {k: statistics.fmean(v) for k, v in spent.items()}


def ordered(methods: Iterable[str]) -> list[str]:
    """The main methods in their fixed order, then the @k variants, then the rest sorted."""
    methods = set(methods)
    fixed = [m for m in MAIN_METHODS + IN_FLIGHT_METHODS if m in methods]
    return fixed + sorted(methods - set(fixed))


# --- formatting -------------------------------------------------------------------------------------------


def num(x: float) -> str:
    """A compact number for a table cell."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.3g}"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (first column left-aligned, the others right-aligned)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def checkpoints(evals: int) -> list[int]:
    """Evaluation counts reported: a quarter, half and all of the budget (25/50/100 for 100)."""
    return sorted({max(1, evals // 4), max(1, evals // 2), evals})


# --- sections ---------------------------------------------------------------------------------------------


def problem_tables(res: Results) -> str:
    """Per problem: methods x median and mean best-so-far regret at the checkpoints."""
    points = checkpoints(res.evals)
    header = ["method", "seeds"] + [f"{s} @{n}" for n in points for s in ("median", "mean")] + ["s/run"]
    parts = ["## Best value found, per problem", ""]
    parts.append(
        "Regret of the best value found after n evaluations (value minus the known optimum; raw CV error "
        "for svc), over seeds; lower is better. s/run: mean wall time of a whole run, objective included."
    )
    for problem in res.problems():
        rows = []
        for method in res.methods(problem):
            cells = [method, str(len(res.curves[problem][method]))]
            for n in points:
                values = list(res.at(problem, method, n).values())
                cells += [num(float(np.median(values))), num(float(np.mean(values)))]
            rows.append(cells + [num(res.seconds.get((problem, method), math.nan))])
        spec = PROBLEMS[problem]
        optimum = "unknown" if spec.optimum is None else f"{spec.optimum:g}"
        parts += ["", f"### {problem}", "", f"{spec.description}; optimum {optimum}.", "", table(header, rows)]
    return "\n".join(parts)


SUITE_EXCLUDES = ("decoy", "distractor")  # the deceptive problems are judged by their success rates, not in the rank


def rank_table(res: Results) -> str:
    """Average rank at the full budget: per seed across methods, then over seeds, then over problems."""
    methods = [m for m in MAIN_METHODS if all(m in res.curves[p] for p in res.problems())]
    if len(methods) < 2:
        return "## Average rank\n\nNeeds at least two of the main methods run on every problem."
    per_problem = {p: _mean_ranks(res, p, methods) for p in res.problems()}
    suite = [p for p in per_problem if p not in SUITE_EXCLUDES]
    overall = {m: statistics.fmean(per_problem[p][m] for p in suite) for m in methods}
    rows = [
        [m, num(overall[m])] + [num(per_problem[p][m]) for p in per_problem] for m in sorted(methods, key=overall.get)
    ]
    text = (
        f"## Average rank after {res.evals} evaluations\n\n"
        "For each problem and seed, the six main methods are ranked by best regret (1 = best, ties share the "
        "mean rank); ranks are averaged over the seeds, then over the seven problems of the suite (column "
        f"*mean*; {', '.join(SUITE_EXCLUDES)} is shown but not in the mean: it is judged by its escape rate)."
    )
    return text + "\n\n" + table(["method", "mean"] + list(per_problem), rows)


def ablation_table(res: Results) -> str:
    """Each measured variant of parzen's TPE ranked in place of the default, against the same rivals."""
    variants = [m for m in res.methods() if m.startswith("parzen_tpe[") and "@" not in m]
    rivals = [m for m in MAIN_METHODS if m != "parzen_tpe"]
    problems = [p for p in res.problems() if p not in SUITE_EXCLUDES]
    rows = []
    for method in ["parzen_tpe"] + variants:
        if not all(method in res.curves[p] and all(r in res.curves[p] for r in rivals) for p in problems):
            continue
        ranks = [_mean_ranks(res, p, [method] + rivals) for p in problems]
        escape = _escape_rate(res, method) if "decoy" in res.curves else math.nan
        rows.append(
            [
                method,
                num(statistics.fmean(r[method] for r in ranks)),
                num(statistics.fmean(r["optuna_tpe"] for r in ranks)),
                f"{escape:.0%}",
            ]
        )
    text = (
        "## TPE configurations measured\n\n"
        "How the default was chosen: each configuration of parzen's TPE takes parzen_tpe's place among the "
        "six main methods; *rank* is its average rank over the seven problems (as above), *optuna* is "
        "optuna_tpe's rank in that same ranking, *decoy* the share of seeds escaping the decoy. Options not "
        "named keep their defaults (see `DEFAULTS` in src/parzen/algorithms/tpe.py); "
        "`split=sqrt,gamma=0.25,n_startup_jobs=20,branch_floor=0,below_shrink=1.0,prior_weight=1.0` "
        "would be hyperopt's configuration."
    )
    return text + "\n\n" + table(["configuration", "rank", "optuna", "decoy"], rows)


def _escape_rate(res: Results, method: str) -> float:
    finals = res.at("decoy", method, res.evals)
    return float(np.mean([v < DECOY_ESCAPE for v in finals.values()])) if finals else math.nan


def _mean_ranks(res: Results, problem: str, methods: list[str]) -> dict[str, float]:
    """Mean over common seeds of each method's rank among `methods` on `problem`."""
    finals = {m: res.at(problem, m, res.evals) for m in methods}
    seeds = sorted(set.intersection(*(set(f) for f in finals.values())))
    if not seeds:
        return {m: math.nan for m in methods}
    ranks = np.array([stats.rankdata([finals[m][s] for m in methods]) for s in seeds])
    return dict(zip(methods, ranks.mean(axis=0).tolist(), strict=True))


def mann_whitney_table(res: Results, a: str = "hyperopt_tpe", b: str = "parzen_tpe") -> str:
    """One-sided Mann-Whitney U per problem: is `a`'s final regret stochastically smaller than `b`'s?"""
    rows = []
    for problem in res.problems():
        if a not in res.curves[problem] or b not in res.curves[problem]:
            continue
        xa = list(res.at(problem, a, res.evals).values())
        xb = list(res.at(problem, b, res.evals).values())
        p_less = stats.mannwhitneyu(xa, xb, alternative="less").pvalue
        p_more = stats.mannwhitneyu(xb, xa, alternative="less").pvalue
        flag = "**yes**" if p_less < 0.05 else "no"
        rows.append([problem, f"{len(xa)}/{len(xb)}", num(np.median(xa)), num(np.median(xb))])
        rows[-1] += [f"{p_less:.3g}", flag, f"{p_more:.3g}"]
    if not rows:
        return f"## {a} vs {b}\n\nNo problem has results for both."
    header = ["problem", "seeds", f"median {a}", f"median {b}", f"p ({a} < {b})", "p < 0.05", f"p ({b} < {a})"]
    text = (
        f"## Is {a} better than {b}? (Mann–Whitney U)\n\n"
        f"One-sided test (scipy.stats.mannwhitneyu, alternative='less') on the final regret after {res.evals} "
        f"evaluations: a small p in the first p column means {a} finds better values than {b} on that "
        f"problem (flagged when p < 0.05). The last column is the opposite one-sided test, for reference."
    )
    return text + "\n\n" + table(header, rows)


def decoy_table(res: Results) -> str:
    """Share of seeds whose best value on decoy is below the decoy branch's minimum."""
    if "decoy" not in res.curves:
        return "## Decoy escape rates\n\nNo decoy results."
    points = checkpoints(res.evals)[1:]
    rows = []
    for method in res.methods("decoy"):
        cells = [method, str(len(res.curves["decoy"][method]))]
        for n in points:
            values = np.array(list(res.at("decoy", method, n).values()))
            cells.append(f"{100 * np.mean(values < DECOY_ESCAPE):.0f}%")
        rows.append(cells)
    text = (
        "## Decoy: escape rates\n\n"
        f"Share of seeds whose best value is below {DECOY_ESCAPE} (the minimum of the easy decoy branch), i.e. "
        "that found the narrow basin of the hidden branch."
    )
    return text + "\n\n" + table(["method", "seeds"] + [f"escaped @{n}" for n in points], rows)


def distractor_table(res: Results) -> str:
    """Share of seeds reaching hyperopt's distractor target (the narrow spike, not the asymptote)."""
    if "distractor" not in res.curves:
        return "## Distractor\n\nNo distractor results."
    rows = []
    for method in res.methods("distractor"):
        values = np.array(list(res.at("distractor", method, res.evals).values()))
        rows.append(
            [
                method,
                str(len(values)),
                f"{100 * np.mean(values + PROBLEMS['distractor'].optimum < DISTRACTOR_TARGET):.0f}%",
            ]
        )
    text = (
        "## Distractor (hyperopt's tests): found the spike\n\n"
        f"hyperopt's `distractor` domain (x in [-15, 15]; a spike of depth 2 at x = -10 beside an asymptote of -1 "
        f"as x grows): share of seeds whose best loss is below {DISTRACTOR_TARGET}, hyperopt's own test threshold, "
        f"after {res.evals} evaluations."
    )
    return text + "\n\n" + table(["method", "seeds", "found"], rows)


def in_flight_table(res: Results) -> str:
    """Sequential vs k-in-flight median final regret of the main methods, one row per (problem, method)."""
    ks = sorted({int(m.split("@")[1]) for m in res.methods() if "@" in m})
    bases = [b for b in MAIN_TPE if b in res.methods() and any(f"{b}@{k}" in res.methods() for k in ks)]
    if not bases:
        return "## Trials in flight at the quality suite's budget\n\nNo @k results."
    header = ["problem", "method", "sequential"]
    for k in ks:
        header += [f"@{k}", "ratio"]
    rows = []
    for problem in res.problems():
        for base in bases:
            cells = [_flight_cells(res, problem, base, f"{base}@{k}") for k in ks]
            if all(c[1] == "—" for c in cells):
                continue
            seq = next((c[0] for c in cells if c[0] != "—"), "—")
            rows.append([problem, base, seq] + [v for c in cells for v in c[1:]])
    text = (
        f"## Trials in flight at the quality suite's budget ({res.evals} evaluations)\n\n"
        f"Median final regret after {res.evals} evaluations over the quality suite's seeds, sequential vs "
        "asynchronous with k trials asked but not yet told (a new suggestion is made each time the oldest pending "
        "trial is told). ratio = in-flight / sequential (> 1: in-flight is worse). The 200-evaluation comparison "
        "against optuna's two liar settings is the section *Trials in flight: k = 1, 8, 24, 64* above."
    )
    return text + "\n\n" + table(header, rows)


def _flight_cells(res: Results, problem: str, base: str, flight: str) -> list[str]:
    curves = res.curves[problem]
    if base not in curves or flight not in curves:
        return ["—", "—", "—"]
    seq = float(np.median(list(res.at(problem, base, res.evals).values())))
    par = float(np.median(list(res.at(problem, flight, res.evals).values())))
    ratio = par / seq if seq > 0 else math.nan
    return [num(seq), num(par), num(ratio)]


def speed_table(speed: dict[str, Any] | None) -> str:
    """Median ms per suggestion by library and history size."""
    if not speed:
        return "## Speed\n\nNo speed results."
    cells = {(c["library"], c["history"]): c["median_ms"] for c in speed["cells"]}
    libraries = ordered_unique(c["library"] for c in speed["cells"])
    sizes = sorted({c["history"] for c in speed["cells"]})
    rows = []
    for library in libraries:
        row = [library]
        for n in sizes:
            ms, base = cells.get((library, n)), cells.get(("parzen", n))
            extra = f" ({ms / base:.1f}×)" if ms and base and library != "parzen" else ""
            row.append("—" if ms is None else f"{ms:.1f}{extra}")
        rows.append(row)
    text = (
        f"## Speed: milliseconds per TPE suggestion\n\n"
        f"Median of {speed['repeats']} timed suggestions on a {speed['dim']}-D continuous space (hp.uniform on "
        "[0, 1], sphere objective) with n finished random-search trials already in the history; "
        "(k×) = k times parzen's time. parzen: one tpe.suggest call; hyperopt: one tpe.suggest call; optuna: "
        "study.ask() plus the 10 suggest_float calls (TPESampler defaults)."
    )
    return text + "\n\n" + table(["library"] + [f"n = {n}" for n in sizes], rows)


def ordered_unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def header(res: Results, speed: dict[str, Any] | None) -> str:
    """Title, how to regenerate, environment and the list of problems."""
    meta = res.meta or (speed or {}).get("meta", {})
    versions = ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())
    seeds = max((len(s) for p in res.curves.values() for s in p.values()), default=0)
    lines = [
        "# Benchmarks: parzen vs hyperopt vs optuna",
        "",
        f"Regenerate everything (from the repository root, with `pip install -e '.[bench]'`): `{COMMAND}` "
        "(quality runs already in benchmarks/results/quality.json are reused; add `--force` to recompute).",
        "",
        f"Up to {seeds} seeds per (problem, method), {res.evals} evaluations per run, one process, one "
        f"evaluation at a time. Environment: {versions}; Python {meta.get('python', '?')}, "
        f"{meta.get('cpus', '?')} CPUs, {meta.get('platform', '?')}; results updated {meta.get('updated', '?')}.",
    ]
    lines += _code_note(res)
    return "\n".join(lines)


def _code_note(res: Results) -> list[str]:
    """Warn when runs of one parzen method come from different versions of parzen's source."""
    mixed = [m for m, codes in res.codes.items() if m.startswith("parzen") and len(codes) > 1]
    if not mixed:
        return []
    return ["", f"**Warning:** runs of {', '.join(mixed)} come from different parzen sources; rerun with --force."]


def spark_section(spark: dict[str, Any] | None) -> str:
    """SparkTrials throughput against hyperopt and the raw-Spark floor (spark_bench.py)."""
    if not spark:
        return "## SparkTrials throughput\n\nNo Spark results (run benchmarks/spark_bench.py)."
    from spark_bench import markdown

    return "\n\n".join(
        [
            "## SparkTrials throughput",
            "parzen's and hyperopt's SparkTrials in one process and one local-mode session, with the raw-Spark "
            "floor (P driver threads running single-task jobs back to back, nothing else) as the reference. "
            "Slot utilisation = time inside the objective / (P x wall time); medians of 3 interleaved repeats "
            "after a warm-up. hyperopt's trivial-objective figure is from 32 trials (it manages about one per "
            "second). Regenerate: `python benchmarks/spark_bench.py --master 'local[4]' --cancel` and "
            "`python benchmarks/spark_bench.py --master 'local[16]' --scenarios p16_one`.",
            markdown(spark),
        ]
    )


def guard_section(guard: dict[str, Any] | None) -> str:
    """The speed guard's recorded ratios (bench_quick.py --record)."""
    if not guard:
        return "## Speed guard\n\nNo recorded run (run `python benchmarks/bench_quick.py --record`)."
    rows = [
        [name, f"{r['median']:.2f}", f"{r['first']:.2f}", f"{r['low']:.2f}-{r['high']:.2f}"]
        for name, r in guard["ratios"].items()
    ]
    return "\n\n".join(
        [
            "## Speed guard",
            f"`make bench-quick` (benchmarks/bench_quick.py), recorded {guard['when']}, {guard['repeats']} repeats "
            "per leg, each leg in a fresh process. Spark ratios are parzen / the raw-Spark floor of the same "
            "session, measured in alternation (above 1: parzen keeps slots busier than P threads of bare "
            "single-task jobs): `local` is `local[4]` with P = 4 (TPE; utilisation with 32 trials of 0.5 s, "
            "rate with 100 trivial trials), `standalone` a master and two 8-core workers on 127.0.0.1 with the "
            "driver under spark-submit, P = 16, 48 trials of 1 s (random search). The TPE rows are "
            "milliseconds per trial through each library's own loop at 1,000 trials of history (10-D, "
            "sphere), and hyperopt's and optuna's time as a multiple of parzen's. *first* is the first "
            "repeat: a fresh process's first run, so what a run pays once per process or session is in it. "
            "The guard flags a ratio whose median moves by more than the larger spread.",
            table(["ratio", "median", "first run", "spread (repeats)"], rows),
        ]
    )


def store_section(load: dict[str, Any] | None) -> str:
    """10,000 trials with the store on (store_load.py)."""
    if not load:
        return "## Store under load\n\nNo results (run benchmarks/store_load.py)."
    rows = []
    for entry in load.values():
        at = ", ".join(f"{k}: {v:.1f}" for k, v in entry["ms_per_suggestion_at"].items())
        rows.append(
            [
                entry["algorithm"],
                f"{entry['trials']:,}",
                f"{entry['wall_s']:.0f}",
                f"{entry['store_mb']:.1f}",
                f"{entry['store_bytes_per_trial']:.0f}",
                f"{entry['peak_rss_mb']:.0f}",
                at,
            ]
        )
    header = ["algorithm", "trials", "wall s", "store MB", "bytes/trial", "peak RSS MB", "ms per suggestion at n"]
    return "\n\n".join(
        [
            "## Store under load",
            "A trivial objective (4 parameters: uniform, log-uniform, quantised, choice), every trial committed "
            "to SQLite twice (creation, completion). Peak RSS is the whole driver process. Regenerate: "
            "`python benchmarks/store_load.py --trials 10000`.",
            table(header, rows),
        ]
    )


def render(
    res: Results, speed: dict[str, Any] | None, spark=None, load=None, suites: dict | None = None, guard=None
) -> str:
    """The whole report."""
    suites = suites or {}
    sections = [
        header(res, speed),
        report_suites.bbob_section(suites.get("bbob"), suites.get("quality")),
        rank_table(res),
        ablation_table(res),
        mann_whitney_table(res),
        decoy_table(res),
        distractor_table(res),
        report_suites.in_flight_section(suites.get("in_flight")),
        report_suites.in_flight_auto_section(suites.get("in_flight")),
        report_suites.in_flight_ablation(suites.get("in_flight")),
        report_suites.driver_section(suites.get("driver")),
        in_flight_table(res),
        speed_table(speed),
        guard_section(guard),
        spark_section(spark),
        store_section(load),
        problem_tables(res),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quality", type=Path, default=HERE / "results" / "quality.json")
    parser.add_argument("--speed", type=Path, default=HERE / "results" / "speed.json")
    parser.add_argument("--spark", type=Path, default=HERE / "results" / "spark.json")
    parser.add_argument("--store-load", type=Path, default=HERE / "results" / "store_load.json")
    parser.add_argument("--bbob", type=Path, default=HERE / "results" / "bbob.json")
    parser.add_argument("--in-flight", type=Path, default=HERE / "results" / "in_flight.json")
    parser.add_argument("--driver", type=Path, default=HERE / "results" / "driver.json")
    parser.add_argument("--pruning", type=Path, default=HERE / "results" / "pruning.json")
    parser.add_argument("--bench-quick", type=Path, default=HERE / "results" / "bench_quick.json")
    parser.add_argument("--evals", type=int, default=100, help="report the runs of this many evaluations")
    parser.add_argument("--out", type=Path, help="Markdown file (default: stdout)")
    return parser.parse_args(argv)


def _read(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def _pruning_section(path: Path) -> str:
    """benchmarks/pruning.py's own Markdown for its results, when they exist."""
    if not path.exists():
        return ""
    import pruning

    return "\n" + pruning.render(json.loads(path.read_text())).rstrip("\n") + "\n"


GENERATED = ("multi_objective.md", "multi_objective_cv.md", "mo_pruning.md", "portfolio.md")
"""Sections other scripts write as Markdown (multi_objective_report.py, mo_pruning.py, portfolio_md.py)."""


def _generated_sections(folder: Path) -> str:
    """Those sections, when they exist, each opening at the report's second heading level."""
    parts = []
    for name in GENERATED:
        path = folder / name
        if path.exists():
            text = path.read_text().strip("\n")
            depth = min(len(line) - len(line.lstrip("#")) for line in text.splitlines() if line.startswith("#"))
            shift = 2 - depth
            lines = [("#" * shift + line) if line.startswith("#") and shift > 0 else line for line in text.splitlines()]
            parts.append("\n".join(lines))
    return "".join("\n" + part + "\n" for part in parts)


def main(argv: list[str] | None = None) -> int:
    """Read the JSON results and write the Markdown report."""
    args = parse_args(argv)
    quality = json.loads(args.quality.read_text()) if args.quality.exists() else {}
    speed = json.loads(args.speed.read_text()) if args.speed.exists() else None
    extra = [json.loads(p.read_text()) if p.exists() else None for p in (args.spark, args.store_load)]
    suites = {
        name: _read(path)
        for name, path in (("bbob", args.bbob), ("in_flight", args.in_flight), ("driver", args.driver))
    }
    suites["quality"] = quality
    guard = _read(args.bench_quick)
    text = render(Results(quality, args.evals), speed, *extra, suites=suites, guard=guard)
    text += _pruning_section(args.pruning)
    text += _generated_sections(HERE / "results")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
