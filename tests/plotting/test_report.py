"""The report is one file that opens offline in a real browser and shows the run."""

import re

from parzen.cli import main
from parzen.plotting import report_html, write_report
from parzen.view import from_store

from .conftest import run, save_screenshot

FIGURES = ["history", "timeline", "importance", "contour", "slice", "parallel"]


def open_offline(browser, path, wait_for="#parallel .js-plotly-plot"):
    """Open `path` in a fresh page; return (page, every non-file request, console errors)."""
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_selector(wait_for)
    return page, requests, errors


def test_report_of_a_store_from_the_command_line_opens_offline(store, tmp_path, browser, capsys):
    path, _ = store
    out = tmp_path / "report.html"
    assert main(["report", str(path), "-o", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    html = out.read_text()
    assert not re.search(r"<script[^>]+src=", html) and "cdn.plot.ly/plotly" not in html
    page, requests, errors = open_offline(browser, out)
    assert requests == [] and errors == []
    view = from_store(path)
    assert page.inner_text("#trial-count") == "60"
    for key in FIGURES:
        assert page.locator(f"#{key} .js-plotly-plot .main-svg").count() >= 1, key
    best = dict(
        (row.locator("td").nth(0).inner_text(), row.locator("td").nth(1).inner_text())
        for row in page.locator(".best-params tbody tr").all()
    )
    assert best["act"].split(" (option")[0] == repr(view.best.values["act"]).strip("'")
    assert "(option" in best["act"]  # the index alongside the value
    assert page.locator(".top-trials tbody tr").count() == 10
    assert "depth 10 does not fit in memory" in page.inner_text("#failures")
    assert "loguniform from 0.0001 to 1" in page.inner_text("#settings")
    n_slice_points = page.eval_on_selector("#slice .js-plotly-plot", "el => el.data[0].x.length")
    assert n_slice_points == len(view.ok)  # lr is active in every ok trial
    save_screenshot(page, "report.png", full_page=True)
    for key in ("history", "importance", "contour", "slice", "parallel"):
        save_screenshot(page.locator(f"#{key}"), f"{key}.png")
    page.close()


def test_report_of_in_memory_trials(tmp_path, browser):
    trials = run(n=20, seed=4)
    written = write_report(trials, tmp_path / "mem.html")
    page, requests, errors = open_offline(browser, written)
    assert requests == [] and errors == []
    assert page.inner_text("#trial-count") == "20"
    assert "in-memory Trials" in page.inner_text("#summary")
    page.close()


def test_report_escapes_what_the_objective_wrote():
    from parzen import Trials

    trials = Trials()
    trial = trials.new({"x": 1.0})
    trials.finish(
        trial.tid, {"errored": True, "error": "Boom: <script>alert(1)</script>", "result": {"status": "fail"}}
    )
    assert "<script>alert(1)</script>" not in report_html(trials)
