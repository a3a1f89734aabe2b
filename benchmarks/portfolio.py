"""Portfolio benchmark (issue 26): parzen's TPE and GP against optuna, nevergrad, SMAC3 and random.

    python benchmarks/portfolio.py bbob --dims 5 --evals 100 --instances 1-10            # every method
    python benchmarks/portfolio.py bbob --dims 2 10 --evals 200 --instances 1-5 --methods parzen_gp optuna_gp
    python benchmarks/portfolio.py sklearn --seeds 5 --evals 128 --batch 8
    python benchmarks/portfolio.py bbob --dims 2 --functions 1 --instances 1 --evals 20 --out /tmp/p.json  # smoke

Run it in the bench environment (its own venv with torch for optuna's GPSampler, nevergrad, SMAC3,
coco-experiment), niced, one thread per BLAS. Each run is stored as it finishes (the file is rewritten
atomically every few runs): an interrupted run resumes where it stopped. Stored per run, compactly: the
best loss after each budget of ``BUDGETS`` up to ``--evals`` (one run of 200 evaluations answers 50 and
100: no method is told the budget, except NGOpt and SMAC, whose constructors take it, so their runs are
keyed by budget), and the optimiser's CPU and wall seconds per suggestion (inside ask and tell only).

The analysis (mean ranks with bootstrap intervals, pooled sign tests, seconds per suggestion) is
portfolio_report.py.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from portfolio_methods import NAMES, parse_method, run
from portfolio_problems import MIXED_PROBLEMS, SKLEARN_PROBLEMS, Task, bbob, mixed_task, sklearn_task

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = {
    "bbob": HERE / "results" / "portfolio_bbob.json",
    "sklearn": HERE / "results" / "portfolio_sklearn.json",
    "mixed": HERE / "results" / "portfolio_mixed.json",
}
PARZEN_SRC = HERE.parent / "src" / "parzen"
BUDGETS = (25, 50, 100, 128, 200)
ANCHORS = ("optuna_tpe", "optuna_gp", "ngopt", "smac_bb", "smac_hpo", "random")
ALL_METHODS = ("parzen_tpe", "parzen_gp", *ANCHORS)
BUDGET_AWARE = ("ngopt", "smac_bb", "smac_hpo", "parzen_auto")  # told the budget: a run answers only its own


def parzen_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(PARZEN_SRC.rglob("*.py")):
        digest.update(str(path.relative_to(PARZEN_SRC)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def code_version(library: str) -> str:
    if library == "parzen":
        return f"src:{parzen_hash()}"
    return metadata.version({"smac": "smac", "nevergrad": "nevergrad", "optuna": "optuna"}[library])


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {"meta": {}, "runs": {}}


def save(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    versions = {}
    for name in ("numpy", "scipy", "optuna", "nevergrad", "smac", "torch", "scikit-learn", "coco-experiment"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    data["meta"] = {
        **data.get("meta", {}),  # keeps what else was recorded (renames)
        "versions": versions,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "updated": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")))
    os.replace(tmp, path)


def key(suite: str, problem: str, seed: int, method: str, evals: int, batch: int, flight: int = 0) -> str:
    return f"{suite}|{problem}|{seed}|{method}|{evals}|" + (f"f{flight}" if flight else f"b{batch}")


def seed_of(problem: str, seed: int) -> int:
    """The method's seed: a function of the problem and the replicate only (the same for every method)."""
    return int.from_bytes(hashlib.sha256(f"{problem}|{seed}".encode()).digest()[:4], "little")


def record(suite: str, task: Task, seed: int, method: str, evals: int, batch: int, flight: int = 0) -> dict[str, Any]:
    space = task.build_space()
    losses, clock = run(method, space, task.loss, seed_of(task.name, seed), evals, batch, flight)
    best = np.minimum.accumulate(np.asarray(losses, dtype=float))
    at = {str(b): float(f"{best[b - 1]:.6g}") for b in sorted({*BUDGETS, evals}) if b <= evals}
    return {
        "suite": suite,
        "problem": task.name,
        "group": task.group,
        "seed": seed,
        "method": method,
        "evals": evals,
        "batch": batch,
        "flight": flight,
        "at": at,
        "cpu": float(f"{clock.cpu / evals:.4g}"),
        "wall": float(f"{clock.wall / evals:.4g}"),
        "code": code_version(parse_method(method).library),
    }


def have(
    data: dict[str, Any], suite: str, problem: str, seed: int, method: str, evals: int, batch: int, flight: int
) -> bool:
    """A stored run answers this one: the same, or longer when the method is not told the budget."""
    if key(suite, problem, seed, method, evals, batch, flight) in data["runs"]:
        return True
    if parse_method(method).base in BUDGET_AWARE:
        return False
    return any(
        r["problem"] == problem
        and r["seed"] == seed
        and r["method"] == method
        and r["batch"] == batch
        and r.get("flight", 0) == flight
        and r["evals"] >= evals
        for r in data["runs"].values()
    )


def run_all(
    suite: str, out: Path, methods: list[str], tasks: list[tuple[Task, int]], evals: int, batch: int, flight: int = 0
) -> int:
    data = load(out)
    done = 0
    last = time.monotonic()
    for method in methods:
        start, count = time.perf_counter(), 0
        for task, seed in tasks:
            if have(data, suite, task.name, seed, method, evals, batch, flight):
                continue
            run_key = key(suite, task.name, seed, method, evals, batch, flight)
            data["runs"][run_key] = record(suite, task, seed, method, evals, batch, flight)
            done += 1
            count += 1
            if time.monotonic() - last > 30:
                save(out, data)
                last = time.monotonic()
        if count:
            save(out, data)
            print(
                f"{suite} {method:44s} {count:4d} runs {time.perf_counter() - start:8.1f}s", file=sys.stderr, flush=True
            )
    return done


def int_ranges(items: list[str]) -> list[int]:
    out: list[int] = []
    for item in items:
        for part in item.split(","):
            lo, _, hi = part.partition("-")
            out += list(range(int(lo), int(hi or lo) + 1))
    return out


def split_methods(items: list[str]) -> list[str]:
    import re

    names = []
    for item in items:
        names += [s.strip() for s in re.split(r",(?![^\[]*\])", item) if s.strip()]
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", choices=("bbob", "sklearn", "mixed"))
    parser.add_argument("--methods", nargs="+", default=list(ALL_METHODS), help=f"of {', '.join(NAMES)}")
    parser.add_argument("--dims", nargs="+", type=int, default=[5])
    parser.add_argument("--functions", nargs="+", default=["1-24"])
    parser.add_argument("--instances", nargs="+", default=["1-10"], help="BBOB instances (the replicates)")
    parser.add_argument("--problems", nargs="+", help="scikit-learn problems as model:data (default: all)")
    parser.add_argument("--seeds", nargs="+", default=["0-4"], help="scikit-learn replicates")
    parser.add_argument("--evals", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1, help="synchronous batches of this size")
    parser.add_argument("--flight", type=int, default=0, help="asynchronous: this many trials in flight")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--order",
        choices=("method", "problem"),
        default="problem",
        help="problem: every method on a problem before the next (results comparable sooner)",
    )
    args = parser.parse_args(argv)
    methods = split_methods(args.methods)
    for name in methods:
        parse_method(name)
    out = args.out or DEFAULT_OUT[args.suite]
    if args.suite == "bbob":
        cells = [(f, d, i) for d in args.dims for i in int_ranges(args.instances) for f in int_ranges(args.functions)]
        tasks = [(bbob(f, d, i), i) for f, d, i in cells]
    elif args.suite == "mixed":
        names = args.problems or list(MIXED_PROBLEMS)
        tasks = [(mixed_task(name), s) for s in int_ranges(args.seeds) for name in names]
    else:
        pairs = [tuple(p.split(":")) for p in args.problems] if args.problems else list(SKLEARN_PROBLEMS)
        tasks = [(sklearn_task(m, d), s) for s in int_ranges(args.seeds) for m, d in pairs]
    n = 0
    if args.order == "problem":
        for task in tasks:
            n += run_all(args.suite, out, methods, [task], args.evals, args.batch, args.flight)
    else:
        n = run_all(args.suite, out, methods, tasks, args.evals, args.batch, args.flight)
    print(f"{args.suite}: {n} runs computed into {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
