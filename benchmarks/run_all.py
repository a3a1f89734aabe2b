"""Run the whole TPE benchmark and write docs/benchmarks.md.

    python benchmarks/run_all.py                 # 30 seeds x 100 evaluations, all problems
    python benchmarks/run_all.py --seeds 2 --evals 30 --results /tmp/smoke --doc /tmp/smoke/benchmarks.md

Steps, one after the other in this process (cached runs are reused unless --force):

1. quality.py: the nine small problems; the six main methods, the TPE configurations of the ablation,
   parzen/hyperopt/optuna TPE with 8 trials in flight;
2. bbob.py: the four methods on COCO's 24 BBOB functions at d = 2, 5, 10 (instances 1-5) and 20
   (instances 1-3), 200 evaluations; the ablation's configurations at d = 2, 5, 10, 100 evaluations;
3. in_flight.py: parzen and optuna (with and without its constant liar) at k = 1, 8, 24, 64;
4. speed.py and driver.py (a simulated 1,000-slot cluster);
5. report.py into the doc (which also shows spark_bench.py's and store_load.py's results when their
   JSON files exist; those two start Spark or take long and are run separately).

The whole takes a few hours on a 2-core machine; each step saves as it goes, so an interrupted run
continues where it stopped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import bbob
import driver
import in_flight
import quality
import report
import speed
from runners import IN_FLIGHT_METHODS, MAIN_METHODS

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--evals", type=int, default=100)
    parser.add_argument("--methods", nargs="+", default=list(MAIN_METHODS + IN_FLIGHT_METHODS + bbob.CANDIDATES[1:]))
    parser.add_argument("--histories", nargs="+", default=["100", "1000", "3000"], help="speed: history sizes")
    parser.add_argument("--results", type=Path, default=HERE / "results", help="directory of the JSON files")
    parser.add_argument("--doc", type=Path, default=HERE.parent / "docs" / "benchmarks.md")
    parser.add_argument("--force", action="store_true", help="recompute cached quality runs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """quality -> bbob -> in flight -> speed -> driver -> report."""
    args = parse_args(argv)
    res = args.results
    force = ["--force"] if args.force else []
    runs = ["--seeds", str(args.seeds), "--evals", str(args.evals), "--out", str(res / "quality.json")]
    quality.main(runs + ["--methods", *args.methods] + force)
    bbob_out = ["--out", str(res / "bbob.json"), *force]
    bbob.main(["--dims", "2", "5", "10", "--instances", "1-5", *bbob_out])
    bbob.main(["--dims", "20", "--instances", "1-3", *bbob_out])
    bbob.main(
        ["--methods", *bbob.CANDIDATES[1:], "--dims", "2", "5", "10", "--instances", "1-5", "--evals", "100", *bbob_out]
    )
    in_flight.main(["--out", str(res / "in_flight.json"), *force])
    speed.main(["--histories", *args.histories, "--out", str(res / "speed.json")])
    driver.main(["--out", str(res / "driver.json")])
    files = {
        name: str(res / f"{name.replace('-', '_')}.json")
        for name in ("quality", "speed", "bbob", "in-flight", "driver")
    }
    paths = [item for name, path in files.items() for item in (f"--{name}", path)]
    return report.main([*paths, "--evals", str(args.evals), "--out", str(args.doc)])


if __name__ == "__main__":
    sys.exit(main())
