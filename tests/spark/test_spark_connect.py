"""SparkTrials on Spark Connect: a local Connect server (``remote("local[4]")``) in a
child process; trials are tagged mapInArrow queries, cancelled with interruptTag."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    import numpy as np
    from pyspark.sql import SparkSession
    from parzen import SparkTrials, fmin, hp, rand, tpe
    from parzen.trials import TrialState

    spark = SparkSession.builder.remote("local[4]").config("spark.ui.enabled", "false").getOrCreate()
    report = {"session": type(spark).__module__}
    space = {"x": hp.uniform("x", -5, 5)}

    def objective(p):
        if p["x"] < -3:
            raise ValueError("connect failure")
        return {"loss": (p["x"] - 1) ** 2, "status": "ok", "pid": os.getpid()}

    trials = SparkTrials(parallelism=4)
    report["parallelism"] = trials.parallelism
    best = fmin(objective, space, algo=tpe.suggest, trials=trials, max_evals=16, rstate=np.random.default_rng(0),
                show_progressbar=False)
    report["finished"] = trials.n_finished
    report["errors"] = [r.error for r in trials.records if r.state == TrialState.ERROR]
    report["pids"] = len({r.result["pid"] for r in trials.records if r.state == TrialState.DONE})

    def hangs(p):
        if p["x"] < 0:
            time.sleep(600)
        return p["x"]

    start = time.monotonic()
    trials = SparkTrials(parallelism=2, trial_timeout=2)
    fmin(hangs, space, algo=rand.suggest, trials=trials, max_evals=6, rstate=np.random.default_rng(1),
         show_progressbar=False)
    report["timeout_finished"] = trials.n_finished
    report["timed_out"] = sum("trial_timeout" in (r.error or "") for r in trials.records)
    report["timeout_wall"] = time.monotonic() - start

    data = np.random.default_rng(0).normal(size=400_000)  # 3.2 MB: goes up as an artifact
    def big(p):
        return float(abs(data.mean() - p["x"]))
    trials = SparkTrials(parallelism=2)
    fmin(big, space, algo=rand.suggest, trials=trials, max_evals=3, show_progressbar=False)
    report["big_failed"] = trials.n_failed
    print("REPORT " + json.dumps(report))
    """
)


def test_spark_connect_session(tmp_path):
    pytest.importorskip("grpc", reason="Spark Connect needs pyspark[connect]")
    script = tmp_path / "connect_driver.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    env.pop("SPARK_REMOTE", None)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("REPORT "))
    report = json.loads(line[len("REPORT ") :])
    assert report["session"].startswith("pyspark.sql.connect")
    assert report["finished"] == 16 and report["parallelism"] == 4
    assert report["errors"] and all("ValueError: connect failure" in e for e in report["errors"])
    assert report["timeout_finished"] == 6 and report["timed_out"] >= 1
    assert report["big_failed"] == 0
