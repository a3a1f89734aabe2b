"""A run with several objectives and a constraint: its report (opened in a real browser) and its figures."""

from __future__ import annotations

import math

import numpy as np

from parzen import Trials, fmin, hp, tpe
from parzen.cli import main
from parzen.plotting import plot_constraints, plot_hypervolume_history, plot_optimization_history, plot_pareto_front

from .test_report import open_offline

SPACE = {f"x{i}": hp.uniform(f"x{i}", 0, 1) for i in range(3)}


def two_objectives(p):
    """ZDT1 on three variables, with x1 <= 0.8 as a constraint."""
    f1 = p["x0"]
    g = 1 + 9 * (p["x1"] + p["x2"]) / 2
    return {"loss": [f1, g * (1 - math.sqrt(f1 / g))], "status": "ok", "constraints": [p["x1"] - 0.8]}


def tuned(path=""):
    trials = Trials()
    fmin(two_objectives, SPACE, algo=tpe.suggest, max_evals=40, trials=None if path else trials,
         objectives=["error", "size"], rstate=np.random.default_rng(0), show_progressbar=False,
         trials_save_file=path)  # fmt: skip
    return trials


def test_the_front_its_hypervolume_and_the_violations_are_drawn():
    trials = tuned()
    front = plot_pareto_front(trials)
    names = {t.name for t in front.data}
    assert {"Pareto-optimal", "dominated"} <= names
    optimal = next(t for t in front.data if t.name == "Pareto-optimal")
    assert len(optimal.x) == len(trials.best_trials)
    assert front.layout.xaxis.title.text == "error" and front.layout.yaxis.title.text == "size"
    volumes = list(plot_hypervolume_history(trials).data[0].y)
    assert volumes == sorted(volumes) and volumes[-1] > 0, "the front only grows"
    assert "feasible" in plot_constraints(trials).layout.title.text
    note = plot_optimization_history(trials).layout.annotations[0].text
    assert "this run has 2 objectives: see plot_pareto_front" in note


def test_the_report_of_a_pareto_run_in_a_browser(tmp_path, browser):
    store = tmp_path / "mo.db"
    tuned(str(store))
    out = tmp_path / "report.html"
    assert main(["report", str(store), "-o", str(out)]) == 0
    page, requests, errors = open_offline(browser, out, wait_for="#pareto .js-plotly-plot")
    assert requests == [] and errors == []
    assert int(page.inner_text("#pareto-size")) >= 2
    assert float(page.inner_text("#hypervolume-value")) > 0
    for key in ("pareto", "hypervolume", "constraints", "timeline"):
        assert page.locator(f"#{key} .js-plotly-plot .main-svg").count() >= 1, key
    header = page.locator(".top-trials thead").inner_text()
    assert "error" in header and "size" in header
    page.close()
