"""Trials in flight: k suggestions asked and not yet told, k = 1, 8, 24, 64, for parzen and optuna.

    python benchmarks/in_flight.py                                  # 16 seeds x 200 evaluations, the whole suite
    python benchmarks/in_flight.py --methods "parzen_tpe[liar=1.0]" --ks 8 24
    python benchmarks/in_flight.py --seeds 1 --evals 20 --out /tmp/flight.json   # smoke

Each method runs with ``@k`` (runners.py): k trials asked before the first is told, then the oldest pending
trial is told and a new one asked. optuna is run with its TPE as it ships (optuna 5: ``constant_liar=True``)
and with ``constant_liar=False``; at k = 1 nothing is pending when a suggestion is made, so the two are one.
Results are cached in the JSON file like quality.py's (same format, same resumability).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import quality
from problems import PROBLEMS

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "in_flight.json"
KS = (1, 8, 24, 64)
SUITE = ("branin", "hartmann6", "rosenbrock8", "ackley10", "mixed", "conditional", "svc", "decoy")
PARZEN = "parzen_tpe"
OPTUNA = ("optuna_tpe[constant_liar=True]", "optuna_tpe[constant_liar=False]")


def methods_for(bases: list[str], ks: list[int]) -> list[str]:
    """``base@k`` for every base and k; optuna's two liar settings share their k = 1 run."""
    names = []
    for k in ks:
        for base in bases:
            if k == 1 and base == OPTUNA[1]:
                continue
            names.append(f"{base}@{k}")
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="+", default=[PARZEN, *OPTUNA], help="base methods, without @k")
    parser.add_argument("--ks", nargs="+", type=int, default=list(KS))
    parser.add_argument("--problems", nargs="+", default=list(SUITE), choices=list(PROBLEMS))
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--evals", type=int, default=200)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--force", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    methods = methods_for(args.methods, [k for k in args.ks if k <= args.evals])
    run = ["--problems", *args.problems, "--methods", *methods, "--seeds", str(args.seeds)]
    run += ["--evals", str(args.evals), "--out", str(args.out)] + (["--force"] if args.force else [])
    return quality.main(run)


if __name__ == "__main__":
    sys.exit(main())
