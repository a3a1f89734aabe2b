"""MLflow tracking against a real ``mlflow server``: Databricks' hyperopt schema key for key,
objective-side logging into the trial's child run, failed and cancelled trials, resume
into the same parent run, and a server killed mid-run (tuning finishes, nothing lost)."""

import json
import logging
import threading

import pytest

mlflow = pytest.importorskip("mlflow")

from parzen import Trials, fmin, hp, rand  # noqa: E402
from parzen.exceptions import InvalidArgument  # noqa: E402
from parzen.storage.store import TrialStore  # noqa: E402
from parzen.tracking import tracking_wanted  # noqa: E402
from parzen.tracking.mlflow_observer import PARENT_META_KEY, MlflowObserver  # noqa: E402

pytestmark = pytest.mark.slow

SPACE = {
    "criterion": hp.choice("criterion", ["gini", "entropy"]),
    "x": hp.uniform("x", -1, 1),
    "depth": hp.quniform("depth", 2, 8, 1),
}


def runs_of(client, experiment_id, filter_string=""):
    return client.search_runs([experiment_id], filter_string=filter_string, max_results=1000)


def parent_and_children(client, experiment_id):
    parents = runs_of(client, experiment_id, "tags.runSource = 'hyperoptAutoTracking'")
    assert len(parents) == 1, [p.info.run_id for p in parents]
    parent = parents[0]
    children = runs_of(client, experiment_id, f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    return parent, {int(c.data.tags["parzen.tid"]): c for c in children}


class Scripted:
    """An objective whose 2nd call raises and whose 5th call is good enough to stop the run."""

    def __init__(self):
        self.calls = 0

    def __call__(self, p):
        self.calls += 1
        mlflow.log_metric("inside", self.calls)  # no start_run: lands in the trial's child run
        mlflow.set_tag("criterion_seen", p["criterion"])
        if self.calls == 2:
            raise ValueError("a failed trial")
        return -100.0 if self.calls == 5 else p["x"] ** 2


def test_every_key_of_the_schema_nested_in_the_active_run(mlflow_experiment):
    client, experiment_id = mlflow_experiment
    trials = Trials()
    with mlflow.start_run() as outer:
        fmin(
            Scripted(),
            SPACE,
            algo=rand.suggest,
            max_evals=20,
            trials=trials,
            loss_threshold=-50,
            max_queue_len=3,
            catch_eval_exceptions=True,
            show_progressbar=False,
        )
        assert mlflow.active_run().info.run_id == outer.info.run_id  # the caller's run is left as it was
    parent, children = parent_and_children(client, experiment_id)
    info = parent.data
    assert info.tags["mlflow.parentRunId"] == outer.info.run_id
    assert client.get_run(outer.info.run_id).info.status == "FINISHED"  # ended by the caller's `with`, not parzen
    assert info.params == {
        "max_evals": "20",
        "parallelism": "None",
        "actual_parallelism": "3",
        "timeout": "None",
        "algo": "rand.suggest",
        "max_queue_len": "3",
    }
    assert json.loads(info.tags["space"])  # the space, as text
    fmin_uuid = info.tags["fmin_uuid"]
    assert len(fmin_uuid) == 32
    states = [t.state.name for t in trials.records]
    assert states.count("DONE") == 4 and states.count("ERROR") == 1 and states.count("CANCELLED") >= 1
    assert info.metrics == {
        "successful_trials_count": 4.0,
        "failed_trials_count": 1.0,
        "cancelled_trials_count": states.count("CANCELLED"),
        "total_trials_count": len(states),
        "best_trial_loss": -100.0,
    }
    best = trials.best_trial["tid"]
    assert info.tags["best_trial_run_id"] == children[best].info.run_id
    assert children[best].info.run_id in info.tags["mlflow.note.content"]
    assert info.tags["best.criterion"] in ("gini", "entropy")  # a value, not an index
    assert parent.info.status == "FINISHED"

    assert sorted(children) == [t.tid for t in trials.records]
    for trial in trials.records:
        child = children[trial.tid]
        tags, params, metrics = child.data.tags, child.data.params, child.data.metrics
        assert tags["fmin_uuid"] == fmin_uuid and tags["mlflow.parentRunId"] == parent.info.run_id
        index = trial.params["criterion"]
        assert params["criterion"] == ["gini", "entropy"][index] and params["criterion.index"] == str(index)
        assert float(params["x"]) == pytest.approx(trial.params["x"])
        expected = {
            "DONE": ("FINISHED", "success"),
            "ERROR": ("FAILED", "failure"),
            "CANCELLED": ("KILLED", "cancelled"),
        }
        assert (child.info.status, tags["trial_status"]) == expected[trial.state.name]
        if trial.state.name == "DONE":
            assert metrics["loss"] == pytest.approx(trial.loss)
        else:
            assert "loss" not in metrics
        if trial.state.name != "CANCELLED":  # it ran: what the objective logged is in its own run
            assert "inside" in metrics and tags["criterion_seen"] == params["criterion"]
    assert (
        "a failed trial" in children[[t.tid for t in trials.records if t.state.name == "ERROR"][0]].data.tags["error"]
    )


def test_resume_continues_the_same_parent_run(mlflow_experiment, tmp_path):
    client, experiment_id = mlflow_experiment
    path = tmp_path / "tuning.db"
    for max_evals in (4, 7):
        fmin(
            lambda p: p["x"] ** 2,
            SPACE,
            algo=rand.suggest,
            max_evals=max_evals,
            trials_save_file=path,
            show_progressbar=False,
        )
    parent, children = parent_and_children(client, experiment_id)
    store = TrialStore(path, readonly=True)
    assert store.meta(PARENT_META_KEY) == parent.info.run_id
    assert sorted(children) == list(range(7))
    assert parent.data.metrics["total_trials_count"] == 7
    assert parent.data.params["max_evals"] == "4"  # params are write-once: the first session's stay
    assert parent.data.tags["parzen.resumed"] == "1"
    assert {c.data.tags["fmin_uuid"] for c in children.values()} == {parent.data.tags["fmin_uuid"]}


def test_killed_server_tuning_finishes_and_nothing_is_lost(mlflow_server, mlflow_experiment, caplog):
    client, experiment_id = mlflow_experiment
    observer = MlflowObserver()
    observer.flush_seconds = 1.0
    observer.retry_seconds = (0.2, 1.0)
    calls = []

    def objective(p):
        calls.append(1)
        if len(calls) == 4:
            mlflow_server.kill()  # the tracking server dies mid-run
        return p["x"] ** 2

    trials = Trials()
    with caplog.at_level(logging.WARNING, logger="parzen"):
        fmin(
            objective,
            SPACE,
            algo=rand.suggest,
            max_evals=25,
            trials=trials,
            observers=[observer],
            mlflow_tracking=False,
            show_progressbar=False,
        )
    assert trials.n_finished == 25  # tuning went on
    assert "MLflow tracking at" in caplog.text and "not yet written" in caplog.text
    restart = threading.Thread(target=mlflow_server.start)
    restart.start()
    restart.join()
    assert observer.done.wait(120), observer.last_error  # the retries write everything once it is back
    parent, children = parent_and_children(client, experiment_id)
    assert sorted(children) == list(range(25))
    assert all(c.info.status == "FINISHED" and "loss" in c.data.metrics for c in children.values())
    assert parent.data.metrics["successful_trials_count"] == 25 and parent.info.status == "FINISHED"


def test_the_switch(mlflow_experiment, monkeypatch):
    client, experiment_id = mlflow_experiment
    monkeypatch.setenv("PARZEN_MLFLOW_TRACKING", "false")
    fmin(lambda p: p["x"], SPACE, algo=rand.suggest, max_evals=3, show_progressbar=False)
    assert runs_of(client, experiment_id) == []
    monkeypatch.setenv("PARZEN_MLFLOW_TRACKING", "maybe")
    with pytest.raises(InvalidArgument, match="PARZEN_MLFLOW_TRACKING is 'maybe'"):
        fmin(lambda p: p["x"], SPACE, algo=rand.suggest, max_evals=3, show_progressbar=False)
    assert tracking_wanted(False) is False
    monkeypatch.delenv("PARZEN_MLFLOW_TRACKING")
    assert tracking_wanted(None) is True  # MLFLOW_TRACKING_URI is set
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert tracking_wanted(None) is False  # nowhere configured: no ./mlruns litter
    with pytest.raises(InvalidArgument, match="mlflow_tracking must be True, False or None"):
        tracking_wanted("yes")


def test_a_trial_without_a_ready_run_gets_its_run_afterwards(mlflow_experiment, capsys):
    """No child run ready (server slow or down): the trial runs at once, its run is made
    afterwards, and mlflow calls inside it go where MLflow puts them without parzen."""
    client, experiment_id = mlflow_experiment
    observer = MlflowObserver()
    observer.runs_ahead = 0  # nothing made ahead of need, as when the server cannot keep up

    def objective(p):
        mlflow.log_metric("inside", 1.0)
        return p["x"] ** 2

    trials = Trials()
    fmin(
        objective,
        SPACE,
        algo=rand.suggest,
        max_evals=3,
        trials=trials,
        observers=[observer],
        mlflow_tracking=False,
        show_progressbar=False,
    )
    assert "no MLflow run was ready for trial 0" in capsys.readouterr().err
    parent, children = parent_and_children(client, experiment_id)
    assert sorted(children) == [0, 1, 2]
    for tid, child in children.items():
        assert child.data.metrics["loss"] == pytest.approx(trials.record(tid).loss)
        assert "inside" not in child.data.metrics
    elsewhere = runs_of(client, experiment_id, "metrics.inside = 1")
    assert len(elsewhere) == 1 and "mlflow.parentRunId" not in elsewhere[0].data.tags  # MLflow's own default run
    mlflow.end_run()


def test_learning_curves_are_step_metrics_and_pruned_trials_say_so(mlflow_experiment):
    """What an objective reports is the child run's ``intermediate_value`` history (one point
    per step); ``loss`` stays the final loss; a pruned trial's run is FINISHED, tagged pruned."""
    from parzen.pruners import MedianPruner

    import parzen

    client, experiment_id = mlflow_experiment

    def curve(p):
        value = 0.0
        for step in range(1, 6):
            value = (p["x"] + 1) / step  # the worse x, the worse every step
            if parzen.report(step, value):
                raise parzen.TrialPruned()
        return value

    trials = Trials()
    fmin(
        curve,
        SPACE,
        algo=rand.suggest,
        max_evals=12,
        trials=trials,
        pruner=MedianPruner(n_startup_trials=3),
        rstate=__import__("numpy").random.default_rng(3),
        mlflow_tracking=True,
        show_progressbar=False,
    )
    pruned = [t for t in trials.records if t.state.name == "PRUNED"]
    assert pruned, "the median rule pruned nothing: the test needs a pruned trial"
    _, children = parent_and_children(client, experiment_id)
    for trial in trials.records:
        child = children[trial.tid]
        history = client.get_metric_history(child.info.run_id, "intermediate_value")
        logged = sorted((m.step, m.value) for m in history)
        assert [step for step, _ in logged] == sorted(trial.intermediate)
        assert [value for _, value in logged] == pytest.approx([trial.intermediate[s] for s, _ in logged])
        if trial.state.name == "PRUNED":
            assert child.data.tags["trial_status"] == "pruned" and child.info.status == "FINISHED"
            assert len(history) < 5
        else:
            assert child.data.metrics["loss"] == pytest.approx(trial.loss)


def test_trials_faster_than_run_creation_still_log_into_their_own_runs(mlflow_experiment):
    """One child run made ahead, trials that take no time: each trial waits (briefly) for
    its run instead of logging to MLflow's default run."""
    client, experiment_id = mlflow_experiment
    observer = MlflowObserver()
    observer.runs_ahead = 1

    def objective(p):
        mlflow.log_metric("inside", p["x"])
        return p["x"] ** 2

    trials = Trials()
    fmin(objective, SPACE, algo=rand.suggest, max_evals=8, trials=trials, observers=[observer],
         mlflow_tracking=False, show_progressbar=False)  # fmt: skip
    _, children = parent_and_children(client, experiment_id)
    assert sorted(children) == list(range(8)) and observer.without_run == 0
    for tid, child in children.items():
        assert child.data.metrics["inside"] == pytest.approx(trials.record(tid).params["x"])
