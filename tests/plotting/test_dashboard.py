"""The dashboard follows a store while a real fmin in another process writes it."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

from parzen import load_trials
from parzen.plotting import serve_dashboard
from parzen.trial import TrialState

from .conftest import run, save_screenshot

N_TRIALS = 48

TUNE = """
import os
import time
import numpy as np
from parzen import Trials, fmin, hp, rand

GO = %r  # the test creates it once the browser shows the page: no race with a fast machine

def objective(p):
    deadline = time.monotonic() + 120
    while not os.path.exists(GO) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.25)
    return (p["x"] - 0.3) ** 2 + 0.1 * p["c"]

space = {"x": hp.loguniform("x", -5, 0), "c": hp.choice("c", [0, 1, 2])}
fmin(objective, space, algo=rand.suggest, max_evals=%d, trials=Trials(), trials_save_file=%r,
     rstate=np.random.default_rng(0), show_progressbar=False)
print("tuning finished")
"""


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def has_trials(path):
    try:
        return len(load_trials(path)) > 0
    except Exception:
        return False


@pytest.fixture
def tuning(tmp_path):
    """A real fmin writing tmp_path/live.db in a subprocess; yields (process, store path)."""
    db = tmp_path / "live.db"
    script = tmp_path / "tune.py"
    script.write_text(textwrap.dedent(TUNE % (str(tmp_path / "go"), N_TRIALS, str(db))))
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: has_trials(db), 60, "the tuning process to create its store")
        yield process, db, tmp_path / "go"
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


@pytest.fixture
def dashboard(tuning):
    """`parzen dashboard <store> --port 0` serving the running store; yields its URL."""
    _, db, _ = tuning
    server = subprocess.Popen(
        [sys.executable, "-m", "parzen.cli", "dashboard", str(db), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        assert " at http://127.0.0.1:" in line, line + server.stderr.read()
        yield line.split(" at ", 1)[1].split()[0]
    finally:
        os.kill(server.pid, signal.SIGINT)
        server.wait(timeout=10)


def test_dashboard_updates_in_the_browser_while_fmin_writes_the_store(tuning, dashboard, browser):
    process, db, go = tuning
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    foreign = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(dashboard) else None)
    page.goto(dashboard)
    page.wait_for_selector("#trial-count")
    assert page.inner_text("#trial-count") == "1"  # trial 0 is running, waiting for the go
    assert "a running fmin is writing it" in page.inner_text("#summary")
    go.touch()
    saved = set()
    seen = []
    while process.poll() is None:
        seen.append(int(page.inner_text("#trial-count")))
        if seen[-1] >= N_TRIALS // 2 and "dashboard.png" not in saved:
            save_screenshot(page, "dashboard.png")  # mid-run, for the README
            saved.add("dashboard.png")
        time.sleep(0.2)
    out, err = process.communicate()
    assert process.returncode == 0 and "tuning finished" in out, err[-2000:]
    page.wait_for_function(f"document.getElementById('trial-count').textContent === '{N_TRIALS}'", timeout=15000)
    counts = sorted(set(seen))
    assert len(counts) >= 3 and seen == sorted(seen), seen  # new trials appeared, without a reload
    assert page.locator("#history .js-plotly-plot .main-svg").count() >= 1
    assert "live, checked" in page.inner_text("#live")
    assert foreign == []  # plotly.js and the data come from the dashboard itself
    page.close()
    # The run was neither blocked nor damaged: every trial finished and was recorded.
    assert "locked" not in err and "Traceback" not in err
    trials = load_trials(db)
    assert len(trials) == N_TRIALS and all(r.state == TrialState.DONE for r in trials.records)


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_dashboard_of_in_memory_trials_reports_changes_only():
    trials = run(n=8)
    board = serve_dashboard(trials, port=0, block=False)
    try:
        first = get_json(board.url + "api/state?token=")
        assert first["changed"] and first["trials"] == 8
        assert [s["id"] for s in first["sections"]][:3] == ["summary", "best", "history"]
        assert get_json(board.url + "api/state?token=" + first["token"]) == {"token": first["token"], "changed": False}
        run(trials=trials, n=12)
        changed = []
        wait_for(
            lambda: changed.append(get_json(board.url + "api/state?token=" + first["token"])) or changed[-1]["changed"],
            30,
            "the change",
        )
        assert changed[-1]["trials"] == 12
        with urllib.request.urlopen(board.url + "plotly.min.js", timeout=10) as response:
            assert response.headers["Content-Type"] == "application/javascript" and len(response.read()) > 1e6
    finally:
        board.stop()


def test_dashboard_says_so_when_its_store_goes_away(store, tmp_path):
    from .conftest import copy_store

    db = copy_store(store[0], tmp_path / "gone.db")
    board = serve_dashboard(db, port=0, block=False)
    try:
        assert get_json(board.url + "api/state?token=")["trials"] == 60
        for path in tmp_path.iterdir():
            path.unlink()
        time.sleep(board.min_interval)
        state = get_json(board.url + "api/state?token=x")
        assert state["changed"] is False and "no trial store at" in state["error"]
    finally:
        board.stop()
