"""Load: 10,000 trials of a trivial objective with the store on.

    python benchmarks/store_load.py --trials 10000

Reports the store's size, the driver's peak memory (max RSS) and the time per
suggestion as the history grows, for TPE (the default algorithm) and random search.
Results are merged into benchmarks/results/store_load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from parzen import fmin, hp, rand, tpe

RESULTS = Path(__file__).resolve().parent / "results" / "store_load.json"
SPACE = {
    "x": hp.uniform("x", -5, 5),
    "lr": hp.loguniform("lr", np.log(1e-5), 0),
    "n": hp.quniform("n", 1, 64, 1),
    "act": hp.choice("act", ["relu", "tanh", "sigmoid"]),
}


def objective(p):
    return (p["x"] - 1) ** 2 + abs(np.log10(p["lr"]) + 3) + abs(p["n"] - 20) / 10 + (p["act"] != "tanh")


def timed(algo, times: list[float]):
    """Wrap `algo` to record how long each suggestion takes."""

    def suggest(space, history, rng):
        start = time.perf_counter()
        point = algo(space, history, rng)
        times.append(time.perf_counter() - start)
        return point

    return suggest


def run(name: str, algo, n_trials: int) -> dict:
    times: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "load.db"
        start = time.perf_counter()
        fmin(
            objective,
            SPACE,
            algo=timed(algo, times),
            max_evals=n_trials,
            trials_save_file=str(db),
            rstate=np.random.default_rng(0),
            show_progressbar=False,
            verbose=False,
        )
        wall = time.perf_counter() - start
        size = sum(f.stat().st_size for f in Path(folder).iterdir())
    checkpoints = sorted({min(n_trials, c) for c in (1000, 5000, 10000, n_trials)})
    per_suggestion = {str(c): 1000 * statistics.median(times[max(0, c - 50) : c]) for c in checkpoints}
    return {
        "algorithm": name,
        "trials": n_trials,
        "wall_s": wall,
        "store_mb": size / 2**20,
        "store_bytes_per_trial": size / n_trials,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "ms_per_suggestion_at": per_suggestion,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--algorithms", nargs="+", default=["rand", "tpe"], choices=["rand", "tpe"])
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in args.algorithms:
        entry = run(name, {"rand": rand.suggest, "tpe": tpe.suggest}[name], args.trials)
        print(json.dumps(entry), flush=True)
        results[f"{name}-{args.trials}"] = entry | {"pid": os.getpid()}
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
