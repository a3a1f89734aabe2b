"""Seconds per suggestion of parzen's gp, tpe, auto and local at a given history size (issue 26's speed target).

    python benchmarks/auto_speed.py                     # d = 5 and 10, history 100, 300, 500
    python benchmarks/auto_speed.py --dims 20 --sizes 100 500
    python benchmarks/auto_speed.py --local --dims 5 10 20 --sizes 100 200

The driver fills free slots with one batch call (``suggest.many``), so a batch of 24 is timed as well as a
single suggestion: the target is at most 50 ms per suggestion at 100 trials of history and 300 ms at 500
on the 2-core machine. The history is random points of a smooth function, all finished; the first call
of each size is not timed (gp's first fit starts from its prior, later ones from the previous fit, as in a
run). Run it niced with one BLAS thread; results go to results/auto_speed.json.

``--local`` times local search differently, since its cost depends on its own trials, not random ones: a
sequential run of `size` trials on the same function, CPU per suggestion (median over the run's second
half), and a resume: the first suggestion on a fresh compiled space after those trials, which replays COBYLA
from the first trial. Its rows go to the same file under ``local_rows``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from parzen import Trials, hp
from parzen.algorithms import auto, gp, local, tpe
from parzen.space import compile_space

HERE = Path(__file__).resolve().parent
METHODS = {"gp": gp.suggest_many, "tpe": tpe.suggest_many, "auto": auto.suggest_many}


def history_of(space: Any, d: int, n: int, rng: np.random.Generator) -> Any:
    """n finished trials of a smooth multimodal function at random points."""
    trials = Trials()
    trials.attach_space(space)
    for _ in range(n):
        point = space.sample(rng)
        trial = trials.new(point)
        trials.finish(trial.tid, {"errored": False, "result": {"status": "ok", "loss": smooth(point, d)}})
    return trials.history()


def time_one(method: str, d: int, n: int, batch: int, repeats: int) -> dict[str, Any]:
    """Median CPU and wall ms per suggestion over `repeats` calls (a fresh compiled space per size)."""
    space = compile_space({f"x{i}": hp.uniform(f"x{i}", -5, 5) for i in range(d)})
    rng = np.random.default_rng(0)
    history = history_of(space, d, n, rng)
    many = METHODS[method]
    many(space, history, rng, 1)  # warm: gp's first fit, tpe's dimensions
    cpu, wall = [], []
    for _ in range(repeats):
        c, w = time.process_time(), time.perf_counter()
        many(space, history, rng, batch)
        cpu.append((time.process_time() - c) * 1000 / batch)
        wall.append((time.perf_counter() - w) * 1000 / batch)
    chosen = auto.decide(auto.features(space, history, extra=batch - 1)).method if method == "auto" else method
    return {
        "method": method,
        "runs": chosen,
        "d": d,
        "history": n,
        "batch": batch,
        "cpu_ms": round(float(np.median(cpu)), 2),
        "wall_ms": round(float(np.median(wall)), 2),
    }


def smooth(point: dict[str, Any], d: int) -> float:
    x = np.array([point[f"x{i}"] for i in range(d)])
    return float(np.sum((x - 0.5) ** 2) + np.sin(3 * x).sum())


def time_local(d: int, n: int) -> dict[str, Any]:
    """CPU ms per suggestion over a sequential run of `n` trials, and of the first one after a resume."""
    space_def = {f"x{i}": hp.uniform(f"x{i}", -5, 5) for i in range(d)}
    space = compile_space(space_def)
    trials = Trials()
    trials.attach_space(space)
    rng = np.random.default_rng(0)
    cpu = []
    for _ in range(n):
        c = time.process_time()
        point = local.suggest(space, trials.history(), rng)
        cpu.append((time.process_time() - c) * 1000)
        trial = trials.new(point)
        trials.finish(trial.tid, {"errored": False, "result": {"status": "ok", "loss": smooth(point, d)}})
    c = time.process_time()
    local.suggest(compile_space(space_def), trials.history(), rng)
    resume = (time.process_time() - c) * 1000
    return {
        "method": "local",
        "d": d,
        "history": n,
        "cpu_ms": round(float(np.median(cpu[n // 2 :])), 2),
        "resume_ms": round(resume, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", nargs="+", type=int, default=[5, 10])
    parser.add_argument("--sizes", nargs="+", type=int, default=[100, 300, 500])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 24])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "auto_speed.json")
    parser.add_argument("--local", action="store_true", help="time local search (its rows: local_rows)")
    args = parser.parse_args(argv)
    if args.local:
        local_rows = [time_local(d, n) for d in args.dims for n in args.sizes]
        for row in local_rows:
            print(json.dumps(row), flush=True)
        saved = json.loads(args.out.read_text()) if args.out.exists() else {"rows": []}
        args.out.write_text(json.dumps({**saved, "local_rows": local_rows}, indent=1))
        return 0
    rows = []
    for d in args.dims:
        for n in args.sizes:
            for method in args.methods:
                for batch in args.batches:
                    row = time_one(method, d, n, batch, args.repeats if batch == 1 else 1)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    saved = json.loads(args.out.read_text()) if args.out.exists() else {}
    args.out.write_text(json.dumps({**saved, "rows": rows, "gp_max_history": auto.GP_MAX_HISTORY}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
