"""Observers follow every trial event; a failing or slow observer never stops or slows tuning."""

import threading
import time

import numpy as np

from parzen import Trials, fmin, hp, rand
from parzen.driver.observers import BackgroundObserver, Observer
from parzen.trial import TrialState

SPACE = {"x": hp.uniform("x", -1, 1)}


class Recorder(Observer):
    def __init__(self):
        self.events = []

    def run_started(self, run):
        self.events.append(("run_started", run.max_evals, run.algo_name))

    def trial_started(self, run, trial):
        self.events.append(("trial_started", trial.tid, trial.state))

    def trial_ended(self, run, trial):
        self.events.append(("trial_ended", trial.tid, trial.state))

    def run_ended(self, run, error):
        self.events.append(("run_ended", run.stop_reason, error))


def test_every_trial_is_seen_to_start_and_end_in_order():
    recorder = Recorder()
    fmin(lambda p: p["x"] ** 2, SPACE, algo=rand.suggest, max_evals=5, observers=[recorder], show_progressbar=False)
    kinds = [e[0] for e in recorder.events]
    assert kinds == ["run_started"] + ["trial_started", "trial_ended"] * 5 + ["run_ended"]
    assert recorder.events[0] == ("run_started", 5, "rand.suggest")
    assert all(e[2] == TrialState.RUNNING for e in recorder.events if e[0] == "trial_started")
    assert all(e[2] == TrialState.DONE for e in recorder.events if e[0] == "trial_ended")


def test_a_cancelled_trial_is_an_ended_event_too():
    recorder = Recorder()
    fmin(
        lambda p: 0.0,
        SPACE,
        algo=rand.suggest,
        max_evals=10,
        loss_threshold=0.5,
        max_queue_len=3,
        observers=[recorder],
        show_progressbar=False,
    )
    ended = [e for e in recorder.events if e[0] == "trial_ended"]
    started = [e for e in recorder.events if e[0] == "trial_started"]
    assert len(ended) == len(started)
    assert {e[2] for e in ended} == {TrialState.DONE, TrialState.CANCELLED}
    assert "loss_threshold" in recorder.events[-1][1]


class Broken(Observer):
    calls = 0

    def trial_ended(self, run, trial):
        Broken.calls += 1
        raise ConnectionError("tracking server down")


def test_a_failing_observer_is_switched_off_and_the_run_goes_on(caplog):
    trials = Trials()
    recorder = Recorder()
    fmin(
        lambda p: p["x"],
        SPACE,
        algo=rand.suggest,
        max_evals=6,
        trials=trials,
        observers=[Broken(), recorder],
        show_progressbar=False,
    )
    assert trials.n_finished == 6 and Broken.calls == 1
    assert sum(e[0] == "trial_ended" for e in recorder.events) == 6
    assert "observer Broken failed in trial_ended and is switched off" in caplog.text


class Slow(BackgroundObserver):
    flush_seconds = 5.0

    def __init__(self):
        super().__init__()
        self.seen = []
        self.threads = set()

    def handle_trial_ended(self, run, trial):
        time.sleep(0.2)  # a tracking server that answers slowly
        self.threads.add(threading.current_thread().name)
        self.seen.append((trial.tid, trial.state))


def test_a_slow_observer_runs_on_its_own_thread_and_sees_snapshots():
    slow = Slow()
    trials = Trials()
    fmin(
        lambda p: p["x"],
        SPACE,
        algo=rand.suggest,
        max_evals=10,
        trials=trials,
        observers=[slow],
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    assert slow.threads == {"Slow"}
    assert slow.seen == [(tid, TrialState.DONE) for tid in range(10)]
