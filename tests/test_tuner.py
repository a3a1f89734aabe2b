"""Ask/tell: drive trials from your own executor; running trials are visible to the algorithm."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from parzen import STATUS_OK, Trials, Tuner, hp, rand
from parzen.exceptions import UnknownTrial
from parzen.trials import TrialState

SPACE = {"x": hp.uniform("x", -3, 3), "k": hp.choice("k", [1, 2, 3])}


def test_ask_returns_tid_and_evaluated_args():
    tuner = Tuner(SPACE, algo=rand.suggest, rstate=np.random.default_rng(0))
    tid, args = tuner.ask()
    assert tid == 0 and args["k"] in (1, 2, 3) and -3 <= args["x"] <= 3
    assert tuner.trials.record(tid).state == TrialState.RUNNING


def test_tell_float_dict_and_exception():
    tuner = Tuner(SPACE, algo=rand.suggest)
    a, b, c = tuner.ask(), tuner.ask(), tuner.ask()
    tuner.tell(a.tid, 0.5)
    tuner.tell(b.tid, {"loss": 0.25, "status": STATUS_OK, "note": "x"})
    tuner.tell(c.tid, RuntimeError("it broke"))
    t = tuner.trials
    assert t.losses() == [0.5, 0.25, None]
    assert t.records[2].state == TrialState.ERROR and "RuntimeError: it broke" in t.records[2].error
    assert t.argmin == b.params


def test_tell_twice_or_unknown_is_refused():
    tuner = Tuner(SPACE, algo=rand.suggest)
    tid, _ = tuner.ask()
    tuner.tell(tid, 1.0)
    with pytest.raises(UnknownTrial, match="already done"):
        tuner.tell(tid, 2.0)
    with pytest.raises(UnknownTrial, match="no trial with tid 99"):
        tuner.tell(99, 2.0)


def test_running_trials_are_passed_to_the_algorithm():
    seen = []

    def spy(space, history, rng):
        seen.append((len(history), int(history.running.sum())))
        return rand.suggest(space, history, rng)

    tuner = Tuner(SPACE, algo=spy)
    first = tuner.ask()
    tuner.ask()
    tuner.tell(first.tid, 1.0)
    tuner.ask()
    assert seen == [(0, 0), (1, 1), (2, 1)]


def test_thread_pool_driver():
    """A user's own executor: a thread pool evaluating while one thread asks and tells."""
    trials = Trials()
    tuner = Tuner(SPACE, algo=rand.suggest, trials=trials, rstate=np.random.default_rng(1))
    with ThreadPoolExecutor(4) as pool:
        futures = {}
        while trials.n_finished < 20:
            while len(futures) < 4 and trials.n_finished + len(futures) < 20:
                tid, args = tuner.ask()
                futures[tid] = pool.submit(lambda a: (a["x"] - 1) ** 2 * a["k"], args)
            done = next(t for t, f in futures.items() if f.done() or f.result(timeout=5) is not None)
            tuner.tell(done, futures.pop(done).result())
    assert len(trials) == 20 and trials.n_running == 0
