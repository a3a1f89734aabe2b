"""SparkTrials throughput: parzen vs hyperopt vs the raw-Spark floor, in one process and session.

    python benchmarks/spark_bench.py --master 'local[4]' --scenarios p4_half p8_half p4_trivial
    python benchmarks/spark_bench.py --master 'local[16]' --scenarios p16_one
    python benchmarks/spark_bench.py --methods raw_spark parzen parzen_mlflow --repeats 5 \
        --scenarios p4_half p8_half p4_trivial --results benchmarks/results/spark_mlflow.json

The floor is what Spark itself allows: P driver threads, each running single-task jobs
back to back (``parallelize([x], 1).mapPartitions(f).collect()``), nothing else.
Slot utilisation = time spent inside the objective / (P x wall time). Each scenario is
repeated (methods interleaved, after a warm-up) and the median is reported.
Results are merged into benchmarks/results/spark.json; ``--markdown`` prints the table.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

RESULTS = Path(__file__).resolve().parent / "results" / "spark.json"
SCENARIOS = {  # name: (parallelism, trials, seconds per trial; 0 = trivial objective)
    "p4_half": (4, 32, 0.5),
    "p8_half": (8, 48, 0.5),
    "p4_trivial": (4, 100, 0.0),
    "p16_one": (16, 64, 1.0),
    "p4_two": (4, 48, 2.0),  # a 24 s run: the per-fmin cost of tracking against a longer run
}
HYPEROPT_TRIVIAL_TRIALS = 32  # hyperopt manages about one trial per second


def sleeper(seconds: float):
    """An objective that sleeps and reports the time it spent (the slot's useful work)."""

    def objective(params):
        start = time.time()
        if seconds:
            time.sleep(seconds)
        return {"loss": float(params["x"]) ** 2, "status": "ok", "busy": time.time() - start}

    return objective


def raw_floor(sc, parallelism: int, n: int, seconds: float) -> tuple[float, float]:
    """Wall time and busy time of n single-task jobs run from `parallelism` threads."""
    counter = iter(range(n))
    lock = threading.Lock()
    busy: list[float] = []

    def task(it):
        list(it)
        start = time.time()
        if seconds:
            time.sleep(seconds)
        yield time.time() - start

    def worker():
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            busy.extend(sc.parallelize([0], 1).mapPartitions(task).collect())

    threads = [threading.Thread(target=worker) for _ in range(parallelism)]
    start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.time() - start, sum(busy)


def run_library(name: str, spark, parallelism: int, n: int, seconds: float, **options: object) -> tuple[float, float]:
    """Wall time and busy time of `fmin` with `name`'s SparkTrials (the API is the same)."""
    lib = importlib.import_module(name)
    trials = lib.SparkTrials(parallelism=parallelism, spark_session=spark)
    start = time.time()
    lib.fmin(
        sleeper(seconds),
        {"x": lib.hp.uniform("x", -1, 1)},
        algo=lib.tpe.suggest,
        max_evals=n,
        trials=trials,
        show_progressbar=False,
        verbose=False,
        **options,
    )
    wall = time.time() - start
    return wall, sum(r["busy"] for r in trials.results if "busy" in r)


def cancel_latency(spark, parallelism: int = 4, timeout: float = 2.0) -> dict:
    """How long after the run's timeout fmin returns, and Spark has no active job left."""
    import parzen

    def hangs(params):
        time.sleep(600)

    trials = parzen.SparkTrials(parallelism=parallelism, spark_session=spark, timeout=timeout)
    start = time.time()
    with contextlib.suppress(parzen.AllTrialsFailed):  # every trial hangs: none finishes
        parzen.fmin(
            hangs,
            {"x": parzen.hp.uniform("x", -1, 1)},
            algo=parzen.rand.suggest,
            max_evals=100,
            trials=trials,
            show_progressbar=False,
            verbose=False,
        )
    returned = time.time()
    tracker = spark.sparkContext.statusTracker()
    while tracker.getActiveJobsIds() and time.time() - returned < 60:
        time.sleep(0.01)
    return {"return_after_timeout_s": returned - start - timeout, "jobs_gone_after_s": time.time() - start - timeout}


@contextlib.contextmanager
def mlflow_server():
    """A local ``mlflow server`` (sqlite, artifacts in a temporary folder) on 127.0.0.1; yields its URI."""
    import socket
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder, socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--backend-store-uri", f"sqlite:///{folder}/mlflow.db", "--default-artifact-root", folder]
        env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        log = open(f"{folder}/server.log", "wb")  # noqa: SIM115 - closed below
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.time() + 180
            while time.time() < deadline:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
            log.close()


def measure(spark, scenario: str, repeats: int, methods: list[str]) -> dict:
    parallelism, n, seconds = SCENARIOS[scenario]
    runners = {
        "raw_spark": lambda: raw_floor(spark.sparkContext, parallelism, n, seconds),
        "parzen": lambda: run_library("parzen", spark, parallelism, n, seconds, mlflow_tracking=False),
        "parzen_mlflow": lambda: run_library("parzen", spark, parallelism, n, seconds, mlflow_tracking=True),
        "hyperopt": lambda: run_library(
            "hyperopt", spark, parallelism, HYPEROPT_TRIVIAL_TRIALS if not seconds else n, seconds
        ),
    }
    runners = {name: runner for name, runner in runners.items() if name in methods}
    samples: dict[str, list[dict]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, runner in runners.items():
            trials = HYPEROPT_TRIVIAL_TRIALS if (name == "hyperopt" and not seconds) else n
            wall, busy = runner()
            samples[name].append({"wall": wall, "utilisation": busy / (parallelism * wall), "per_s": trials / wall})
            print(
                f"{scenario:11s} {name:9s} wall {wall:6.2f}s  util {samples[name][-1]['utilisation']:.3f}  "
                f"{samples[name][-1]['per_s']:.1f} trials/s",
                flush=True,
            )
    return {
        name: {key: statistics.median(s[key] for s in runs) for key in runs[0]} | {"runs": runs}
        for name, runs in samples.items()
    }


def markdown(results: dict) -> str:
    header = ["| scenario | master | raw Spark floor | parzen | hyperopt | parzen / floor |", "|" + "---|" * 6]
    rows: list[str] = []
    for scenario, entry in results.items():
        if scenario not in SCENARIOS:
            continue
        p, n, seconds = SCENARIOS[scenario]
        label = f"P={p}, {n} trials of {seconds:g} s" if seconds else f"P={p}, trivial objective"
        r = entry["methods"]
        if not {"raw_spark", "parzen", "hyperopt"} <= set(r):
            continue
        if seconds:
            cells = [
                f"{r[m]['utilisation']:.0%} util, {r[m]['wall']:.1f} s" for m in ("raw_spark", "parzen", "hyperopt")
            ]
            ratio = r["parzen"]["utilisation"] / r["raw_spark"]["utilisation"]
        else:
            cells = [f"{r[m]['per_s']:.1f} trials/s" for m in ("raw_spark", "parzen", "hyperopt")]
            ratio = r["parzen"]["per_s"] / r["raw_spark"]["per_s"]
        rows.append(f"| {label} | `{entry['master']}` | " + " | ".join(cells) + f" | {ratio:.2f} |")
    rows = header + rows if rows else []
    tracked = [(k, e["methods"]) for k, e in results.items() if k in SCENARIOS and "parzen_mlflow" in e["methods"]]
    if tracked:
        rows.append("\nMLflow tracking on (a local `mlflow server`) vs off, parzen's slot utilisation or trials/s:\n")
        rows += ["| scenario | tracking off | tracking on | on / off |", "|---|---|---|---|"]
        for scenario, r in tracked:
            key = "utilisation" if SCENARIOS[scenario][2] else "per_s"
            off, on = r["parzen"][key], r["parzen_mlflow"][key]
            cells = [f"{v:.1%}" if key == "utilisation" else f"{v:.1f}/s" for v in (off, on)]
            rows.append(f"| {scenario} | {cells[0]} | {cells[1]} | {on / off:.3f} |")
    if "cancel" in results:
        c = results["cancel"]
        rows.append(
            f"\nCancellation (P=4, hanging trials, `timeout=2`): fmin returns "
            f"{c['return_after_timeout_s']:.2f} s after the timeout; Spark has no active job "
            f"{c['jobs_gone_after_s']:.2f} s after it (median of runs)."
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--master", default="local[4]")
    parser.add_argument("--scenarios", nargs="*", default=["p4_half", "p8_half", "p4_trivial"], choices=SCENARIOS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--methods",
        nargs="*",
        default=["raw_spark", "parzen", "hyperopt"],
        choices=["raw_spark", "parzen", "parzen_mlflow", "hyperopt"],
        help="parzen_mlflow: parzen with MLflow tracking to a local mlflow server started for the run",
    )
    parser.add_argument("--cancel", action="store_true", help="also measure how fast a timeout cancels trials")
    parser.add_argument("--markdown", action="store_true", help="print the table of the stored results and exit")
    parser.add_argument("--results", type=Path, default=RESULTS, help=f"where results are merged (default {RESULTS})")
    args = parser.parse_args()
    results = json.loads(args.results.read_text()) if args.results.exists() else {}
    if args.markdown:
        print(markdown(results))
        return
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(args.master)
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    raw_floor(spark.sparkContext, 4, 16, 0.0)  # warm-up: start the Python workers
    with contextlib.ExitStack() as stack:
        if "parzen_mlflow" in args.methods:
            os.environ["MLFLOW_TRACKING_URI"] = stack.enter_context(mlflow_server())
        run_library("parzen", spark, 4, 8, 0.0, mlflow_tracking="parzen_mlflow" in args.methods)
        for scenario in args.scenarios:
            methods = measure(spark, scenario, args.repeats, args.methods)
            merged = results.get(scenario, {}).get("methods", {}) | methods  # keep methods not re-run
            results[scenario] = {"master": args.master, "methods": merged}
            args.results.parent.mkdir(exist_ok=True)
            args.results.write_text(json.dumps(results, indent=1))
    if args.cancel:
        samples = [cancel_latency(spark) for _ in range(args.repeats)]
        results["cancel"] = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
        print("cancel latency", results["cancel"])
        args.results.write_text(json.dumps(results, indent=1))
    print(markdown(results))
    spark.stop()


if __name__ == "__main__":
    main()
