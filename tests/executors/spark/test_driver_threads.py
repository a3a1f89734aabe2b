"""``SparkTrials(run_trials_on="driver")``: trials that are themselves Spark programs (a
``pyspark.ml`` fit) run in driver threads, each trial's Spark jobs under its own job
group, cancelled with the trial."""

from __future__ import annotations

import time

import numpy as np
import pytest

from parzen import SparkTrials, fmin, hp, tpe
from parzen.exceptions import AllTrialsFailed
from parzen.executors.spark.driver_threads import SparkThreadExecutor

pytestmark = [pytest.mark.spark]


def test_tunes_a_pyspark_ml_model_from_driver_threads(spark):
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    from pyspark.ml.linalg import Vectors

    points = np.random.default_rng(0).normal(size=(300, 2))
    rows = [(Vectors.dense(x), float(x[0] + 0.5 * x[1] > 0)) for x in points]
    train, test = spark.createDataFrame(rows, ["features", "label"]).randomSplit([0.7, 0.3], seed=1)
    train.cache()

    def objective(p):
        model = LogisticRegression(regParam=p["reg"], maxIter=20).fit(train)  # Spark jobs, from this trial's thread
        auc = BinaryClassificationEvaluator().evaluate(model.transform(test))
        return {"loss": -auc, "status": "ok", "group": spark.sparkContext.getLocalProperty("spark.jobGroup.id")}

    trials = SparkTrials(spark_session=spark, run_trials_on="driver", parallelism=2)
    fmin(objective, {"reg": hp.loguniform("reg", -6, 1)}, algo=tpe.suggest, trials=trials, max_evals=6,
         rstate=np.random.default_rng(0), show_progressbar=False)  # fmt: skip
    assert trials.n_finished == 6 and trials.n_failed == 0
    assert min(trials.losses()) < -0.9
    groups = [r.result["group"] for r in trials.records]
    assert all(g.startswith("parzen-") for g in groups) and len(set(groups)) == 6, groups


def long_spark_job(spark):
    def objective(x):
        spark.sparkContext.parallelize(range(2), 2).map(lambda i: time.sleep(600)).count()
        return 0.0

    return objective


def active_jobs_of(sc, group: str) -> list[int]:
    active = set(sc.statusTracker().getActiveJobsIds())
    return [j for j in sc.statusTracker().getJobIdsForGroup(group) if j in active]


def test_a_cancelled_trials_spark_jobs_are_gone_within_a_second(spark):
    sc = spark.sparkContext
    executor = SparkThreadExecutor(spark, long_spark_job(spark), 2)
    try:
        executor.submit(0, 0.0)
        group = executor.jobs[0].tag
        end = time.monotonic() + 60
        while not active_jobs_of(sc, group) and time.monotonic() < end:
            time.sleep(0.05)
        assert active_jobs_of(sc, group), "the trial's Spark job runs under the trial's job group"
        assert executor.cancel(0)
        cancelled = time.monotonic()
        while active_jobs_of(sc, group) and time.monotonic() - cancelled < 1.0:
            time.sleep(0.02)
        assert active_jobs_of(sc, group) == [], "the cancelled trial's Spark jobs are still running after 1 s"
    finally:
        executor.close()


def test_trial_timeout_cancels_the_trials_spark_jobs(spark):
    sc = spark.sparkContext
    trials = SparkTrials(spark_session=spark, run_trials_on="driver", parallelism=2, trial_timeout=2)
    with pytest.raises(AllTrialsFailed, match="trial_timeout=2"):
        fmin(long_spark_job(spark), {"x": hp.uniform("x", 0, 1)}, algo=tpe.suggest, trials=trials, max_evals=2,
             show_progressbar=False)  # fmt: skip
    assert trials.n_failed == 2 and all("trial_timeout=2" in r.error for r in trials.records)
    assert sc.getLocalProperty("spark.jobGroup.id") is None, "the driver thread keeps no trial's job group"
    deadline = time.monotonic() + 1.0
    while sc.statusTracker().getActiveJobsIds() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sc.statusTracker().getActiveJobsIds() == [], "the timed-out trials' Spark jobs still run after 1 s"


def test_default_parallelism_on_the_driver_is_bounded_by_its_cores(spark):
    import os

    trials = SparkTrials(spark_session=spark, run_trials_on="driver")
    assert trials.parallelism == min(4, os.cpu_count() or 1)
