"""A Spark standalone cluster on 127.0.0.1 (master + two workers from pyspark's bundled
spark-class): trials run in the workers' executors, whose Python has no parzen."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cluster_helpers import standalone_cluster

pytestmark = [pytest.mark.spark, pytest.mark.slow]


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
    """A master and two workers of 2 cores on 127.0.0.1; yields the master URL."""
    with standalone_cluster(tmp_path, workers=2, cores=2) as conf:
        yield conf["spark.master"]


DRIVER = textwrap.dedent(
    """
    import importlib.util, json, os, socket, sys
    from pyspark.sql import SparkSession
    from parzen import SparkTrials, fmin, hp, tpe
    from parzen.trial import TrialState

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
