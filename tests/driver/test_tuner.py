"""Ask/tell: drive trials from your own executor; running trials are visible to the algorithm."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from parzen import STATUS_OK, Trials, Tuner, hp, rand
from parzen.exceptions import UnknownTrial
from parzen.trial import TrialState

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


def _spy_algorithm(calls: list):
    """rand.suggest with a batch form that records the batch sizes it is asked for."""

    def suggest(space, history, rng):
        calls.append(1)
        return rand.suggest(space, history, rng)

    def many(space, history, rng, n):
        calls.append(n)
        return [rand.suggest(space, history, rng) for _ in range(n)]

    suggest.many = many
    return suggest


def test_ask_many_uses_the_batch_form_once():
    calls: list = []
    tuner = Tuner(SPACE, algo=_spy_algorithm(calls), rstate=np.random.default_rng(0))
    batch = tuner.ask_many(5)
    assert calls == [5] and len({s.tid for s in batch}) == 5
    assert all(tuner.trials.record(s.tid).state == TrialState.RUNNING for s in batch)


def test_ask_many_without_a_batch_form_asks_repeatedly_and_queued_points_come_first():
    tuner = Tuner(SPACE, algo=rand.suggest, points_to_evaluate=[{"x": 0.5, "k": 1}], rstate=np.random.default_rng(0))
    batch = tuner.ask_many(3)
    assert len(batch) == 3 and batch[0].params == {"x": 0.5, "k": 1}


def test_ask_many_starts_trials_generated_to_calculate_before_the_batch():
    from parzen._hyperopt.migrate import generate_trials_to_calculate

    calls: list = []
    trials = generate_trials_to_calculate([{"x": 0.25, "k": 0}, {"x": 0.75, "k": 1}])
    tuner = Tuner(SPACE, algo=_spy_algorithm(calls), trials=trials, rstate=np.random.default_rng(0))
    batch = tuner.ask_many(4)
    assert [s.params for s in batch[:2]] == [{"x": 0.25, "k": 0}, {"x": 0.75, "k": 1}]
    assert calls == [2] and len(trials) == 4 and trials.count(TrialState.NEW) == 0


def test_ask_many_keeps_partial_options():
    import functools

    from parzen import tpe

    tuner = Tuner(SPACE, algo=functools.partial(tpe.suggest, n_startup_jobs=2), rstate=np.random.default_rng(1))
    assert tuner.algo_many is not None and tuner.algo_many.keywords == {"n_startup_jobs": 2}
    for _ in range(4):
        s = tuner.ask()
        tuner.tell(s.tid, s.args["x"] ** 2)
    assert len(tuner.ask_many(6)) == 6


def test_fmin_fills_free_slots_with_one_batch():
    from parzen import fmin

    calls: list = []
    fmin(
        lambda p: p["x"] ** 2,
        SPACE,
        algo=_spy_algorithm(calls),
        max_evals=20,
        max_queue_len=8,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    assert calls[0] == 8 and sum(calls) == 20
