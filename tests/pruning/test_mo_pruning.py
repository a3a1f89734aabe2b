"""Pruning with several objectives (issue 25, point 6): reports of several losses, MO-ASHA, and the
one-value pruners applied to a chosen objective. Real objectives through fmin, a real store."""

from __future__ import annotations

import logging
import math
import random
import warnings
from dataclasses import replace

import numpy as np
import pytest
from parzen.pruners import ASHAPruner, MedianPruner, MOASHAPruner, SuccessiveHalvingPruner

import parzen
from parzen import Trials, TrialState, fmin, hp, load_trials, report, tpe
from parzen.trial import Trial

EPOCHS = 27
SPACE = {"width": hp.uniform("width", 0, 1), "lr": hp.loguniform("lr", math.log(1e-3), 0)}


def curves(params, epoch):
    """Error falls with epochs to a floor the learning rate sets; cost grows with the width.

    Wide models reach a lower error, so error and cost conflict along `width`."""
    floor = 0.3 * (1 - params["width"]) + (math.log10(params["lr"]) + 1.5) ** 2 / 5
    error = floor + 1.5 * math.exp(-0.3 * (epoch + 1))
    cost = (0.2 + params["width"]) * (epoch + 1) / EPOCHS
    return [error, cost]


def two_objective(params):
    for epoch in range(EPOCHS):
        if report(epoch, curves(params, epoch)):
            raise parzen.TrialPruned()
    return {"loss": curves(params, EPOCHS - 1), "status": "ok"}


def tune(pruner, max_evals=50, seed=0, **kwargs):
    trials = kwargs.pop("trials", None) or Trials()
    fmin(
        two_objective,
        SPACE,
        algo=tpe.suggest,
        max_evals=max_evals,
        trials=trials,
        objectives=["error", "cost"],
        pruner=pruner,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
        **kwargs,
    )
    return trials


# ---- decisions ---------------------------------------------------------------------------------


def random_reports(seed, width, n_trials=40, max_steps=30):
    """Trials reporting noisy falling curves (`width` values each) of random lengths."""
    rng = random.Random(seed)
    events = []
    for tid in range(n_trials):
        quality = [rng.random() for _ in range(width)]
        steps = rng.randint(1, max_steps)
        events.append([(tid, s, tuple(q + 1.0 / (s + 1) + 0.05 * rng.random() for q in quality)) for s in range(steps)])
    return events


def replay(pruner, events, pick=lambda value: value):
    """Feed the reports trial by trial (each value through `pick`); return the decisions."""
    decisions = []
    for reports in events:
        trial = Trial(tid=reports[0][0], params={})
        for tid, step, value in reports:
            value = pick(value)
            trial = trial.reported(step, value)
            prune = pruner.should_prune(trial, step, value)
            decisions.append((tid, step, prune))
            if prune:
                break
        pruner.finished(replace(trial, state=TrialState.PRUNED if decisions[-1][2] else TrialState.DONE))
    return decisions


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_moasha_on_one_value_decides_as_asha(seed):
    events = random_reports(seed, width=1)
    one = replay(ASHAPruner(min_resource=2, reduction_factor=3), events, pick=lambda v: v[0])
    assert one == replay(MOASHAPruner(min_resource=2, reduction_factor=3), events, pick=lambda v: v[0])
    assert sum(prune for *_, prune in one) > 10  # it prunes: the comparison is not vacuous


@pytest.mark.parametrize("seed", [0, 1])
def test_moasha_on_agreeing_objectives_decides_as_asha_on_one(seed):
    """When the objectives order trials alike, the fronts are the ranks of one loss."""
    events = random_reports(seed, width=1)
    agreeing = replay(MOASHAPruner(min_resource=2, reduction_factor=3), events, pick=lambda v: (v[0], 3 * v[0] + 1))
    assert agreeing == replay(ASHAPruner(min_resource=2, reduction_factor=3), events, pick=lambda v: v[0])


def test_moasha_promotes_every_non_dominated_trial_and_prunes_the_dominated():
    pruner = MOASHAPruner(min_resource=1, reduction_factor=3)
    rng = np.random.default_rng(0)
    competing = [tuple(p) for p in rng.uniform(0, 1, size=(30, 2))]
    for corner in [(0.0, 5.0), (5.0, 0.0), (0.01, 0.01)]:  # each end of the trade-off, and the knee
        assert pruner.promotable(corner, [*competing, corner])
    worst = (2.0, 2.0)  # dominated by every other trial at the rung
    assert not pruner.promotable(worst, [*competing, worst])
    ranks_better = [pruner.promotable(p, competing) for p in competing]
    assert 3 <= sum(ranks_better) <= 30 // 3 + 6  # about 1/eta go on, whole fronts at a time


@pytest.mark.parametrize("seed", [0, 1])
def test_a_one_value_pruner_judges_the_chosen_objective(seed):
    events = random_reports(seed, width=2)
    for make in (
        lambda **kw: MedianPruner(n_startup_trials=3, n_warmup_steps=2, **kw),
        lambda **kw: SuccessiveHalvingPruner(min_resource=2, reduction_factor=3, **kw),
    ):
        on_second = replay(make(objective=1), events)
        assert on_second == replay(make(), events, pick=lambda v: v[1])
        assert on_second != replay(make(), events, pick=lambda v: v[0])


def test_a_one_value_pruner_given_several_values_says_which_it_judges():
    events = random_reports(0, width=2)
    with pytest.warns(UserWarning, match="judges the first of the 2 values.*objective=<index>.*MOASHAPruner"):
        decisions = replay(MedianPruner(n_startup_trials=3), events)
    assert decisions == replay(MedianPruner(n_startup_trials=3), events, pick=lambda v: v[0])
    with pytest.warns(UserWarning, match=r"objective=5\): reports carry 2 values; it prunes nothing"):
        decisions = replay(SuccessiveHalvingPruner(min_resource=1, objective=5), events)
    assert not any(prune for *_, prune in decisions)


def test_pruner_objective_is_checked():
    for bad in (-1, 1.5, "error", True):
        with pytest.raises(parzen.exceptions.InvalidArgument, match="objective"):
            MedianPruner(objective=bad)


# ---- through fmin --------------------------------------------------------------------------------


def test_moasha_saves_training_and_keeps_both_ends_of_the_front():
    unpruned = tune(parzen.NopPruner(), seed=3)
    pruned = tune(MOASHAPruner(min_resource=1, reduction_factor=3), seed=3)
    steps = [sum(len(t.intermediate) for t in trials.records) for trials in (unpruned, pruned)]
    assert pruned.count(TrialState.PRUNED) > 10 and steps[1] < 0.8 * steps[0]  # 0.59-0.70 over seeds 0-5
    front = np.array([t.losses for t in pruned.best_trials])
    assert len(front) >= 3
    # the front spans the trade-off: a cheap trial and an accurate one both survived pruning
    assert front[:, 1].min() < 0.45 and front[:, 0].min() < 0.25
    reference = [2.0, 1.5]
    hv = [parzen.hypervolume([t.losses for t in trials.best_trials], reference) for trials in (unpruned, pruned)]
    assert hv[1] > 0.95 * hv[0]  # 0.98-1.02 of the unpruned run's over seeds 0-5


def test_reports_of_several_values_are_stored_and_a_resumed_run_prunes_on_them(tmp_path):
    path = str(tmp_path / "mo.db")
    first = tune(MOASHAPruner(min_resource=1, reduction_factor=3), max_evals=20, trials_save_file=path)
    stored = load_trials(path)
    assert [t.intermediate for t in stored.records] == [t.intermediate for t in first.records]
    assert all(isinstance(v, tuple) and len(v) == 2 for t in stored.records for v in t.intermediate.values())
    resumed = tune(MOASHAPruner(min_resource=1, reduction_factor=3), max_evals=40, trials_save_file=path)
    assert len(resumed.records) == 40 and resumed.count(TrialState.PRUNED) > first.count(TrialState.PRUNED)
    frame = resumed.intermediate_dataframe()
    assert isinstance(frame["value"].iloc[0], tuple)


def test_a_report_of_another_width_is_refused_and_the_trial_goes_on(caplog):
    def changes_width(params):
        report(0, [1.0, 2.0])
        report(1, 0.5)  # one value where the run's reports have two
        report(2, [0.4, 1.0, 3.0])
        return {"loss": [0.4, 1.0], "status": "ok"}

    trials = Trials()
    with caplog.at_level(logging.WARNING, logger="parzen"):
        fmin(
            changes_width,
            SPACE,
            max_evals=2,
            trials=trials,
            pruner=MOASHAPruner(min_resource=1),
            show_progressbar=False,
        )
    assert all(t.state == TrialState.DONE and t.intermediate == {0: (1.0, 2.0)} for t in trials.records)
    assert "a report of 1 value(s) where this run's reports have 2" in caplog.text


def test_report_checks_several_values():
    for bad in ([], [1.0, "x"], [[1.0, 2.0]], list(range(17)), {"a": 1.0}, np.zeros((2, 2))):
        with pytest.raises(ValueError, match="report"):
            report(0, bad)

    def one_in_a_list(params):
        report(0, [0.7])
        report(1, np.float64(0.5))
        report(2, np.array(0.25))
        return 0.25

    trials = Trials()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fmin(one_in_a_list, SPACE, max_evals=1, trials=trials, show_progressbar=False)
    assert trials.records[0].intermediate == {0: 0.7, 1: 0.5, 2: 0.25}
