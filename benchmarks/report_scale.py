"""Scale: `parzen report` on stores of 2,000 / 10,000 / 50,000 trials (issue 24, item 5).

    python benchmarks/report_scale.py                       # 2000 10000 50000
    python benchmarks/report_scale.py --trials 2000 10000 --folder /tmp/report-scale

Each store is made once (cached in --folder) by `fmin` with `rand.suggest` and
`trials_save_file`, on a space with a log scale, a quantised integer, a choice, a
conditional branch and a normal; 5% of the trials raise, 1 in 20 reports five
intermediate values (with a pruner that never prunes, so they are stored). Then
`parzen report store -o report.html` runs in a fresh process, timed, with its peak
memory (max RSS) taken from the kernel; the HTML's size is kept. Results are merged
into benchmarks/results/report_scale.json as they come (an interrupted run resumes).
Not a test: tests never assert on wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "report_scale.json"

MAKE = """
import sys
import numpy as np
import logging
import parzen
logging.getLogger("parzen").setLevel(logging.ERROR)
from parzen import fmin, hp, rand
from parzen.pruners import MedianPruner

space = {
    "lr": hp.loguniform("lr", np.log(1e-5), 0),
    "depth": hp.quniform("depth", 1, 12, 1),
    "act": hp.choice("act", ["relu", "tanh", "gelu"]),
    "opt": hp.choice("opt", [{"kind": "adam", "beta": hp.uniform("beta", 0.8, 0.999)}, {"kind": "sgd"}]),
    "shift": hp.normal("shift", 0, 1),
}

def objective(p):
    loss = (np.log10(p["lr"]) + 3) ** 2 + 0.05 * p["depth"] + 0.3 * abs(p["shift"])
    loss += 0.5 if p["opt"]["kind"] == "sgd" else 0.0
    if p["depth"] == 12 and p["act"] == "gelu":  # about 1 in 40: a failure with a traceback
        raise ValueError(f"depth {p['depth']} with {p['act']} does not fit in memory")
    if int(p["shift"] * 1e6) % 20 == 0:
        for step in range(1, 6):
            parzen.report(step, loss * (1 + 1 / step))
    return float(loss)

fmin(objective, space, algo=rand.suggest, max_evals=int(sys.argv[2]), trials_save_file=sys.argv[1],
     rstate=np.random.default_rng(0), show_progressbar=False, catch_eval_exceptions=True,
     pruner=MedianPruner(n_startup_trials=10**9))
"""


def make_store(folder: Path, n: int) -> Path:
    db = folder / f"scale-{n}.db"
    if not db.exists():
        start = time.perf_counter()
        part = db.with_suffix(".part")
        for stale in folder.glob(f"{part.name}*"):
            stale.unlink()
        subprocess.run([sys.executable, "-c", MAKE, str(part), str(n)], check=True)
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{part}{suffix}").exists():
                os.replace(f"{part}{suffix}", f"{db}{suffix}")
        print(f"made {db} ({n} trials) in {time.perf_counter() - start:.1f} s", flush=True)
    return db


def measure(db: Path, n: int) -> dict:
    """One `parzen report` in a fresh process: wall time, its own peak RSS (wait4), HTML size."""
    out = db.with_suffix(".html")
    log = db.with_suffix(".log")
    start = time.perf_counter()
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "parzen.cli", "report", str(db), "-o", str(out)], stdout=sink, stderr=sink
        )
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(log.read_text()[-3000:])
    return {
        "trials": n,
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),  # wall time depends on what else the machine runs
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "html_mb": round(out.stat().st_size / 2**20, 2),
        "store_mb": round(
            sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists()) / 2**20, 2
        ),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[2000, 10_000, 50_000])
    parser.add_argument("--folder", type=Path, default=Path("/tmp/parzen-report-scale"))
    parser.add_argument("--label", default="", help="a suffix for the result keys (e.g. 'before')")
    parser.add_argument("--force", action="store_true", help="measure again sizes already recorded")
    parser.add_argument("--src", help="a parzen source tree to import instead (e.g. main's, for 'before')")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for n in sorted(args.trials):
        key = f"{n}{'-' + args.label if args.label else ''}"
        if key in results and not args.force:
            print(f"{key}: recorded", json.dumps(results[key]))
            continue
        if args.src:
            os.environ["PYTHONPATH"] = args.src
        entry = measure(make_store(args.folder, n), n)
        print(f"{key}:", json.dumps(entry), flush=True)
        results[key] = entry
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
