"""Quality benchmark: best-so-far value after every evaluation, per (problem, method, seed).

    python benchmarks/quality.py                                   # all problems, the six main methods
    python benchmarks/quality.py --methods parzen_tpe@8 hyperopt_tpe@8 --seeds 30
    python benchmarks/quality.py --problems branin decoy --methods "parzen_tpe[split=linear,gamma=0.1]"
    python benchmarks/quality.py --methods parzen_tpe --force      # recompute after changing parzen

Results are cached in the JSON file per (problem, method, seed, evals): a run that is already there is
not recomputed (unless --force), so adding a method only runs that method. The file is rewritten after
every (problem, method) block, so an interrupted run keeps what it finished. Writes no Markdown
(see report.py). Runs everything in this one process, one evaluation at a time.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from problems import PROBLEMS
from runners import MAIN_METHODS, parse_method, run, split_methods

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "quality.json"
PARZEN_SRC = HERE.parent / "src" / "parzen"


def key(problem: str, method: str, seed: int, evals: int) -> str:
    """The cache key of one run."""
    return f"{problem}|{method}|{seed}|{evals}"


@functools.cache
def parzen_code_hash() -> str:
    """A short hash of parzen's source, stored with parzen runs so stale cached results can be spotted."""
    digest = hashlib.sha256()
    for path in sorted(PARZEN_SRC.rglob("*.py")):
        digest.update(str(path.relative_to(PARZEN_SRC)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def code_version(library: str) -> str:
    """What produced a run: parzen's source hash, or the installed hyperopt/optuna version."""
    return f"src:{parzen_code_hash()}" if library == "parzen" else metadata.version(library)


def environment() -> dict[str, Any]:
    """Library versions and the machine, stored in the results file."""
    versions = {name: metadata.version(name) for name in ("parzen", "hyperopt", "optuna", "numpy", "scikit-learn")}
    return {
        "versions": versions,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "updated": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def load(path: Path) -> dict[str, Any]:
    """The results file, or an empty one."""
    if path.exists():
        return json.loads(path.read_text())
    return {"meta": {}, "runs": {}}


def save(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data["meta"] = environment()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")))
    os.replace(tmp, path)


CHECKPOINTS = (5, 10, 25, 50, 75, 100, 150, 200)  # evaluation counts kept of a best-so-far curve


def compact_curve(best: list[float]) -> dict[str, float]:
    """The best-so-far value after each checkpoint's evaluations and after the last (what the tables read).

    A run's whole curve is not kept: the tables quote checkpoints, and a curve per
    evaluation made the results tens of megabytes.
    """
    n = len(best)
    return {str(k): float(f"{best[k - 1]:.10g}") for k in sorted({*(c for c in CHECKPOINTS if c <= n), n})}


def best_at(run: dict[str, Any], n: int) -> float:
    """The best value a stored run had after `n` evaluations (a checkpoint or its last)."""
    return run["best_at"][str(n)]


def final_best(run: dict[str, Any]) -> float:
    """The best value a stored run reached."""
    return run["best_at"][str(run["evals"])]


def record(problem: str, method: str, seed: int, evals: int) -> dict[str, Any]:
    """Run one (problem, method, seed) and return what is stored."""
    result = run(method, PROBLEMS[problem], seed, evals)
    return {
        "problem": problem,
        "method": method,
        "seed": seed,
        "evals": evals,
        "best_at": compact_curve(result["best"]),
        "seconds": round(result["seconds"], 4),
        "code": code_version(parse_method(method).library),
    }


def run_block(data: dict, problem: str, method: str, seeds: range, evals: int, force: bool) -> int:
    """All seeds of one (problem, method); returns how many runs were computed."""
    todo = [s for s in seeds if force or key(problem, method, s, evals) not in data["runs"]]
    start = time.perf_counter()
    for seed in todo:
        data["runs"][key(problem, method, seed, evals)] = record(problem, method, seed, evals)
    if todo:
        took = time.perf_counter() - start
        print(f"{problem:12s} {method:40s} {len(todo):3d} runs  {took:7.1f}s", file=sys.stderr, flush=True)
    return len(todo)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS), metavar="NAME")
    parser.add_argument("--methods", nargs="+", default=list(MAIN_METHODS), help="names, space or comma separated")
    parser.add_argument("--seeds", type=int, default=30, help="seeds 0..N-1 (default 30)")
    parser.add_argument("--evals", type=int, default=100, help="evaluations per run (default 100)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--force", action="store_true", help="recompute the selected runs even if cached")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the selected (problem, method, seed) combinations that are not cached yet."""
    args = parse_args(argv)
    methods = split_methods(args.methods)
    try:
        for name in methods:
            parse_method(name)  # fail before running anything
    except ValueError as error:
        sys.exit(f"quality.py: {error}")
    data = load(args.out)
    computed = 0
    for problem in args.problems:
        for method in methods:
            done = run_block(data, problem, method, range(args.seeds), args.evals, args.force)
            computed += done
            if done:
                save(args.out, data)
    print(f"{computed} runs computed, {len(data['runs'])} in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
