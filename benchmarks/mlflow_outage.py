"""What a tracking outage costs a run, with MLflow's DEFAULT client settings (issue 24, item 3).

    python benchmarks/mlflow_outage.py                     # this checkout's parzen
    python benchmarks/mlflow_outage.py --src /tmp/old/src --label before

A driver process runs `fmin` (30 trials of 0.2 s, random search, a trial store) with
tracking to a real ``mlflow server`` started here (sqlite backend), and the server:

- ``off``: tracking off (the cost of the run itself on this machine at this moment);
- ``healthy``: stays up (the baseline);
- ``killed``: is killed (SIGKILL) when trial 4 starts, and stays down;
- ``stopped``: is stopped (SIGSTOP: it accepts connections and never answers) at trial 4;
- ``closed``: never existed (the URI names a closed port).

Recorded, median of 3 runs (all kept): fmin's own time (mlflow is imported before, as
it costs the same with or without an outage), the time from fmin's return to the end
of the process (the interpreter's exit), the count the end-of-run warning gives, and
the count really missing (after the server is back: trials without a FINISHED child
run holding its loss). Results are merged into
benchmarks/results/mlflow_outage.json as they come. Not a test: tests never assert on time.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "mlflow_outage.json"
sys.path.insert(0, str(HERE.parent / "tests"))

DRIVER = """
import json, os, signal, sys, time
import numpy as np
from parzen import fmin, hp, rand

server, action, at, n, store = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
calls = []

def objective(p):
    calls.append(1)
    if len(calls) == at and action in ("killed", "stopped") and server > 0:
        os.killpg(server, signal.SIGKILL if action == "killed" else signal.SIGSTOP)
    time.sleep(0.2)
    return p["x"] ** 2

if action != "off":
    import mlflow  # a few seconds on a loaded machine, tracking or not: not an outage's cost
start = time.monotonic()
fmin(objective, {"x": hp.uniform("x", -1, 1)}, algo=rand.suggest, max_evals=n, trials_save_file=store,
     show_progressbar=False, mlflow_tracking=action != "off", rstate=np.random.default_rng(0))
print(json.dumps({"fmin_seconds": time.monotonic() - start, "returned_at": time.time()}), flush=True)
"""

FAST_CLIENT = ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR")


def missing_runs(uri: str, experiment_id: str, n: int) -> int:
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    runs = MlflowClient(uri).search_runs([experiment_id], run_view_type=ViewType.ALL, max_results=5000)
    written = {
        int(r.data.tags["parzen.tid"])
        for r in runs
        if "parzen.tid" in r.data.tags and r.info.status == "FINISHED" and "loss" in r.data.metrics
    }
    return n - len(written)


def scenario(name: str, folder: Path, src: str | None, n: int = 30, at: int = 4) -> dict:
    from conftest import MlflowServer, free_port
    from mlflow.tracking import MlflowClient

    server = MlflowServer(folder)
    uri = f"http://127.0.0.1:{free_port()}"
    experiment_id = "0"
    if name not in ("closed", "off"):
        server.start()
        uri = server.uri
        experiment_id = MlflowClient(uri).create_experiment(f"{name}-{time.time_ns()}")
    env = {k: v for k, v in os.environ.items() if k not in FAST_CLIENT}
    env.update(MLFLOW_TRACKING_URI=uri, MLFLOW_EXPERIMENT_ID=experiment_id)
    if src:
        env["PYTHONPATH"] = src
    action = {"healthy": "none", "closed": "none"}.get(name, name)
    if name == "off":
        env.pop("MLFLOW_TRACKING_URI")
    pid = server.process.pid if server.process is not None else 0
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(pid), action, str(at), str(n), str(folder / "t.db")],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    whole, exited = time.monotonic() - start, time.time()
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    said = [line for line in done.stderr.splitlines() if "not yet written" in line]
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    entry = {
        "trials": n,
        "work_seconds": round(n * 0.2, 1),
        "fmin_seconds": round(printed["fmin_seconds"], 2),
        "exit_seconds": round(exited - printed["returned_at"], 2),  # from fmin's return to the process's end
        "process_seconds": round(whole, 2),
        "warning": said[0][:300] if said else None,
    }
    if name == "stopped":
        os.killpg(pid, signal.SIGCONT)
    if name in ("killed", "stopped"):
        server.kill()
        server.start()
    if name not in ("closed", "off"):
        entry["really_missing"] = missing_runs(server.uri, experiment_id, n)
        server.kill()
    else:
        entry["really_missing"] = n if name == "closed" else 0
    return entry


def _said(warning: str | None) -> int | None:
    """The count of trials the end-of-run warning says are not written (either wording)."""
    if not warning:
        return 0
    text = warning.split("MLflow: ", 1)[-1]
    head = text.split(" ", 1)[0]
    return int(head) if head.isdigit() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", nargs="+", default=["off", "healthy", "killed", "stopped", "closed"])
    parser.add_argument("--src", help="a parzen source tree to run instead (e.g. an older one, for 'before')")
    parser.add_argument("--label", default="after")
    parser.add_argument("--repeats", type=int, default=3, help="runs per scenario; the median is kept")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in args.scenarios:
        runs = []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as folder:
                runs.append(scenario(name, Path(folder), args.src))
        entry = dict(sorted(runs, key=lambda r: r["fmin_seconds"])[len(runs) // 2])
        entry["fmin_seconds_all"] = [r["fmin_seconds"] for r in runs]
        entry["exit_seconds_all"] = [r["exit_seconds"] for r in runs]
        entry["said_vs_missing"] = [(_said(r["warning"]), r["really_missing"]) for r in runs]
        results[f"{name}-{args.label}"] = entry | {"when": time.strftime("%Y-%m-%d %H:%M")}
        print(name, json.dumps(entry), flush=True)
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
