"""Markdown for the broad suites: BBOB ranks and sign tests, the ablation with bootstrap intervals, the
cross-validation over function groups, trials in flight (k = 1, 8, 24, 64) and the simulated big cluster.

Plain functions of the JSON results (bbob.json, in_flight.json, driver.json, quality.json); report.py calls
them. Nothing here runs an optimiser.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from bbob import BUDGETS, CANDIDATES, GROUPS, RIVALS, BBOBResults, bootstrap_ci, cross_validate
from in_flight import KS, OPTUNA, PARZEN
from problems import DECOY_ESCAPE, DISTRACTOR_TARGET, PROBLEMS
from quality import final_best
from scipy import stats

DIMS = (2, 5, 10, 20)
HEADLINE_DIMS = (2, 5, 10)
HEADLINE_BUDGET = 100


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _rank(ranks: dict[str, float], method: str) -> str:
    return f"{ranks[method]:.2f}" if method in ranks else "— (not run)"


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


# --- BBOB -------------------------------------------------------------------------------------------------


def bbob_rank_table(data: dict[str, Any]) -> str:
    """Mean rank of the four methods per dimension and budget, with parzen vs optuna head to head."""
    methods = ["parzen_tpe", *RIVALS]
    rows = []
    for budget in BUDGETS[1:]:
        res = BBOBResults(data, budget)
        for d in DIMS:
            present = [m for m in methods if res.cells([m, "parzen_tpe"], [d])]
            cells = res.cells(present, [d])
            if "optuna_tpe" not in present or not cells:
                continue
            ranks = res.mean_rank(present, cells)
            w, lost, t, p = res.head_to_head("parzen_tpe", "optuna_tpe", cells)
            rows.append([f"{d}", f"{budget}", str(len(cells))] + [_rank(ranks, m) for m in methods])
            rows[-1] += [f"{w}–{lost}" + (f" ({t} tied)" if t else ""), _p(p)]
        cells = res.cells(["parzen_tpe", "optuna_tpe"], HEADLINE_DIMS)
        if cells:
            w, lost, t, p = res.head_to_head("parzen_tpe", "optuna_tpe", cells)
            rows.append(["2+5+10", f"{budget}", str(len(cells))] + ["" for _ in methods])
            rows[-1] += [f"**{w}–{lost}**", f"**{_p(p)}**"]
    header = ["d", "evals", "runs", *methods, "parzen vs optuna (wins–losses)", "sign test p"]
    text = (
        "## BBOB: mean rank per dimension and budget\n\n"
        "COCO's `bbob` suite (cocoex): all 24 noiseless functions on [-5, 5]^d, each instance one run per "
        "method (instances 1-5 at d = 2, 5, 10; 1-3 at d = 20). For each run the four methods are ranked by "
        "best regret (1 = best; ties share the mean rank); ranks are averaged over the instances of a "
        "function, then over the 24 functions. The head-to-head column counts runs where parzen's TPE "
        "ended strictly better / worse than optuna's default TPE; the two-sided sign test asks whether "
        "that split could be a coin's. Rows *2+5+10* pool the three dimensions for the head to head. A method "
        "marked *not run* has no results in that dimension yet and is left out of that row's ranks. Regenerate: "
        "`python benchmarks/bbob.py`."
    )
    return text + "\n\n" + _table(header, rows) if rows else "## BBOB\n\nNo BBOB results."


def bbob_group_table(data: dict[str, Any], budget: int = HEADLINE_BUDGET) -> str:
    """Mean rank by function group (d = 2, 5, 10 pooled)."""
    res = BBOBResults(data, budget)
    methods = ["parzen_tpe", *RIVALS]
    rows = []
    for group, fs in GROUPS.items():
        cells = res.cells(methods, HEADLINE_DIMS, fs)
        if not cells:
            continue
        ranks = res.mean_rank(methods, cells)
        w, lost, _, p = res.head_to_head("parzen_tpe", "optuna_tpe", cells)
        rows.append(
            [group, f"f{fs.start}–f{fs.stop - 1}"] + [f"{ranks[m]:.2f}" for m in methods] + [f"{w}–{lost}", _p(p)]
        )
    header = ["group", "functions", *methods, "parzen vs optuna", "p"]
    return f"### By function group ({budget} evaluations, d = 2, 5, 10)\n\n" + _table(header, rows)


def ablation_table(data: dict[str, Any], quality: dict[str, Any] | None, budget: int = HEADLINE_BUDGET) -> str:
    """Each configuration ranked in parzen_tpe's place (bootstrap CI), head to head with the default."""
    res = BBOBResults(data, budget)
    rng = np.random.default_rng(0)
    rows = []
    for method in CANDIDATES:
        cells = res.cells([method, "parzen_tpe", *RIVALS], HEADLINE_DIMS)
        if not cells:
            continue
        per_cell = res.ranks([method, *RIVALS], cells)[:, 0]
        lo, hi = bootstrap_ci(per_cell, rng)
        w, lost, _, p = res.head_to_head(method, "optuna_tpe", cells)
        row = [f"`{method}`", str(len(cells)), f"{per_cell.mean():.2f} [{lo:.2f}, {hi:.2f}]", f"{w}–{lost}", _p(p)]
        if method != "parzen_tpe":
            w, lost, _, p = res.head_to_head(method, "parzen_tpe", cells)
            row += [f"{w}–{lost}", _p(p)]
        else:
            row += ["—", "—"]
        rows.append(row + _quality_cells(quality, method))
    header = ["configuration", "runs", "BBOB rank [95% CI]", "vs optuna", "p", "vs default", "p"]
    header += ["decoy escaped", "distractor found", "conditional median"]
    text = (
        "## Ablation: each change against the default\n\n"
        f"BBOB d = 2, 5, 10 pooled at {budget} evaluations: *BBOB rank* is the configuration's mean rank when "
        "it takes parzen_tpe's place among the four methods, with a 95% percentile-bootstrap interval over "
        "the runs (function x dimension x instance); *vs optuna* and *vs default* count strict wins–losses "
        "run by run, with the two-sided sign test's p. The last three columns come from quality.json "
        f"(30 seeds, 100 evaluations): share of seeds escaping the decoy (best < {DECOY_ESCAPE}), share "
        f"reaching hyperopt's distractor target ({DISTRACTOR_TARGET}), and the conditional problem's median "
        "regret."
    )
    return text + "\n\n" + _table(header, rows)


def _quality_cells(quality: dict[str, Any] | None, method: str) -> list[str]:
    """Decoy escape rate, distractor success rate and conditional median from quality.json runs."""
    finals: dict[str, list[float]] = {"decoy": [], "distractor": [], "conditional": []}
    for run in (quality or {}).get("runs", {}).values():
        if run["method"] == method and run["evals"] == 100 and run["problem"] in finals:
            finals[run["problem"]].append(final_best(run))
    cells = []
    if finals["decoy"]:
        cells.append(f"{np.mean(np.array(finals['decoy']) < DECOY_ESCAPE):.0%} of {len(finals['decoy'])}")
    else:
        cells.append("—")
    if finals["distractor"]:
        hits = np.array(finals["distractor"]) < DISTRACTOR_TARGET
        cells.append(f"{hits.mean():.0%} of {len(hits)}")
    else:
        cells.append("—")
    cond = finals["conditional"]
    cells.append(f"{np.median(cond):.3g}" if cond else "—")
    return cells


def cv_table(data: dict[str, Any], budget: int = HEADLINE_BUDGET) -> str:
    """Leave-one-group-out: the configuration chosen on four groups, judged on the fifth."""
    res = BBOBResults(data, budget)
    candidates = [m for m in CANDIDATES if res.cells([m], HEADLINE_DIMS)]
    if len(candidates) < 2:
        return "### Cross-validation over function groups\n\nNeeds at least two configurations."
    rows = []
    for row in cross_validate(res, candidates, list(RIVALS), list(HEADLINE_DIMS)):
        ranks = row["ranks"]
        rows.append(
            [row["held_out"], f"`{row['pick']}`", f"{ranks[row['pick']]:.2f}", f"{row['default']:.2f}"]
            + [f"{ranks[m]:.2f}" for m in RIVALS]
        )
    header = ["held-out group", "picked on the other four", "its rank on the held-out group", "parzen_tpe"]
    header += list(RIVALS)
    text = (
        "### Cross-validation over function groups\n\n"
        "How well does choosing the defaults on a benchmark generalise? For each BBOB group in turn, the "
        "configuration with the best mean rank on the other four groups (d = 2, 5, 10, "
        f"{budget} evaluations) is picked among those of the ablation table, then ranked on the held-out "
        "group, which played no part in picking it."
    )
    return text + "\n\n" + _table(header, rows)


def bbob_section(data: dict[str, Any] | None, quality: dict[str, Any] | None) -> str:
    if not data or not data.get("runs"):
        return "## BBOB\n\nNo results (run benchmarks/bbob.py)."
    return "\n\n".join([bbob_rank_table(data), bbob_group_table(data), cv_table(data), ablation_table(data, quality)])


# --- trials in flight -------------------------------------------------------------------------------------


def _finals(data: dict[str, Any], evals: int) -> dict[tuple[str, str], list[float]]:
    out: dict[tuple[str, str], list[float]] = {}
    for run in data.get("runs", {}).values():
        if run["evals"] == evals and run["problem"] in PROBLEMS:
            out.setdefault((run["problem"], run["method"]), []).append(PROBLEMS[run["problem"]].regret(final_best(run)))
    return out


def in_flight_section(data: dict[str, Any] | None, evals: int = 200) -> str:
    """Median regret per problem and k: parzen vs optuna with and without its constant liar."""
    if not data or not data.get("runs"):
        return "## Trials in flight\n\nNo results (run benchmarks/in_flight.py)."
    finals = _finals(data, evals)
    by_seed = _seed_finals(data, evals)
    problems = [p for p in PROBLEMS if any(key[0] == p for key in finals)]
    rows, score, duels = [], {}, {}
    for k in KS:
        wins = total = 0
        for problem in problems:
            names = {base: _flight_name(base, k) for base in (PARZEN, *OPTUNA)}
            med = {
                base: float(np.median(finals[problem, n])) if finals.get((problem, n)) else math.nan
                for base, n in names.items()
            }
            if any(math.isnan(v) for v in med.values()):
                continue
            for o in OPTUNA:
                duels[k, o] = _add(duels.get((k, o), (0, 0)), _duel(by_seed, problem, names[PARZEN], names[o]))
            win = med[PARZEN] <= min(med[o] for o in OPTUNA)
            wins, total = wins + win, total + 1
            mark = "**" if win else ""
            seeds = len(finals[problem, names[PARZEN]])
            rows.append(
                [f"{k}", problem, str(seeds), f"{mark}{med[PARZEN]:.3g}{mark}"] + [f"{med[o]:.3g}" for o in OPTUNA]
            )
        score[k] = (wins, total)
    header = [
        "k",
        "problem",
        "seeds",
        "parzen_tpe",
        "optuna TPE (constant_liar=True, optuna 5's default)",
        "constant_liar=False",
    ]
    summary = ", ".join(f"k = {k}: {w} of {t}" for k, (w, t) in score.items() if t)
    duel_text = "; ".join(
        f"k = {k}: " + ", ".join(f"{duels[k, o][0]}–{duels[k, o][1]} against {o}" for o in OPTUNA if (k, o) in duels)
        for k in KS
        if any((k, o) in duels for o in OPTUNA)
    )
    text = (
        "## Trials in flight: k = 1, 8, 24, 64\n\n"
        f"Median final regret after {evals} evaluations over the seeds, with k suggestions asked and not yet "
        "told (the oldest is told, then a new one asked). Bold: parzen at or below the better of optuna's "
        f"two settings. parzen at or below both, per k: {summary}. Run by run (same problem and seed, strict "
        f"wins–losses of parzen): {duel_text}. Regenerate: `python benchmarks/in_flight.py`."
    )
    return text + "\n\n" + _table(header, rows)


def in_flight_auto_section(data: dict[str, Any] | None, evals: int = 200, auto: str = "parzen_auto") -> str:
    """parzen's `auto` in flight beside parzen_tpe and optuna's two settings (the problems auto ran)."""
    if not data or not data.get("runs"):
        return ""
    finals = _finals(data, evals)
    by_seed = _seed_finals(data, evals)
    rows, score, duels = [], {}, {}
    for k in (8, 24):
        names = {base: _flight_name(base, k) for base in (auto, PARZEN, *OPTUNA)}
        wins = total = 0
        for problem in [p for p in PROBLEMS if finals.get((p, names[auto]))]:
            med = {b: float(np.median(finals.get((problem, n)) or [math.nan])) for b, n in names.items()}
            if any(math.isnan(v) for v in med.values()):
                continue
            for rival in (PARZEN, *OPTUNA):
                duel = _duel(by_seed, problem, names[auto], names[rival])
                duels[k, rival] = _add(duels.get((k, rival), (0, 0)), duel)
            win = med[auto] <= min(med[o] for o in OPTUNA)
            wins, total = wins + win, total + 1
            mark = "**" if win else ""
            rows.append(
                [f"{k}", problem, str(len(finals[problem, names[auto]])), f"{mark}{med[auto]:.3g}{mark}"]
                + [f"{med[b]:.3g}" for b in (PARZEN, *OPTUNA)]
            )
        score[k] = (wins, total)
    if not rows:
        return ""
    summary = ", ".join(f"k = {k}: {w} of {t}" for k, (w, t) in score.items() if t)
    duel_text = "; ".join(
        f"k = {k}: " + ", ".join(f"{duels[k, r][0]}–{duels[k, r][1]} against {r}" for r in (PARZEN, *OPTUNA))
        for k in (8, 24)
        if (k, PARZEN) in duels
    )
    header = ["k", "problem", "seeds", auto, "parzen_tpe", "optuna TPE (constant_liar=True)", "constant_liar=False"]
    text = (
        "### `auto` in flight\n\n"
        f"The same runs for `parzen.auto.suggest` (the GP at up to 24 trials at once on these flat spaces, TPE "
        f"where the share of categorical parameters is above its threshold; the conditional problems go to TPE "
        f"and are not repeated). Bold: auto at or below the better of optuna's two settings: {summary}. Run by "
        f"run (strict wins–losses of auto): {duel_text}. Regenerate: "
        "`python benchmarks/in_flight.py --methods parzen_auto --ks 8 24 --problems branin hartmann6 rosenbrock8 "
        "ackley10 mixed svc`."
    )
    return text + "\n\n" + _table(header, rows)


def _flight_name(base: str, k: int) -> str:
    """The method name of `base` at k in flight; optuna's two liar settings share their k = 1 run."""
    return f"{OPTUNA[0]}@1" if k == 1 and base == OPTUNA[1] else f"{base}@{k}"


def _duel(by_seed: dict[tuple[str, str], dict[int, float]], problem: str, a: str, b: str) -> tuple[int, int]:
    """Strict wins and losses of `a` against `b` over the seeds both ran."""
    va, vb = by_seed.get((problem, a), {}), by_seed.get((problem, b), {})
    common = set(va) & set(vb)
    return sum(va[s] < vb[s] for s in common), sum(va[s] > vb[s] for s in common)


def _add(x: tuple[int, int], y: tuple[int, int]) -> tuple[int, int]:
    return x[0] + y[0], x[1] + y[1]


def _seed_finals(data: dict[str, Any], evals: int) -> dict[tuple[str, str], dict[int, float]]:
    out: dict[tuple[str, str], dict[int, float]] = {}
    for run in data.get("runs", {}).values():
        if run["evals"] == evals and run["problem"] in PROBLEMS:
            regret = PROBLEMS[run["problem"]].regret(final_best(run))
            out.setdefault((run["problem"], run["method"]), {})[run["seed"]] = regret
    return out


def in_flight_ablation(data: dict[str, Any] | None, evals: int = 200) -> str:
    """Each parzen configuration run in flight against the default, run by run (same problem, seed and k)."""
    if not data or not data.get("runs"):
        return "### In flight: each change against the default\n\nNo results."
    finals = _seed_finals(data, evals)
    variants = sorted({m.rsplit("@", 1)[0] for _, m in finals if m.startswith(PARZEN + "[")})
    rows = []
    for variant in variants:
        for k in KS:
            wins = losses = better = level = problems = 0
            for problem in PROBLEMS:
                mine, default = finals.get((problem, f"{variant}@{k}")), finals.get((problem, f"{PARZEN}@{k}"))
                if not mine or not default:
                    continue
                seeds = sorted(set(mine) & set(default))
                a, b = np.array([mine[s] for s in seeds]), np.array([default[s] for s in seeds])
                tol = 1e-12 * np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
                wins, losses = wins + int(np.sum(a < b - tol)), losses + int(np.sum(b < a - tol))
                problems += 1
                better += bool(np.median(a) < np.median(b))
                optuna = [
                    finals.get((problem, f"{o}@{k}" if not (k == 1 and o == OPTUNA[1]) else f"{OPTUNA[0]}@1"))
                    for o in OPTUNA
                ]
                if all(optuna):
                    level += bool(np.median(a) <= min(np.median(list(o.values())) for o in optuna if o))
            if not problems:
                continue
            p = stats.binomtest(wins, wins + losses, 0.5).pvalue if wins + losses else 1.0
            rows.append([f"`{variant}`", str(k), str(problems), f"{wins}–{losses}", _p(p), str(better), str(level)])
    header = ["configuration", "k", "problems", "runs won–lost vs default", "sign test p"]
    header += ["problems with a lower median", "problems at or below optuna's better setting"]
    text = (
        "### In flight: each change against the default\n\n"
        "Every other parzen configuration in `in_flight.json` against `parzen_tpe` with the same k, run by run "
        "(same problem and seed): strict wins–losses of the final regret with the two-sided sign test, how many "
        "problems' median regret it lowers, and on how many problems its median is at or below the better of "
        "optuna's two settings (the default's count is in the table above)."
    )
    return text + "\n\n" + (_table(header, rows) if rows else "No other configuration run in flight.")


# --- the driver -------------------------------------------------------------------------------------------


def _after(run: dict[str, Any]) -> str:
    """Throughput after the warm-up: the median run's, with every repeat's when there were several."""
    repeats = run.get("repeats_trials_per_s_after", [])
    text = f"{run['trials_per_s_after']:.0f}"
    return text + (f" (of {', '.join(f'{v:.0f}' for v in repeats)})" if len(repeats) > 1 else "")


def driver_section(data: dict[str, Any] | None) -> str:
    if not data or not data.get("runs"):
        return "## Driver throughput\n\nNo results (run benchmarks/driver.py)."
    runs = data["runs"]
    parts = list(dict.fromkeys(k for r in runs for k in r["ms_per_trial"]))
    rows = []
    for r in runs:
        rows.append(
            [r["name"], f"{r['slots']:,}", f"{r['trials']:,}", _after(r)]
            + [f"{r.get('trials_per_cpu_s_after', math.nan):.0f}", f"{r.get('load_average', math.nan):.1f}"]
            + [f"{r['trials_per_s_overall']:.0f}", f"{r['mean_batch']:.1f}", f"{r['driver_busy']:.0%}"]
            + [f"{r['ms_per_trial'].get(p, 0.0):.2f}" for p in parts]
            + [f"{r['peak_rss_mb']:.0f}"]
        )
    header = ["algorithm", "slots", "trials", f"trials/s after {runs[0]['after']:,}", "per CPU s", "load avg."]
    header += ["trials/s overall"]
    header += ["mean batch", "driver busy"] + [f"ms/trial: {p}" for p in parts] + ["peak RSS MB"]
    text = (
        "## Driver throughput: a simulated 1,000-slot cluster\n\n"
        f"fmin with the store on, {runs[0]['slots']:,} trials in flight on a simulated executor (no Spark): "
        f"trial durations are Pareto (shape 1.5) with mean {runs[0]['mean_duration_s']} s, so the cluster "
        "asks for more trials per second than the driver can give and the rate measured is the driver's. "
        "*mean batch* is how many suggestions one model fit made on average (slots freed together are "
        "filled from one fit). ms/trial splits the driver's time per trial. For comparison, hyperopt's "
        f"SparkTrials refuses more than {data.get('hyperopt_spark_cap', 128)} concurrent trials, and its TPE "
        "takes the time per suggestion shown in the speed table (one suggestion per free slot). Regenerate: "
        "`python benchmarks/driver.py`."
    )
    return text + "\n\n" + _table(header, rows)
