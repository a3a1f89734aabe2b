"""Each figure holds what a person expects to see: the points, the axes, the scales."""

import math

import numpy as np
import pytest

from parzen import SparkTrials, Trials, fmin, hp, rand
from parzen.plotting import (
    plot_contour,
    plot_intermediate_values,
    plot_optimization_history,
    plot_parallel_coordinate,
    plot_param_importances,
    plot_slice,
    plot_timeline,
)
from parzen.plotting._figures import assign_slots
from parzen.view import Row, RunView, from_store

from .conftest import run


def traces(fig, name):
    return [t for t in fig.data if t.name == name]


def test_history_has_every_ok_trial_the_best_so_far_and_the_failures(store):
    path, trials = store
    view = from_store(path)
    fig = plot_optimization_history(path)
    points = traces(fig, "trial loss")
    assert [len(t.x) for t in points] == [len(view.ok)] * 2  # by number and by wall time
    best = traces(fig, "best so far")[0]
    assert list(best.y) == list(np.minimum.accumulate([r.loss for r in view.ok]))
    n_error = sum(r.state == "error" for r in view.rows)
    n_fail = sum(r.state == "done" and r.loss is None for r in view.rows)
    assert n_error > 0 and n_fail > 0
    assert len(traces(fig, "error")[0].x) == n_error and len(traces(fig, "fail")[0].x) == n_fail
    assert "ValueError: depth 10 does not fit in memory" in traces(fig, "error")[0].text[0]
    assert fig.layout.xaxis.title.text == "trial number" and fig.layout.yaxis.title.text == "loss"
    assert fig.layout.xaxis2.title.text == "seconds since the run started"


def test_slice_uses_log_axes_values_for_choices_and_skips_inactive_trials(store):
    path, _ = store
    view = from_store(path)
    fig = plot_slice(path)
    axis_of = {t.name: t.xaxis.replace("x", "xaxis") for t in fig.data}
    assert fig.layout[axis_of["lr"]].type == "log"
    assert fig.layout[axis_of["depth"]].type != "log"
    assert fig.layout[axis_of["act"]].type == "category"
    assert set(traces(fig, "act")[0].x) <= {"relu", "tanh", "None"}
    assert list(fig.layout[axis_of["act"]].categoryarray) == ["relu", "tanh", "None"]
    beta = traces(fig, "beta")[0]
    assert len(beta.x) == sum("beta" in r.raw for r in view.ok) < len(view.ok)
    assert not any(x == 0 for x in beta.x)


def test_parallel_coordinates_put_inactive_on_its_own_tick(store):
    path, _ = store
    view = from_store(path)
    dims = {d.label: d for d in plot_parallel_coordinate(path).data[0].dimensions}
    assert set(dims) == {"loss", "lr (log)", "depth", "act", "opt", "beta"}
    assert len(dims["loss"].values) == len(view.ok)
    assert list(dims["act"].ticktext) == ["relu", "tanh", "None"]
    beta = dims["beta"]
    assert beta.ticktext[0] == "(inactive)"
    inactive = sum("beta" not in r.raw for r in view.ok)
    assert sum(v == beta.tickvals[0] for v in beta.values) == inactive > 0
    assert min(dims["lr (log)"].values) >= -4 and max(dims["lr (log)"].values) <= 0


def test_importance_and_contour_show_the_parameters_that_matter(store):
    path, _ = store
    fig = plot_param_importances(path)
    bars = fig.data[0]
    assert bars.y[-1] == "lr"  # the top bar (plotly draws the first at the bottom)
    assert len(bars.x) == 5 and all(0 <= x <= 100 for x in bars.x)
    contour = plot_contour(path)
    surface = contour.data[0]
    assert contour.layout.xaxis.title.text == "lr" and contour.layout.xaxis.type == "log"
    assert np.asarray(surface.z).shape == (len(surface.y), len(surface.x))
    best = traces(contour, "best trial")[0]
    assert best.x[0] == pytest.approx(from_store(path).best.values["lr"])


def test_intermediate_values_one_line_per_reporting_trial():
    trials = run(n=12)
    assert "no trial reported" in plot_intermediate_values(trials).layout.annotations[0].text
    reporting = Trials()
    for tid in range(5):  # as the driver records reports: step -> value, then the trial ends
        trial = reporting.new({"x": 0.1 * tid})
        for step in range(4):
            reporting.report(trial.tid, step, 1.0 / (step + 1 + tid))
        reporting.finish(trial.tid, {"errored": False, "result": {"loss": 0.1, "status": "ok"}})
    fig = plot_intermediate_values(reporting)
    assert len(fig.data) == 5 and all(list(t.x) == [0, 1, 2, 3] for t in fig.data)
    assert fig.layout.xaxis.title.text == "step"


def test_every_trial_state_has_a_colour_and_a_pruned_run_is_drawn():
    from parzen import TrialState
    from parzen.plotting._figures import OUTCOME_COLORS

    assert {s.name.lower() for s in TrialState} - {"done"} <= set(OUTCOME_COLORS)
    trials = Trials()
    for tid in range(4):  # two pruned, two finished
        trial = trials.new({"x": 0.1 * tid})
        for step in range(3 if tid % 2 else 1):
            trials.report(trial.tid, step, 1.0 / (step + 1 + tid))
        if tid % 2:
            trials.finish(trial.tid, {"errored": False, "result": {"loss": 0.1 * tid, "status": "ok"}})
        else:
            trials.finish(trial.tid, {"errored": False, "pruned": True, "result": {"status": "fail"}})
    assert trials.count(TrialState.PRUNED) == 2
    fig = plot_intermediate_values(trials)
    assert {t.name for t in fig.data} == {"ok", "pruned"}


def test_intermediate_values_of_several_objectives_draw_the_chosen_one():
    trials = Trials()
    for tid in range(3):
        trial = trials.new({"x": 0.1 * tid})
        for step in range(3):
            trials.report(trial.tid, step, (1.0 / (step + 1), 10.0 + step + tid))
        trials.finish(trial.tid, {"errored": False, "result": {"loss": [0.3, 12.0 + tid], "status": "ok"}})
    first, second = plot_intermediate_values(trials), plot_intermediate_values(trials, objective=1)
    assert list(first.data[0].y) == [1.0, 0.5, 1.0 / 3] and list(second.data[2].y) == [12.0, 13.0, 14.0]
    assert "loss 1" in second.layout.title.text


def row(tid, start, end, host="h1", worker=None, state="done"):
    return Row(tid, state, "ok", 1.0, {}, {}, book_time=0.0, start_time=start, end_time=end, host=host, worker=worker)


def test_timeline_packs_trials_into_the_fewest_slots_per_host():
    rows = [row(0, 0, 4), row(1, 0, 1), row(2, 1, 2), row(3, 2.5, 6), row(4, 4, 5), row(5, 0, 3, host="h2")]
    slots = assign_slots(rows)
    assert len(set(slots.values())) == 3  # two on h1 (never more than 2 overlap), one on h2
    assert slots[0] != slots[1] and slots[1] == slots[2] and slots[5] == "h2 · slot 0"
    running = Row(6, "running", "running", None, {}, {}, book_time=5.5)  # start and host not reported yet
    assert assign_slots([*rows[:5], running])[6] == "h1 · slot 0"
    fig = plot_timeline(RunView("x", {}, [*rows[:5], running]))
    bar = traces(fig, "running")[0]
    assert bar.base[0] == 5.5 and bar.x[0] > 1e6  # from its submission until now (still running)
    with_workers = assign_slots([row(0, 0, 1, worker="h1:101"), row(1, 0, 1, worker="h1:102")])
    assert with_workers == {0: "h1:101", 1: "h1:102"}


def test_timeline_of_an_in_process_run_is_one_busy_slot():
    trials = run(n=10)
    fig = plot_timeline(trials)
    assert {y for t in fig.data for y in t.y} == {"driver · slot 0"}
    assert sum(len(t.x) for t in fig.data) == 10
    assert fig.layout.xaxis.title.text == "seconds since the run started"


@pytest.mark.spark
def test_timeline_of_a_spark_run_has_a_row_per_slot(spark):
    trials = SparkTrials(parallelism=2, spark_session=spark)
    fmin(
        lambda p: __import__("time").sleep(0.3) or p["x"],
        {"x": hp.uniform("x", 0, 1)},
        algo=rand.suggest,
        max_evals=6,
        trials=trials,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    fig = plot_timeline(trials)
    slots = {y for t in fig.data for y in t.y}
    assert len(slots) == 2 and sum(len(t.x) for t in fig.data) == 6
    assert "slots, busy" in fig.layout.title.text


def test_figures_work_on_trials_without_a_space():
    trials = Trials()
    for i, x in enumerate(np.linspace(0.1, 1, 8)):
        trial = trials.new({"x": float(x)})
        trials.finish(
            trial.tid, {"result": {"status": "ok", "loss": (x - 0.5) ** 2}, "start_time": i, "end_time": i + 1}
        )
    assert len(plot_slice(trials).data[0].x) == 8
    assert plot_param_importances(trials).data[0].y == ("x",)
    assert math.isclose(
        plot_optimization_history(trials).data[1].y[-1], min((x - 0.5) ** 2 for x in np.linspace(0.1, 1, 8))
    )
