"""The durable store: round trip, resume, refusal of a changed space or a second driver,
JSON only (nothing on disk can run code), clear errors for bad paths."""

import contextlib
import json
import os
import pickle
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from parzen import STATUS_OK, Trials, fmin, hp, load_trials, rand, tpe
from parzen.exceptions import SpaceMismatch, StoreError
from parzen.trial import TrialState

SPACE = {"x": hp.uniform("x", -5, 5), "c": hp.choice("c", ["a", "b"])}


def fn(p):
    return (p["x"] - 1) ** 2 + (p["c"] == "a")


def run(path, max_evals, trials=None, space=SPACE, objective=fn, **kw):
    kw.setdefault("algo", tpe.suggest)
    return fmin(
        objective,
        space,
        trials=trials,
        max_evals=max_evals,
        trials_save_file=str(path),
        rstate=np.random.default_rng(0),
        show_progressbar=False,
        **kw,
    )


def test_round_trip(tmp_path):
    db = tmp_path / "tuning.db"
    trials = Trials()
    best = run(db, 15, trials)
    loaded = load_trials(db, space=SPACE)
    assert len(loaded) == 15 and loaded.argmin == best
    assert loaded.losses() == trials.losses()
    assert [r.params for r in loaded.records] == [r.params for r in trials.records]
    assert loaded.best_params == trials.best_params
    assert loaded.to_dataframe()["params_c"].isin(["a", "b"]).all()


def test_every_trial_is_committed_as_it_goes(tmp_path):
    db = tmp_path / "tuning.db"
    seen = []

    def spy(p):
        rows = sqlite3.connect(db).execute("SELECT state FROM trials").fetchall()
        seen.append(sorted(r[0] for r in rows))
        return fn(p)

    run(db, 3, objective=spy)
    assert seen == [["RUNNING"], ["DONE", "RUNNING"], ["DONE", "DONE", "RUNNING"]]


def test_resume_continues_to_max_evals(tmp_path):
    db = tmp_path / "tuning.db"
    run(db, 6)
    best = run(db, 14)  # a new process would do exactly this: trials=None, same file
    trials = load_trials(db)
    assert trials.n_finished == 14 and trials.tids == list(range(14))
    assert best == trials.argmin


def test_resumed_trials_are_seen_by_the_algorithm(tmp_path):
    db = tmp_path / "tuning.db"
    run(db, 10, algo=rand.suggest)
    sizes = []

    def spy(space, history, rng):
        sizes.append(len(history))
        return rand.suggest(space, history, rng)

    run(db, 12, algo=spy)
    assert sizes == [10, 11]


def test_same_trials_object_reused_with_the_store(tmp_path):
    db = tmp_path / "tuning.db"
    trials = Trials()
    run(db, 4, trials)
    run(db, 8, trials)
    assert len(load_trials(db)) == 8 and len(trials) == 8


def test_changed_space_is_refused_with_the_differences(tmp_path):
    db = tmp_path / "tuning.db"
    run(db, 3)
    changed = {"x": hp.uniform("x", -5, 6), "c": hp.choice("c", ["a", "b"]), "lr": hp.loguniform("lr", -5, 0)}
    with pytest.raises(SpaceMismatch) as info:
        run(db, 6, space=changed, objective=lambda p: 1.0)
    message = str(info.value)
    assert "new hyperparameters ['lr']" in message and "'x' was uniform(low=-5.0, high=5.0)" in message
    assert "high=6.0" in message
    assert len(load_trials(db)) == 3


def test_non_empty_trials_and_non_empty_store_are_refused(tmp_path):
    db = tmp_path / "tuning.db"
    run(db, 3)
    other = Trials()
    fmin(fn, SPACE, algo=rand.suggest, trials=other, max_evals=2, show_progressbar=False)
    with pytest.raises(StoreError, match="already holds 3 trials and the Trials passed to fmin holds 2"):
        run(db, 6, other)


def test_existing_trials_are_written_to_a_new_store(tmp_path):
    trials = Trials()
    fmin(fn, SPACE, algo=rand.suggest, trials=trials, max_evals=4, show_progressbar=False)
    run(tmp_path / "t.db", 6, trials)
    assert load_trials(tmp_path / "t.db").tids == list(range(6))


def test_values_json_cannot_hold_are_stored_as_repr_with_a_warning(tmp_path):
    db = tmp_path / "tuning.db"

    def with_model(p):
        return {
            "loss": p["x"] ** 2,
            "status": STATUS_OK,
            "model": object(),
            "arr": np.float32(1.5),
            "nested": {"ok": [1, 2], "bad": {1, 2}},
        }

    with pytest.warns(UserWarning, match="result key 'model' is a object"):
        run(db, 2, objective=with_model)
    result = load_trials(db).results[0]
    assert result["model"].startswith("<object object at") and result["arr"] == 1.5
    assert result["nested"]["ok"] == [1, 2] and result["nested"]["bad"] in ("{1, 2}", "{2, 1}")


def test_attachments_round_trip_without_unpickling(tmp_path):
    db = tmp_path / "tuning.db"
    evil = pickle.dumps(os.system)
    big = os.urandom(50 * 2**20)

    def attach(p):
        return {
            "loss": 1.0,
            "status": STATUS_OK,
            "attachments": {"raw": evil, "big": big, "log": "text here", "curve": [0.5, 0.25]},
        }

    run(db, 1, objective=attach, algo=rand.suggest)
    loaded = load_trials(db)
    att = loaded.trial_attachments(loaded.trials[0])
    assert att["raw"] == evil and isinstance(att["raw"], bytes)
    assert att["big"] == big and att["log"] == "text here" and att["curve"] == [0.5, 0.25]
    kinds = dict(sqlite3.connect(db).execute("SELECT name, kind FROM attachments").fetchall())
    assert kinds == {"raw": "bytes", "big": "bytes", "log": "text", "curve": "json"}


def test_store_holds_only_json_and_blobs(tmp_path):
    db = tmp_path / "tuning.db"
    run(db, 5)
    con = sqlite3.connect(db)
    for params, result in con.execute("SELECT params, result FROM trials"):
        json.loads(params), json.loads(result)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_missing_folder(tmp_path):
    with pytest.raises(StoreError, match="the folder .*nope.* does not exist"):
        run(tmp_path / "nope" / "t.db", 3)


def test_read_only_location(tmp_path):
    if os.geteuid() == 0:
        path = "/proc/parzen-tuning.db"  # root ignores file modes; /proc refuses new files
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        path = folder / "t.db"
    with pytest.raises(StoreError, match="is not writable"):
        run(path, 3)


def test_not_a_store(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot use .* as a parzen trial store"):
        run(bad, 3)


def test_load_missing_store(tmp_path):
    with pytest.raises(StoreError, match="no trial store at"):
        load_trials(tmp_path / "missing.db")


def wait_for_rows(db, query, count, limit=60.0):
    """Poll the store (from outside, as a second process would) until `query` counts `count`."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with contextlib.suppress(sqlite3.OperationalError):
            if db.exists() and sqlite3.connect(db).execute(query).fetchone()[0] >= count:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{query} did not reach {count}")


SECOND_DRIVER = textwrap.dedent(
    """
    import sys, time
    from parzen import fmin, hp, rand
    def slow(p):
        time.sleep(0.2)
        return p["x"]
    fmin(slow, {"x": hp.uniform("x", -5, 5), "c": hp.choice("c", ["a", "b"])}, algo=rand.suggest,
         max_evals=int(sys.argv[2]), trials_save_file=sys.argv[1], show_progressbar=False)
    print("DONE")
    """
)


def test_second_driver_is_refused_and_nothing_is_corrupted(tmp_path):
    db = tmp_path / "shared.db"
    script = tmp_path / "driver.py"
    script.write_text(SECOND_DRIVER)
    first = subprocess.Popen(
        [sys.executable, str(script), str(db), "15"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_for_rows(db, "SELECT count(*) FROM trials", 1)
    second = subprocess.run([sys.executable, str(script), str(db), "15"], capture_output=True, text=True, timeout=120)
    assert second.returncode != 0
    assert "is in use by another driver (pid" in second.stderr
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0 and "DONE" in out, err
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM trials WHERE state = 'DONE'").fetchone()[0] == 15
    assert load_trials(db).n_finished == 15


KILLED_DRIVER = textwrap.dedent(
    """
    import sys, time
    from parzen import fmin, hp, tpe
    def slow(p):
        time.sleep(0.1)
        return (p["x"] - 1) ** 2
    fmin(slow, {"x": hp.uniform("x", -5, 5), "c": hp.choice("c", ["a", "b"])}, algo=tpe.suggest,
         max_evals=30, trials_save_file=sys.argv[1], show_progressbar=False)
    print("FINISHED")
    """
)


def test_sigkill_mid_run_then_resume(tmp_path):
    db = tmp_path / "crash.db"
    script = tmp_path / "driver.py"
    script.write_text(KILLED_DRIVER)
    proc = subprocess.Popen([sys.executable, str(script), str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for_rows(db, "SELECT count(*) FROM trials WHERE state='DONE'", 8)
    proc.kill()
    proc.wait()
    before = {r.tid: (r.params, r.loss) for r in load_trials(db).records if r.state == TrialState.DONE}
    assert len(before) >= 8
    again = subprocess.run([sys.executable, str(script), str(db)], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "FINISHED" in again.stdout, again.stderr
    after = load_trials(db)
    assert after.n_finished == 30
    assert {r.tid: (r.params, r.loss) for r in after.records if r.tid in before} == before
    interrupted = [r for r in after.records if r.state == TrialState.INTERRUPTED]
    assert len(interrupted) <= 1 and all("interrupted" in r.error for r in interrupted)


def test_best_params_of_a_store_loaded_without_its_space_decode_plain_choices(tmp_path):
    space = {"k": hp.choice("k", ["rbf", "linear"]), "C": hp.loguniform("C", -3, 3),
             "m": hp.choice("m", [{"a": 1}, {"b": hp.uniform("b", 0, 1)}])}  # fmt: skip
    fmin(lambda p: p["C"], space, max_evals=6, trials_save_file=str(tmp_path / "t.db"), show_progressbar=False)
    loaded = load_trials(tmp_path / "t.db")
    best = loaded.best_params
    assert best["k"] in ("rbf", "linear") and best["C"] == loaded.argmin["C"]
    assert best["m"] == loaded.argmin["m"], "a choice of nested spaces stays its index"


def test_results_json_cannot_hold_are_converted_in_process_too(tmp_path):
    def hostile(p):
        result = {"loss": p["x"], "status": STATUS_OK, (3, 4): "tuple key"}
        level = result
        for _ in range(5000):
            level["deeper"] = {}
            level = level["deeper"]
        return result

    trials = Trials()
    with pytest.warns(Warning, match="the store keeps its repr"):
        fmin(hostile, {"x": hp.uniform("x", 0, 1)}, max_evals=3, trials=trials, trials_save_file=str(tmp_path / "h.db"),
             show_progressbar=False)  # fmt: skip
    stored = load_trials(tmp_path / "h.db").records
    assert [r.state for r in stored] == [TrialState.DONE] * 3
    assert stored[0].result["(3, 4)"] == "tuple key"
