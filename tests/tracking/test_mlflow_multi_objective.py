"""Several objectives and constraints in MLflow, against a real ``mlflow server``: a metric
per objective on each child run (named as MLflow accepts), constraints and feasibility,
and the parent's Pareto summary with links to the Pareto-optimal child runs."""

import json

import numpy as np
import pytest

mlflow = pytest.importorskip("mlflow")

from parzen import Trials, fmin, hp, hypervolume, rand  # noqa: E402
from parzen.exceptions import NoFeasibleTrial  # noqa: E402

pytestmark = pytest.mark.slow

SPACE = {"x": hp.uniform("x", 0, 1), "y": hp.uniform("y", 0, 1)}


def two_losses_one_constraint(p):
    """A convex front (x, 1 - sqrt(x) + y); feasible when x + y <= 1.2."""
    x, y = p["x"], p["y"]
    return {"loss": [x, 1 - np.sqrt(x) + y], "status": "ok", "constraints": [x + y - 1.2]}


def test_each_objective_is_a_metric_and_the_parent_holds_the_front(mlflow_experiment):
    client, experiment_id = mlflow_experiment
    trials = Trials()
    fmin(two_losses_one_constraint, SPACE, algo=rand.suggest, max_evals=16, trials=trials,
         objectives=["error", "latency (ms)"], rstate=np.random.default_rng(5), mlflow_tracking=True,
         show_progressbar=False)  # fmt: skip
    parents = client.search_runs([experiment_id], "tags.runSource = 'hyperoptAutoTracking'")
    assert len(parents) == 1
    parent = parents[0]
    children = client.search_runs([experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    by_tid = {int(c.data.tags["parzen.tid"]): c for c in children}
    assert sorted(by_tid) == list(range(16))
    for trial in trials.records:
        metrics = by_tid[trial.tid].data.metrics
        assert "loss" not in metrics
        assert metrics["loss_error"] == pytest.approx(trial.losses[0])
        assert metrics["loss_latency__ms_"] == pytest.approx(trial.losses[1])  # MLflow refuses '(' in keys
        assert metrics["constraint_0"] == pytest.approx(trial.constraints[0])
        assert metrics["feasible"] == (1.0 if trial.feasible else 0.0)
    front = trials.best_trials
    assert parent.data.metrics["pareto_size"] == len(front)
    assert parent.data.metrics["feasible_trials_count"] == sum(t.feasible for t in trials.records)
    assert parent.data.tags["pareto_trial_tids"] == ",".join(str(t.tid) for t in front)
    reference = json.loads(parent.data.tags["hypervolume_reference"])
    assert parent.data.metrics["hypervolume"] == pytest.approx(hypervolume([t.losses for t in front], reference))
    assert parent.data.tags["pareto_trial_run_ids"].split(",") == [by_tid[t.tid].info.run_id for t in front]
    note = parent.data.tags["mlflow.note.content"]
    assert note.startswith(f"Pareto-optimal trials ({len(front)}):")
    assert all(by_tid[t.tid].info.run_id in note for t in front)
    assert "best_trial_loss" not in parent.data.metrics and parent.info.status == "FINISHED"


def test_nothing_feasible_is_said_not_a_failed_summary(mlflow_experiment):
    client, experiment_id = mlflow_experiment

    def never_feasible(p):
        return {"loss": [p["x"], 1 - p["x"]], "status": "ok", "constraints": [1.0 + p["y"]]}

    with pytest.raises(NoFeasibleTrial, match="none of the 5 ok trials met every constraint"):
        fmin(never_feasible, SPACE, algo=rand.suggest, max_evals=5, trials=Trials(), rstate=np.random.default_rng(1),
             mlflow_tracking=True, show_progressbar=False)  # fmt: skip
    parent = client.search_runs([experiment_id], "tags.runSource = 'hyperoptAutoTracking'")[0]
    assert parent.info.status == "FINISHED" and parent.data.metrics["feasible_trials_count"] == 0
    assert "pareto_size" not in parent.data.metrics and parent.data.metrics["successful_trials_count"] == 5
