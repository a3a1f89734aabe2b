"""The speed guard: parzen's overhead on Spark and TPE's cost per trial, as ratios measured in one run.

    make bench-quick                              # a few minutes: each ratio beside the recorded one
    python benchmarks/bench_quick.py --record     # the same, then this run becomes the recorded one
    python benchmarks/bench_quick.py --legs tpe   # one leg only (local, standalone, tpe)

Not a test (tests never assert on wall time): run it before a stop that touches the driver loop,
the executors, the store or TPE, and quote it. Three legs, one after the other, each in a fresh
process of its own (so whatever a run pays once per process or session is in its first run):

* ``local``: ``local[4]``, P = 4, against the raw-Spark floor in the same session (P driver threads
  running single-task jobs back to back, ``spark_bench.raw_floor``). Slot utilisation with 32 trials
  of 0.5 s and the rate with 100 trivial trials. The Python workers are started before the first
  measurement (both sides then find them warm); parzen's first run is not warmed up.
* ``standalone``: a master and two workers of 8 cores on 127.0.0.1, the driver started by
  ``spark-submit``; P = 16, 48 trials of 1 s, random search, against the floor in the same session.
* ``tpe``: milliseconds per trial through each library's own loop (parzen's and hyperopt's ``fmin``,
  optuna's ``study.optimize``) with 1,000 finished random-search trials of history on a 10-D
  continuous space (the sphere), 100 TPE trials timed, after the library's TPE is imported.

Each leg runs its pairs ``--repeats`` times, interleaved (floor, parzen, floor, parzen...). A ratio
is parzen / floor (utilisation, trials per second) or the other library's ms per trial / parzen's;
the guard prints the median of the repeats, the first run's ratio, the spread (lowest to highest
repeat) and the recorded median, and flags a ratio whose change exceeds the larger of the two
spreads. ``--record`` stores the run in benchmarks/results/bench_quick.json, from which
``report.py`` writes the "Speed guard" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "bench_quick.json"
LEGS = ("local", "standalone", "tpe")
TPE_DIM, TPE_HISTORY, TPE_TIMED = 10, 1000, 100


# ---- the legs (each runs in its own process: `python bench_quick.py --leg NAME`) -------------------------


def _spark_pairs(spark: Any, parallelism: int, scenarios: dict[str, tuple[int, float]], repeats: int) -> list[dict]:
    """Interleaved floor and parzen runs of each scenario; one record per run.

    TPE on local mode, random search on the cluster (so its figure is the scheduler's alone).
    """
    from spark_bench import raw_floor, sleeper

    import parzen

    sc = spark.sparkContext
    algo = parzen.rand.suggest if parallelism > 8 else parzen.tpe.suggest  # the module is imported here, untimed
    runs = []
    for repeat in range(repeats):
        for scenario, (n, seconds) in scenarios.items():
            wall, busy = raw_floor(sc, parallelism, n, seconds)
            runs.append({"scenario": scenario, "method": "floor", "repeat": repeat, "wall": wall, "busy": busy})
            start = time.time()
            trials = parzen.SparkTrials(parallelism=parallelism, spark_session=spark)
            parzen.fmin(
                sleeper(seconds),
                {"x": parzen.hp.uniform("x", -1, 1)},
                algo=algo,
                max_evals=n,
                trials=trials,
                show_progressbar=False,
                verbose=False,
            )
            wall = time.time() - start
            busy = sum(r["busy"] for r in trials.results if "busy" in r)
            runs.append({"scenario": scenario, "method": "parzen", "repeat": repeat, "wall": wall, "busy": busy})
            print(f"  {scenario}: floor {runs[-2]['wall']:.2f} s, parzen {wall:.2f} s", file=sys.stderr, flush=True)
    return runs


def leg_local(repeats: int) -> dict:
    """P = 4 on local[4]: utilisation (32 trials of 0.5 s) and rate (100 trivial trials) against the floor."""
    from pyspark.sql import SparkSession
    from spark_bench import raw_floor

    spark = (
        SparkSession.builder.master("local[4]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    raw_floor(spark.sparkContext, 4, 8, 0.3)  # start the four Python workers: both sides find them warm
    scenarios = {"p4_half": (32, 0.5), "p4_trivial": (100, 0.0)}
    runs = _spark_pairs(spark, 4, scenarios, repeats)
    spark.stop()
    return {"parallelism": 4, "scenarios": {k: list(v) for k, v in scenarios.items()}, "runs": runs}


STANDALONE_DRIVER = """
import json, os, sys, time
sys.path.insert(0, {here!r})
from bench_quick import _spark_pairs
from spark_bench import raw_floor
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
sc = spark.sparkContext
sc.setLogLevel("ERROR")
deadline = time.time() + 120
while sc._jsc.sc().getExecutorMemoryStatus().size() < 3 and time.time() < deadline:  # the driver and 2 executors
    time.sleep(0.2)
raw_floor(sc, 16, 16, 0.5)  # start the 16 Python workers
runs = _spark_pairs(spark, 16, {{"p16_one": (48, 1.0)}}, {repeats})
print("RESULT " + json.dumps(runs))
"""


def leg_standalone(repeats: int) -> dict:
    """P = 16 on a loopback standalone cluster (2 workers x 8 cores), the driver run by spark-submit."""
    import pyspark

    sys.path.insert(0, str(HERE.parent / "tests" / "executors" / "spark"))
    from cluster_helpers import standalone_cluster

    with tempfile.TemporaryDirectory() as folder, standalone_cluster(Path(folder), workers=2, cores=8) as conf:
        script = Path(folder) / "driver.py"
        script.write_text(STANDALONE_DRIVER.format(here=str(HERE), repeats=repeats))
        submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
        env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable)
        env.pop("SPARK_REMOTE", None)
        command = [str(submit), "--master", conf["spark.master"], "--conf", "spark.ui.enabled=false", str(script)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
        if done.returncode or not lines:
            raise RuntimeError(f"the standalone driver failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return {"parallelism": 16, "scenarios": {"p16_one": [48, 1.0]}, "runs": json.loads(lines[0][len("RESULT ") :])}


def _sphere(args: dict) -> float:
    return float(sum((args[f"x{i}"] - 0.5) ** 2 for i in range(TPE_DIM)))


def _fmin_ms_per_trial(lib: Any, seed: int) -> float:
    """parzen or hyperopt: 1,000 random trials, then 100 TPE trials through fmin, timed."""
    import numpy as np

    space = {f"x{i}": lib.hp.uniform(f"x{i}", 0, 1) for i in range(TPE_DIM)}
    trials = lib.Trials()
    options = {"show_progressbar": False}
    lib.fmin(
        _sphere, space, lib.rand.suggest, TPE_HISTORY, trials=trials, rstate=np.random.default_rng(seed), **options
    )
    start = time.perf_counter()
    total = TPE_HISTORY + TPE_TIMED
    lib.fmin(_sphere, space, lib.tpe.suggest, total, trials=trials, rstate=np.random.default_rng(seed + 1), **options)
    return (time.perf_counter() - start) / TPE_TIMED * 1e3


def _optuna_ms_per_trial(seed: int) -> float:
    """optuna: 1,000 random trials, then 100 trials of its default TPESampler through study.optimize, timed."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: Any) -> float:
        return _sphere({f"x{i}": trial.suggest_float(f"x{i}", 0, 1) for i in range(TPE_DIM)})

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(objective, n_trials=TPE_HISTORY)
    study.sampler = optuna.samplers.TPESampler(seed=seed + 1)
    start = time.perf_counter()
    study.optimize(objective, n_trials=TPE_TIMED)
    return (time.perf_counter() - start) / TPE_TIMED * 1e3


def leg_tpe(repeats: int) -> dict:
    """ms per TPE trial at 1,000 trials of history, each library through its own loop, seeds interleaved."""
    import hyperopt
    import hyperopt.tpe  # noqa: F401 - imported before timing, as `from hyperopt import tpe` would
    import optuna.samplers  # noqa: F401

    import parzen

    parzen.tpe.suggest  # noqa: B018 - imports the module (scipy) before timing, as `from parzen import tpe` does
    runs = []
    for seed in range(repeats):
        for name, measure in (
            ("parzen", lambda s: _fmin_ms_per_trial(parzen, s)),
            ("hyperopt", lambda s: _fmin_ms_per_trial(hyperopt, s)),
            ("optuna", _optuna_ms_per_trial),
        ):
            runs.append({"method": name, "repeat": seed, "ms_per_trial": measure(seed)})
            print(f"  tpe seed {seed}: {name} {runs[-1]['ms_per_trial']:.2f} ms/trial", file=sys.stderr, flush=True)
    return {"dim": TPE_DIM, "history": TPE_HISTORY, "timed": TPE_TIMED, "runs": runs}


LEG_FUNCTIONS = {"local": leg_local, "standalone": leg_standalone, "tpe": leg_tpe}


# ---- ratios, comparison, recording ------------------------------------------------------------------------


def ratios(leg: str, data: dict) -> dict[str, list[float]]:
    """Per-repeat ratios of one leg, in repeat order (the first is the first run)."""
    out: dict[str, list[float]] = {}
    if leg == "tpe":
        by = {(r["method"], r["repeat"]): r["ms_per_trial"] for r in data["runs"]}
        seeds = sorted({r["repeat"] for r in data["runs"]})
        out["tpe: parzen ms/trial"] = [by["parzen", s] for s in seeds]
        for rival in ("hyperopt", "optuna"):
            out[f"tpe: {rival} / parzen"] = [by[rival, s] / by["parzen", s] for s in seeds]
        return out
    p = data["parallelism"]
    for scenario, (_, seconds) in data["scenarios"].items():
        runs = {(r["method"], r["repeat"]): r for r in data["runs"] if r["scenario"] == scenario}
        repeats = sorted({r for _, r in runs})
        if seconds:
            util = {k: r["busy"] / (p * r["wall"]) for k, r in runs.items()}
            out[f"{leg} {scenario}: utilisation / floor"] = [util["parzen", i] / util["floor", i] for i in repeats]
        else:
            out[f"{leg} {scenario}: trials/s / floor"] = [
                runs["floor", i]["wall"] / runs["parzen", i]["wall"] for i in repeats
            ]
    return out


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "first": values[0], "low": min(values), "high": max(values)}


def compare(current: dict[str, dict], recorded: dict[str, dict]) -> list[str]:
    """One line per ratio: this run beside the recorded one, flagged when it moved beyond the spread."""
    lines = [f"{'ratio':42s} {'median':>8s} {'first':>7s} {'spread':>15s} {'recorded':>9s}  verdict"]
    for name, now in current.items():
        before = recorded.get(name)
        spread = f"{now['low']:.2f}-{now['high']:.2f}"
        if before is None:
            verdict, shown = "new", "-"
        else:
            tolerance = max(now["high"] - now["low"], before["high"] - before["low"])
            moved = now["median"] - before["median"]
            verdict = "ok" if abs(moved) <= tolerance else ("FASTER" if _better(name, moved) else "SLOWER")
            shown = f"{before['median']:.2f}"
        lines.append(f"{name:42s} {now['median']:8.2f} {now['first']:7.2f} {spread:>15s} {shown:>9s}  {verdict}")
    return lines


def _better(name: str, moved: float) -> bool:
    """A higher ratio is better, except parzen's own ms per trial."""
    return moved < 0 if name.endswith("ms/trial") else moved > 0


def run_leg(leg: str, repeats: int) -> dict:
    """A leg in a fresh process of its own; its JSON result."""
    env = dict(os.environ, PYSPARK_PYTHON=os.environ.get("PYSPARK_PYTHON", sys.executable))
    command = [sys.executable, str(Path(__file__).resolve()), "--leg", leg, "--repeats", str(repeats)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=HERE)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("LEG ")]
    if done.returncode or not lines:
        raise RuntimeError(f"leg {leg} failed:\n{done.stdout[-2000:]}\n{done.stderr[-6000:]}")
    return json.loads(lines[0][len("LEG ") :])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--legs", nargs="+", default=list(LEGS), choices=LEGS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--record", action="store_true", help="store this run as the reference")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--leg", choices=LEGS, help=argparse.SUPPRESS)  # internal: run one leg here
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    if args.leg:
        print("LEG " + json.dumps(LEG_FUNCTIONS[args.leg](args.repeats)), flush=True)
        return 0
    recorded = json.loads(args.results.read_text()) if args.results.exists() else {"legs": {}, "ratios": {}}
    legs, current = {}, {}
    for leg in args.legs:
        print(f"{leg}...", file=sys.stderr, flush=True)
        legs[leg] = run_leg(leg, args.repeats)
        current |= {name: summary(values) for name, values in ratios(leg, legs[leg]).items()}
    print("\n".join(compare(current, recorded["ratios"])))
    if args.record:
        recorded["legs"] |= legs
        recorded["ratios"] |= current
        recorded["when"] = time.strftime("%Y-%m-%d")
        recorded["repeats"] = args.repeats
        args.results.parent.mkdir(exist_ok=True)
        args.results.write_text(json.dumps(recorded, indent=1))
        print(f"recorded in {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
