"""Objective-side MLflow logging on Spark executors lands in the trial's child run, on classic
Spark and on Spark Connect; an executor without mlflow says so and runs the trial anyway."""

import os
import sys

import pytest

from parzen import SparkTrials, fmin, hp, rand
from parzen._remote.context import _shared_state
from parzen._remote.run import run_captured
from parzen.exceptions import InvalidArgument
from parzen.tracking import DATABRICKS_CONF, tracking_wanted

mlflow = pytest.importorskip("mlflow")
pytestmark = [pytest.mark.spark, pytest.mark.slow]

SPACE = {"kind": hp.choice("kind", ["adam", "sgd"]), "x": hp.uniform("x", -1, 1)}


def objective(p):
    import os

    import mlflow

    for step in range(3):
        mlflow.log_metric("worker_metric", p["x"] * step, step=step)
    mlflow.set_tag("worker_pid", str(os.getpid()))
    mlflow.log_param("kind_seen", p["kind"])
    return p["x"] ** 2


def check_worker_logging(session, mlflow_experiment):
    pytest.importorskip("pyspark").cloudpickle.register_pickle_by_value(sys.modules[__name__])
    client, experiment_id = mlflow_experiment
    trials = SparkTrials(parallelism=2, spark_session=session)
    fmin(objective, SPACE, algo=rand.suggest, max_evals=6, trials=trials, show_progressbar=False)
    parent = client.search_runs([experiment_id], "tags.runSource = 'hyperoptAutoTracking'")[0]
    assert parent.data.params["parallelism"] == "2" and parent.data.metrics["total_trials_count"] == 6
    children = client.search_runs([experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    assert len(children) == 6
    for child in children:
        trial = trials.record(int(child.data.tags["parzen.tid"]))
        assert child.data.tags["worker_pid"] != str(os.getpid())  # logged from a Python worker
        assert child.data.params["kind_seen"] == child.data.params["kind"]  # the value, as the objective saw it
        history = client.get_metric_history(child.info.run_id, "worker_metric")
        assert [m.step for m in history] == [0, 1, 2]
        assert history[-1].value == pytest.approx(2 * trial.params["x"])
        assert child.info.status == "FINISHED" and child.data.metrics["loss"] == pytest.approx(trial.loss)


def test_worker_side_logging_on_local_spark(spark, mlflow_experiment):
    check_worker_logging(spark, mlflow_experiment)


def test_worker_side_logging_on_spark_connect(connect_spark, mlflow_experiment):
    check_worker_logging(connect_spark, mlflow_experiment)


def test_an_executor_without_mlflow_runs_the_trial_and_says_why(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` raises ImportError, as where it is missing
    monkeypatch.delitem(_shared_state().__dict__, "said", raising=False)
    context = {"tid": 3, "mlflow": {"run_id": "0123456789abcdef", "tracking_uri": "http://127.0.0.1:1"}}
    first = run_captured(lambda p: p["x"], {"x": 0.5}, context=context)
    second = run_captured(lambda p: p["x"], {"x": 0.25}, context=context)
    assert not first["errored"] and first["result"]["loss"] == 0.5 and second["result"]["loss"] == 0.25
    assert "mlflow is not installed for the Python running this trial" in first["stderr"]
    assert second["stderr"] == ""  # said once per worker


def test_databricks_switch_is_honoured(spark, mlflow_experiment):
    trials = SparkTrials(parallelism=2, spark_session=spark)
    assert tracking_wanted(None, trials) is True
    spark.conf.set(DATABRICKS_CONF, "false")
    try:
        assert tracking_wanted(None, trials) is False
        assert tracking_wanted(True, trials) is True  # the argument wins
        spark.conf.set(DATABRICKS_CONF, "sometimes")
        with pytest.raises(InvalidArgument, match="spark.databricks.mlflow.trackHyperopt.enabled is 'sometimes'"):
            tracking_wanted(None, trials)
    finally:
        spark.conf.unset(DATABRICKS_CONF)
