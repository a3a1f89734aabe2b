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
    from parzen.trial import TrialState

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


def skip_without_connect_server():
    """pip's pyspark ships a Connect server from 4.0 on (3.5's ``remote("local")`` fetches it from Maven)."""
    import pyspark

    if int(pyspark.__version__.split(".")[0]) < 4:
        pytest.skip(f"pip's pyspark {pyspark.__version__} has no Spark Connect server (it ships from 4.0)")


def test_spark_connect_session(tmp_path):
    pytest.importorskip("grpc", reason="Spark Connect needs pyspark[connect]")
    skip_without_connect_server()
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


# ---- on a real Connect server (its own JVM), as Databricks serverless and shared clusters run ----


def _loaded_slowly():
    __import__("time").sleep(2.5)  # a model that takes a while to download and unpickle on the executor
    return __import__("numpy").random.default_rng(0).normal(size=2_000_000)  # 16 MB: an artifact


class SlowToLoad:
    """Captured by the objective: loading it on a worker takes 2.5 s, longer than trial_timeout."""

    def __reduce__(self):
        return (_loaded_slowly, ())


MODEL = SlowToLoad()


def quick_with_big_capture(p):
    """Returns at once (raises for x < -3): none of these may count as timed out."""
    if p["x"] < -3:
        raise ValueError("fails at once")
    return float(abs(MODEL[:10].mean() - p["x"]))


def test_trial_timeout_counts_the_objective_not_the_upload_and_worker_start(connect_spark):
    from parzen import SparkTrials, fmin, hp, rand

    pytest.importorskip("pyspark").cloudpickle.register_pickle_by_value(sys.modules[__name__])
    trials = SparkTrials(parallelism=2, spark_session=connect_spark, trial_timeout=1)
    fmin(
        quick_with_big_capture,
        {"x": hp.uniform("x", -5, 5)},
        algo=rand.suggest,
        max_evals=4,
        trials=trials,
        rstate=__import__("numpy").random.default_rng(7),
        show_progressbar=False,
    )
    timed_out = [r.error for r in trials.records if "trial_timeout" in (r.error or "")]
    assert timed_out == [] and trials.n_finished == 4


def test_an_executor_without_pyarrow_names_the_module(tmp_path):
    skip_without_connect_server()
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    from conftest import connect_server, python_without  # the helpers behind the shared fixtures
    from parzen import SparkTrials, fmin, hp, rand
    from parzen.exceptions import AllTrialsFailed

    python = python_without(tmp_path, "pyarrow")
    with connect_server(tmp_path / "server.log", python=str(python), cores=1) as url:
        session = ConnectSession.builder.remote(url).create()  # not the shared test session
        try:
            trials = SparkTrials(parallelism=1, spark_session=session)
            with pytest.raises(AllTrialsFailed):
                fmin(
                    lambda p: p["x"],
                    {"x": hp.uniform("x", 0, 1)},
                    algo=rand.suggest,
                    max_evals=2,
                    trials=trials,
                    show_progressbar=False,
                )
        finally:
            session.stop()
    for record in trials.records:
        assert record.result["error"].startswith("ModuleNotFoundError: No module named 'pyarrow'"), record.result
        assert "SQLSTATE" not in record.result["error"]
        assert "cannot be imported by the Python that runs trials on the executors" in record.error


def test_connect_executors_without_parzen_get_the_drivers_and_profiles_degrade(tmp_path):
    """A Connect server whose Python has neither parzen nor scipy: an objective using
    ``parzen.STATUS_OK`` runs on the shipped copy; a resource profile on this local-mode
    server is refused with a warning that says why and what runs instead."""
    import warnings

    skip_without_connect_server()
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    from conftest import connect_server, python_without
    from parzen import SparkTrials, fmin, hp, rand

    python = python_without(tmp_path, "scipy")
    with connect_server(tmp_path / "server.log", python=str(python), cores=2) as url:
        session = ConnectSession.builder.remote(url).create()
        try:
            with pytest.warns(UserWarning, match="cannot be given to trials") as caught:
                trials = SparkTrials(spark_session=session, cpus_per_trial=2)
            reason = str(next(w.message for w in caught if "cannot be given" in str(w.message)))
            assert "local mode" in reason or "mapInArrow(profile=)" in reason, reason

            def objective(p):
                import parzen

                return {"loss": p["x"], "status": parzen.STATUS_OK, "file": parzen.__file__,
                        "granted": parzen.trial_resources()}  # fmt: skip

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fmin(objective, {"x": hp.uniform("x", 0, 1)}, algo=rand.suggest, trials=trials, max_evals=3,
                     show_progressbar=False)  # fmt: skip
            second = SparkTrials(spark_session=session, parallelism=1)
            fmin(objective, {"x": hp.uniform("x", 0, 1)}, algo=rand.suggest, trials=second, max_evals=1,
                 show_progressbar=False)  # fmt: skip
        finally:
            session.stop()
    assert trials.n_failed == 0, [r.error for r in trials.records]
    assert all(".zip" in r.result["file"] for r in trials.records)
    assert {r.result["granted"]["cpus"] for r in trials.records} == {2}
    assert second.n_failed == 0, "the second run in the same session reuses what was shipped"
