"""A Spark standalone cluster on 127.0.0.1 (master + two workers from pyspark's bundled
spark-class): trials run in the workers' executors, whose Python has no parzen."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {limit}s")


def executor_python_without_parzen(tmp_path: Path) -> Path:
    """A virtualenv that sees this one's packages (pyspark, numpy) but not parzen.

    Paths added by a .pth file are not scanned for further .pth files, so the editable
    install of parzen in the main site-packages stays invisible.
    """
    import site

    env_dir = tmp_path / "executor-env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    target = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(target, "main-env.pth").write_text(site.getsitepackages()[0] + "\n")
    probe = subprocess.run([str(python), "-c", "import pyspark, numpy; import parzen"], capture_output=True, text=True)
    assert "No module named 'parzen'" in probe.stderr, probe.stderr
    return python


@pytest.fixture
def cluster(tmp_path):
    import pyspark

    spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
    port = free_port()
    env = dict(os.environ, SPARK_WORKER_DIR=str(tmp_path / "work"), SPARK_LOCAL_IP="127.0.0.1")
    env.pop("SPARK_REMOTE", None)
    procs = [
        subprocess.Popen(
            [
                str(spark_class),
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(free_port()),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    ]
    try:
        wait_for_port(port)
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        str(spark_class),
                        "org.apache.spark.deploy.worker.Worker",
                        "--host",
                        "127.0.0.1",
                        "--cores",
                        "2",
                        "--memory",
                        "1G",
                        "--webui-port",
                        str(free_port()),
                        f"spark://127.0.0.1:{port}",
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        yield f"spark://127.0.0.1:{port}"
    finally:
        for p in procs:
            os.killpg(p.pid, 15)
        for p in procs:
            p.wait(timeout=30)


DRIVER = textwrap.dedent(
    """
    import importlib.util, json, os, socket, sys
    from pyspark.sql import SparkSession
    from parzen import SparkTrials, fmin, hp, tpe
    from parzen.trials import TrialState

    master, executor_python = sys.argv[1], sys.argv[2]
    spark = (SparkSession.builder.master(master).appName("parzen-standalone")
             .config("spark.pyspark.python", executor_python).config("spark.executor.memory", "512m")
             .config("spark.cores.max", "4").config("spark.ui.enabled", "false").getOrCreate())

    def objective(p):
        if p["x"] > 4.5:
            raise ValueError("objective failure on the cluster")
        return {"loss": (p["x"] - 1) ** 2, "status": "ok", "pid": os.getpid(), "exe": sys.executable,
                "parzen_from": getattr(importlib.util.find_spec("parzen"), "origin", None)}

    trials = SparkTrials(parallelism=4, spark_session=spark)
    fmin(objective, {"x": hp.uniform("x", -5, 5)}, algo=tpe.suggest, trials=trials, max_evals=16,
         show_progressbar=False)
    ok = [r for r in trials.records if r.state == TrialState.DONE]
    print("RESULT " + json.dumps({
        "finished": trials.n_finished, "parallelism": trials.parallelism,
        "pids": sorted({r.result["pid"] for r in ok}), "exes": sorted({r.result["exe"] for r in ok}),
        "parzen_from": sorted({r.result["parzen_from"] for r in ok}), "driver_pid": os.getpid(),
        "errors": [r.error for r in trials.records if r.state == TrialState.ERROR],
    }))
    spark.stop()
    """
)


def test_trials_run_on_workers_without_parzen(cluster, tmp_path):
    executor_python = executor_python_without_parzen(tmp_path)
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = dict(os.environ, PYSPARK_PYTHON=str(executor_python), SPARK_LOCAL_IP="127.0.0.1")
    env.pop("SPARK_REMOTE", None)
    result = subprocess.run(
        [sys.executable, str(script), cluster, str(executor_python)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("RESULT "))
    summary = json.loads(line[len("RESULT ") :])
    assert summary["finished"] == 16 and summary["parallelism"] == 4
    assert summary["exes"] == [str(executor_python)]
    # not installed there: the only parzen an executor can import is the copy the driver shipped
    assert len(summary["parzen_from"]) == 1 and ".zip" in summary["parzen_from"][0], summary["parzen_from"]
    assert summary["driver_pid"] not in summary["pids"] and len(summary["pids"]) >= 2
    assert all("objective failure on the cluster" in e for e in summary["errors"])
