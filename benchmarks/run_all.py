"""Run the whole TPE benchmark and write docs/benchmarks.md.

    python benchmarks/run_all.py                 # 30 seeds x 100 evaluations, all problems
    python benchmarks/run_all.py --seeds 2 --evals 30 --results /tmp/smoke --doc /tmp/smoke/benchmarks.md

Steps, one after the other in this process: quality.py (all problems; the six main methods and the
parzen/hyperopt/optuna TPE with 8 trials in flight; cached runs are reused unless --force), speed.py,
then report.py into the doc (which also shows the results of spark_bench.py and store_load.py when
their JSON files exist; those two are run separately, see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import quality
import report
import speed
from runners import IN_FLIGHT_METHODS, MAIN_METHODS

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--evals", type=int, default=100)
    parser.add_argument("--methods", nargs="+", default=list(MAIN_METHODS + IN_FLIGHT_METHODS))
    parser.add_argument("--histories", nargs="+", default=["100", "1000", "3000"], help="speed: history sizes")
    parser.add_argument("--results", type=Path, default=HERE / "results", help="directory of the JSON files")
    parser.add_argument("--doc", type=Path, default=HERE.parent / "docs" / "benchmarks.md")
    parser.add_argument("--force", action="store_true", help="recompute cached quality runs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """quality -> speed -> report."""
    args = parse_args(argv)
    quality_json, speed_json = args.results / "quality.json", args.results / "speed.json"
    runs = ["--seeds", str(args.seeds), "--evals", str(args.evals), "--out", str(quality_json)]
    quality.main(runs + ["--methods", *args.methods] + (["--force"] if args.force else []))
    speed.main(["--histories", *args.histories, "--out", str(speed_json)])
    return report.main(
        ["--quality", str(quality_json), "--speed", str(speed_json), "--evals", str(args.evals), "--out", str(args.doc)]
    )


if __name__ == "__main__":
    sys.exit(main())
