"""Injected faults on real Spark with the store on: every fault is a failed trial (or a
specific exception before any job), the run finishes, and no finished trial is lost --
in memory or in the store."""

import math
import os
import sys
import threading
import time

import numpy as np
import pytest

from parzen import STATUS_OK, SparkTrials, fmin, hp, load_trials, rand
from parzen.exceptions import ObjectiveNotSerializable
from parzen.trial import TrialState

pytestmark = pytest.mark.spark
pytest.importorskip("pyspark").cloudpickle.register_pickle_by_value(sys.modules[__name__])

SPACE = {"x": hp.uniform("x", 0, 1)}
MAX_EVALS = 8


def _raise(p):
    raise KeyError("missing column 'age'")


def _segfault(p):
    import ctypes

    ctypes.string_at(0)


def _hang(p):
    time.sleep(600)


FAULTS = {
    # name: (what a faulty trial does, words its error must contain)
    "raises": (_raise, "KeyError: \"missing column 'age'\""),
    "nan": (lambda p: math.nan, "returned nan"),
    "inf": (lambda p: math.inf, "returned inf"),
    "none": (lambda p: None, "returned NoneType None"),
    "string": (lambda p: "0.3", "returned str '0.3'"),
    "dict_without_loss": (lambda p: {"status": STATUS_OK, "acc": 0.9}, "without a 'loss'"),
    "bad_status": (lambda p: {"loss": 1.0, "status": "done"}, "valid statuses"),
    "os_exit": (lambda p: os._exit(1), "Python worker running it died"),
    "segfault": (_segfault, "Segmentation fault"),
    "hang": (_hang, "trial_timeout=2"),
}


def mixed(fault):
    """Half the trials (x < 0.5) hit the fault; the others succeed with loss x."""

    def objective(p):
        if p["x"] < 0.5:
            return fault(p)
        return {"loss": p["x"], "status": STATUS_OK}

    return objective


def check_nothing_lost(trials, db):
    stored = {r.tid: r for r in load_trials(db).records}
    assert trials.n_finished == MAX_EVALS
    for record in trials.records:
        assert stored[record.tid].state == record.state
        assert stored[record.tid].loss == record.loss


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_is_a_failed_trial_and_the_run_finishes(spark, tmp_path, name):
    fault, words = FAULTS[name]
    db = tmp_path / "faults.db"
    trials = SparkTrials(parallelism=2, spark_session=spark, trial_timeout=2 if name == "hang" else None)
    fmin(
        mixed(fault),
        SPACE,
        algo=rand.suggest,
        trials=trials,
        max_evals=MAX_EVALS,
        trials_save_file=str(db),
        rstate=np.random.default_rng(3),
        show_progressbar=False,
    )
    bad = [r for r in trials.records if r.params["x"] < 0.5]
    good = [r for r in trials.records if r.params["x"] >= 0.5]
    assert bad and good, "the seed gives both kinds of trial"
    assert all(r.state == TrialState.ERROR and words in r.error for r in bad), bad[0].error
    assert all(r.state == TrialState.DONE and r.loss == r.params["x"] for r in good)
    check_nothing_lost(trials, db)


def test_50_mb_attachment(spark, tmp_path):
    db = tmp_path / "big.db"

    def big(p):
        return {"loss": p["x"], "status": STATUS_OK, "attachments": {"weights": os.urandom(50 * 2**20)}}

    trials = SparkTrials(parallelism=2, spark_session=spark)
    fmin(big, SPACE, algo=rand.suggest, trials=trials, max_evals=2, trials_save_file=str(db), show_progressbar=False)
    loaded = load_trials(db)
    assert all(len(loaded.trial_attachments(d)["weights"]) == 50 * 2**20 for d in loaded.trials)


def test_megabytes_of_stdout_keep_a_bounded_tail(spark):
    def chatty(p):
        for i in range(200_000):
            print(f"line {i:06d} of the training log")
        return p["x"]

    trials = SparkTrials(parallelism=2, spark_session=spark)
    fmin(chatty, SPACE, algo=rand.suggest, trials=trials, max_evals=2, show_progressbar=False)
    for record in trials.records:
        assert record.state == TrialState.DONE
        assert len(record.stdout) <= 20_000 and record.stdout.rstrip().endswith("line 199999 of the training log")


def test_unpicklable_capture_is_refused_before_any_trial(spark, tmp_path):
    db = tmp_path / "unpicklable.db"
    connection = threading.Lock()

    def uses_connection(p):
        with connection:
            return p["x"]

    with pytest.raises(ObjectiveNotSerializable, match="'connection'"):
        fmin(
            uses_connection,
            SPACE,
            algo=rand.suggest,
            trials=SparkTrials(parallelism=2, spark_session=spark),
            max_evals=4,
            trials_save_file=str(db),
            show_progressbar=False,
        )
    assert len(load_trials(db)) == 0


def _deep_result(p):
    result = {"loss": p["x"], "status": STATUS_OK}
    level = result
    for _ in range(5000):
        level["inner"] = {}
        level = level["inner"]
    return result


HOSTILE_RESULTS = {
    "tuple_key": lambda p: {"loss": p["x"], "status": STATUS_OK, (1, 2): "x"},
    "nested_5000_deep": _deep_result,
}


@pytest.mark.parametrize("name", sorted(HOSTILE_RESULTS))
def test_a_result_the_store_cannot_hold_as_is_is_converted_not_a_crash(spark, tmp_path, name):
    """Found by the second fault probe: these crashed fmin and left the trial RUNNING in the store."""
    db = tmp_path / "hostile.db"
    trials = SparkTrials(parallelism=2, spark_session=spark)
    with pytest.warns(Warning, match="the store keeps its repr"):
        fmin(HOSTILE_RESULTS[name], SPACE, algo=rand.suggest, trials=trials, max_evals=4, trials_save_file=str(db),
             show_progressbar=False)  # fmt: skip
    assert all(r.state == TrialState.DONE and r.loss == r.params["x"] for r in trials.records)
    stored = load_trials(db).records
    assert [r.state for r in stored] == [TrialState.DONE] * 4
    assert all(r.loss == r.params["x"] for r in stored)
