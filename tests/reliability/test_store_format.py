"""Store format 2 (issue 8): spaces holding functions and objects resume, real changes are
still refused; format-1 stores (a real one, `data/v1_store.db`, made by parzen 7b296dc) are
read without being changed and migrated on the first write; worker, intermediate values
and the PRUNED state round-trip."""

import functools
import hashlib
import math
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from parzen import STATUS_OK, Trials, fmin, hp, load_trials, rand
from parzen.exceptions import SpaceMismatch, StoreError, StoreWarning
from parzen.storage.store import TrialStore
from parzen.trial import TrialState

V1_STORE = Path(__file__).parent / "data" / "v1_store.db"


class Model:
    """An option of a choice that is an object: equal content, equal description."""

    def __init__(self, depth, tags=()):
        self.depth = depth
        self.tags = set(tags)


def double(v):
    return 2 * v


def objects_space(agg=np.mean, depth=3):
    return {
        "x": hp.uniform("x", -5, 5),
        "agg": hp.choice("agg", [agg, np.median, len, np.sqrt, double]),
        "model": hp.choice("model", [Model(depth, {"a", "b", "c"}), functools.partial(round, ndigits=2)]),
        "cls": hp.choice("cls", [Model, dict]),
    }


def objective(p):
    return abs(p["x"]) + float(np.sum(p["agg"]([1.0, 4.0])))


def run(path, max_evals, space, objective=objective, trials=None):
    return fmin(
        objective,
        space,
        algo=rand.suggest,
        trials=trials,
        max_evals=max_evals,
        trials_save_file=str(path),
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )


# ---- 4: spaces holding functions and objects -----------------------------------------------------


def test_a_space_of_functions_and_objects_resumes(tmp_path):
    db = tmp_path / "objects.db"
    run(db, 4, objects_space())
    run(db, 8, objects_space())  # new objects, new addresses, same content
    assert load_trials(db).n_finished == 8


@pytest.mark.parametrize(
    ("changed", "words"),
    [(objects_space(agg=np.max), "'agg' option 0"), (objects_space(depth=4), "'model' option 0")],
)
def test_a_real_change_of_an_option_is_still_refused(tmp_path, changed, words):
    db = tmp_path / "objects.db"
    run(db, 3, objects_space())
    with pytest.raises(SpaceMismatch, match=words):
        run(db, 6, changed)


def test_an_unpicklable_option_is_described_by_its_type(tmp_path):
    db = tmp_path / "lock.db"
    run(db, 2, {"x": hp.uniform("x", 0, 1), "lock": hp.choice("lock", [threading.Lock()])}, objective=lambda p: p["x"])
    run(db, 4, {"x": hp.uniform("x", 0, 1), "lock": hp.choice("lock", [threading.Lock()])}, objective=lambda p: p["x"])
    assert load_trials(db).n_finished == 4


SCRIPT = textwrap.dedent(
    """
    import sys, functools
    import numpy as np
    from parzen import fmin, hp, rand

    class Model:
        def __init__(self, depth, tags):
            self.depth, self.tags = depth, set(tags)

    def double(v):
        return 2 * v

    space = {"x": hp.uniform("x", -5, 5),
             "agg": hp.choice("agg", [np.mean, np.median, double, np.sqrt]),
             "model": hp.choice("model", [Model(3, ["alpha", "beta", "gamma", "delta"]), functools.partial(round)])}
    fmin(lambda p: abs(p["x"]), space, algo=rand.suggest, max_evals=int(sys.argv[2]), trials_save_file=sys.argv[1],
         show_progressbar=False)
    print("OK")
    """
)


def test_the_same_script_resumes_in_a_new_process(tmp_path):
    db = tmp_path / "script.db"
    for n in (3, 6):  # each process has its own addresses and its own string hash seed
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(db), str(n)], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0 and "OK" in done.stdout, done.stderr[-2000:]
    assert load_trials(db).n_finished == 6


# ---- format 1 stores ---------------------------------------------------------------------------------

V1_SPACE = {"x": hp.uniform("x", -5, 5), "agg": hp.choice("agg", [np.mean, np.median]), "c": hp.choice("c", ["a", "b"])}


def v1_objective(p):
    return {"loss": (p["x"] - 1) ** 2 + float(p["agg"]([1.0, 2.0, 6.0])) + (p["c"] == "a"), "status": STATUS_OK}


def v1_copy(tmp_path):
    db = tmp_path / "v1.db"
    shutil.copy(V1_STORE, db)
    return db


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_format_1_store_is_read_without_being_changed(tmp_path):
    db = v1_copy(tmp_path)
    before = digest(db)
    trials = load_trials(db)
    assert digest(db) == before
    assert [r.state for r in trials.records] == [TrialState.DONE] * 6 + [TrialState.RUNNING]
    assert math.isnan(trials.results[0]["acc"]), "format 1 wrote NaN as a bare token; still read"
    assert trials.trial_attachments(trials.trials[0]) == {"raw": b"\x00\x01bytes", "log": "text", "curve": [0.5, 0.25]}
    assert all(r.worker is None and r.intermediate == {} for r in trials.records)
    assert digest(db) == before


def test_a_format_1_store_resumes_and_is_migrated(tmp_path):
    db = v1_copy(tmp_path)
    with pytest.warns(StoreWarning, match="names objects by their memory address"):
        run(db, 10, V1_SPACE, objective=v1_objective)
    con = sqlite3.connect(db)
    assert con.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()[0] == "2"
    assert "worker" in [c[1] for c in con.execute("PRAGMA table_info(trials)")]
    assert "0x" not in con.execute("SELECT value FROM meta WHERE key = 'space'").fetchone()[0]
    trials = load_trials(db)
    assert trials.n_finished == 10 and trials.records[6].state == TrialState.INTERRUPTED
    assert all(r.worker is None for r in trials.records)  # serial trials name no worker
    run(db, 12, V1_SPACE, objective=v1_objective)  # now in format 2: no warning needed
    with pytest.raises(SpaceMismatch):
        run(db, 14, {**V1_SPACE, "agg": hp.choice("agg", [np.max, np.median])}, objective=v1_objective)


def test_a_changed_function_is_refused_on_a_format_1_store(tmp_path):
    db = v1_copy(tmp_path)
    with pytest.raises(SpaceMismatch):
        run(db, 10, {**V1_SPACE, "agg": hp.choice("agg", [np.max, np.median])}, objective=v1_objective)
    assert sqlite3.connect(db).execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()[0] == "1"


def test_a_newer_format_is_refused(tmp_path):
    db = tmp_path / "new.db"
    run(db, 2, V1_SPACE, objective=v1_objective)
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value = '3' WHERE key = 'format_version'")
    con.commit()
    with pytest.raises(StoreError, match="newer parzen"):
        load_trials(db)


# ---- format 2: worker, intermediate values, PRUNED -----------------------------------------------


def test_worker_intermediate_and_pruned_round_trip(tmp_path):
    db = tmp_path / "v2.db"
    store = TrialStore(db)
    store.acquire()
    trials = Trials()
    trials.attach_store(store)
    done = trials.new({"x": 0.5})
    outcome = {"errored": False, "result": {"loss": 0.5, "status": STATUS_OK}, "host": "node-7", "pid": 4242}
    trials.finish(done.tid, outcome)
    pruned = trials.new({"x": 0.25})
    for step, value in enumerate([0.9, 0.5, math.inf]):
        store.save_intermediate(pruned.tid, step, value)
    trials.cancel(pruned.tid, "pruned at step 2", state=TrialState.PRUNED)
    store.close()
    loaded = load_trials(db)
    assert loaded.records[0].worker == "node-7:4242"
    assert loaded.records[1].state == TrialState.PRUNED and loaded.records[1].error == "pruned at step 2"
    assert loaded.records[1].intermediate == {0: 0.9, 1: 0.5, 2: math.inf}
    con = sqlite3.connect(db)
    assert con.execute("SELECT state FROM trials WHERE tid = 1").fetchone()[0] == "PRUNED"


def test_intermediate_values_of_copied_trials_are_written(tmp_path):
    trials = Trials()
    trial = trials.new({"x": 0.5})
    trials.report(trial.tid, 0, 1.0)
    trials.report(trial.tid, 5, 0.5)
    trials.finish(trial.tid, {"errored": False, "result": {"loss": 0.5, "status": STATUS_OK}})
    store = TrialStore(tmp_path / "copy.db")
    trials.attach_store(store)
    assert load_trials(tmp_path / "copy.db").records[0].intermediate == {0: 1.0, 5: 0.5}
