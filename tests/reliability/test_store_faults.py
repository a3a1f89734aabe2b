"""The store against a hostile user and a damaged file (issue 8): literal file names, one
writer per store even within a process, no finished trial ever replaced, foreign and
hostile SQLite files refused untouched, damaged stores read around their damage, strict
JSON on disk. Every store here is a real SQLite file."""

import hashlib
import json
import math
import os
import random
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest

from parzen import STATUS_OK, Trials, fmin, hp, load_trials, rand
from parzen.cli import main as cli
from parzen.exceptions import StoreError, StoreWarning
from parzen.storage.store import TrialStore
from parzen.trial import Trial, TrialState

SPACE = {"x": hp.uniform("x", -5, 5), "c": hp.choice("c", ["a", "b"])}


def fn(p):
    return (p["x"] - 1) ** 2 + (p["c"] == "a")


def run(path, max_evals, objective=fn, trials=None, space=SPACE, **kw):
    return fmin(
        objective,
        space,
        algo=rand.suggest,
        trials=trials,
        max_evals=max_evals,
        trials_save_file=str(path),
        rstate=np.random.default_rng(0),
        show_progressbar=False,
        **kw,
    )


def file_digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---- 2: a store's name is a file name, never a URI -------------------------------------------


def test_any_legal_file_name_is_used_literally(tmp_path, capsys):
    names = ["run#1.db", "run?2.db", "aAb.db", "a%41b.db", "sp ace&mode=ro.db", "ü.db"]
    for i, name in enumerate(names):
        run(tmp_path / name, 2 + i)
    files = {f for f in os.listdir(tmp_path) if not f.endswith(("-wal", "-shm"))}
    assert files == set(names), "each experiment has its own file, named as given"
    for i, name in enumerate(names):
        assert load_trials(tmp_path / name).n_finished == 2 + i
    assert cli(["show", str(tmp_path / "run#1.db")]) == 0
    assert ": 2 trials" in capsys.readouterr().out


# ---- 3: one writer per store, and no write path replaces a finished trial -------------------


def test_a_second_run_in_another_thread_of_the_process_is_refused(tmp_path):
    db = tmp_path / "threads.db"
    first_trial = threading.Event()
    outcome: dict[str, object] = {}

    def slow(p):
        first_trial.set()
        time.sleep(0.01)
        return fn(p)

    def driver(name):
        try:
            run(db, 50, objective=slow)
            outcome[name] = "finished"
        except StoreError as exc:
            outcome[name] = exc

    first = threading.Thread(target=driver, args=("first",))
    first.start()
    assert first_trial.wait(30)
    second = threading.Thread(target=driver, args=("second",))
    second.start()
    second.join(120)
    first.join(120)
    assert outcome["first"] == "finished"
    assert isinstance(outcome["second"], StoreError) and "in use by another run in this process" in str(
        outcome["second"]
    )
    stored = load_trials(db)
    assert stored.n_finished == 50 and stored.tids == list(range(50))


def test_threads_racing_for_one_store_leave_exactly_one_holder(tmp_path):
    db = tmp_path / "race.db"
    TrialStore(db).close()
    start = threading.Barrier(8, timeout=60)
    won, refused = [], []

    def take():
        store = TrialStore(db)  # eight stores open one file at once: none may fail to open
        start.wait()
        try:
            store.acquire()
            won.append(store)
        except StoreError:
            refused.append(store)

    threads = [threading.Thread(target=take, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(won) == 1 and len(refused) == 7
    won[0].close()


def finished(tid, x, loss):
    return Trial(tid=tid, params={"x": x, "c": 0}, state=TrialState.DONE, result={"loss": loss, "status": STATUS_OK})


def test_creation_never_replaces_an_existing_trial(tmp_path):
    db = tmp_path / "t.db"
    first = TrialStore(db)
    first.save(finished(0, 1.0, 0.5), new=True)
    second = TrialStore(db)
    with pytest.raises(StoreError, match=r"trial 0 already exists in .*t\.db"):
        second.save(Trial(tid=0, params={"x": 2.0, "c": 1}), new=True)
    record = load_trials(db).records[0]
    assert record.params == {"x": 1.0, "c": 0} and record.loss == 0.5


def test_an_update_never_overwrites_a_trial_another_writer_finished(tmp_path):
    db = tmp_path / "t.db"
    first, second = TrialStore(db), TrialStore(db)
    running = Trial(tid=0, params={"x": 1.0, "c": 0})
    first.save(running, new=True)
    second.save(finished(0, 1.0, 0.25))  # moving a trial out of RUNNING is allowed (a resumed run does it)
    with pytest.raises(StoreError, match="trial 0 in .* is already done"):
        first.save(finished(0, 1.0, 99.0))
    assert load_trials(db).records[0].loss == 0.25
    second.save(finished(0, 1.0, 0.125))  # the writer of a finished row may rewrite its own trial
    assert load_trials(db).records[0].loss == 0.125


# ---- 5 and 13: a SQLite file that is not a parzen store is refused before anything is written --


def app_database(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    db.executemany("INSERT INTO users (name) VALUES (?)", [("ada",), ("bob",)])
    db.commit()
    db.close()


def test_an_application_database_is_refused_and_left_untouched(tmp_path):
    db = tmp_path / "app.db"
    app_database(db)
    before = file_digest(db)
    with pytest.raises(StoreError, match=r"app\.db is not a parzen trial store .*users"):
        run(db, 3)
    with pytest.raises(StoreError, match="is not a parzen trial store"):
        load_trials(db)
    assert file_digest(db) == before
    assert sorted(os.listdir(tmp_path)) == ["app.db"], "no -wal or -shm file was created next to it"
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert con.execute("SELECT name FROM sqlite_master").fetchall() == [("users",)]


def test_a_refused_store_like_file_is_left_untouched(tmp_path):
    db = tmp_path / "near.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE trials (tid INTEGER PRIMARY KEY, state TEXT)")  # a table parzen's name, not its columns
    con.commit()
    con.close()
    before = file_digest(db)
    with pytest.raises(StoreError, match="table 'trials' has columns"):
        run(db, 3)
    assert file_digest(db) == before and sorted(os.listdir(tmp_path)) == ["near.db"]


def test_an_empty_or_missing_file_becomes_a_store(tmp_path):
    (tmp_path / "empty.db").touch()
    run(tmp_path / "empty.db", 2)
    run(tmp_path / "missing.db", 2)
    assert load_trials(tmp_path / "empty.db").n_finished == load_trials(tmp_path / "missing.db").n_finished == 2


def make_store(path, n=6, **kw):
    trials = Trials()
    run(path, n, trials=trials, **kw)
    trials.detach_store()  # closed: the WAL is checkpointed into the file
    return trials


HOSTILE_SHOW = textwrap.dedent(
    """
    import sys
    from parzen.cli import main
    sys.exit(main(["show", sys.argv[1]]))
    """
)


def test_a_recursive_view_named_trials_is_refused_at_once(tmp_path):
    db = tmp_path / "view.db"
    make_store(db)
    con = sqlite3.connect(db)
    con.execute("ALTER TABLE trials RENAME TO real_trials")
    con.execute(
        "CREATE VIEW trials AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
        "SELECT i AS tid, 'DONE' AS state, 'ok' AS status, 1.0 AS loss, '{}' AS params, '{}' AS result, "
        "NULL AS error, 0 AS book_time, 0 AS refresh_time, 0 AS start_time, 0 AS end_time, NULL AS host, "
        "'' AS stdout, '' AS stderr, 1 AS attempts FROM r"
    )
    con.commit()
    con.close()
    shown = subprocess.run([sys.executable, "-c", HOSTILE_SHOW, str(db)], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 1 and "holds a view 'trials'" in shown.stderr, shown.stderr


def test_a_view_standing_in_for_attachments_is_refused(tmp_path):
    db = tmp_path / "blob.db"
    make_store(db)
    con = sqlite3.connect(db)
    con.execute("DROP TABLE attachments")
    con.execute("CREATE VIEW attachments AS SELECT 0 AS tid, 'x' AS name, 'bytes' AS kind, zeroblob(1000) AS value")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="holds a view 'attachments'"):
        load_trials(db)


def test_a_trigger_is_refused_before_resuming(tmp_path):
    db = tmp_path / "trigger.db"
    make_store(db)
    con = sqlite3.connect(db)
    con.execute("CREATE TRIGGER wipe AFTER UPDATE ON trials BEGIN DELETE FROM trials; END")
    con.execute("CREATE TRIGGER wipe2 AFTER INSERT ON trials BEGIN DELETE FROM trials; END")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="holds a trigger 'wipe'"):
        run(db, 10)
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM trials WHERE state = 'DONE'").fetchone()[0] == 6


ATTACHMENT_SIZE = 150 * 2**20
LOAD_AND_MEASURE = textwrap.dedent(
    """
    import sys
    from parzen import load_trials
    from parzen.cli import main
    trials = load_trials(sys.argv[1])
    assert main(["show", sys.argv[1]]) == 0
    peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]  # exec resets it
    print("RSS_MB", int(peak.split()[1]) / 1024)
    """
)


def test_attachments_are_read_only_when_asked_for(tmp_path):
    db = tmp_path / "big.db"

    def with_blob(p):
        return {"loss": 1.0, "status": STATUS_OK, "attachments": {"weights": b"w" * ATTACHMENT_SIZE}}

    make_store(db, n=1, objective=with_blob)
    shown = subprocess.run(
        [sys.executable, "-c", LOAD_AND_MEASURE, str(db)], capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr
    rss = float(shown.stdout.split("RSS_MB")[1])
    assert rss < ATTACHMENT_SIZE / 2**20 / 2, f"show used {rss:.0f} MB for a store with a 150 MB attachment"
    loaded = load_trials(db)
    con = sqlite3.connect(db)
    con.execute("UPDATE attachments SET value = ? WHERE name = 'weights'", (b"changed after loading",))
    con.commit()
    assert loaded.trial_attachments(loaded.trials[0])["weights"] == b"changed after loading"


# ---- 6: damaged stores ----------------------------------------------------------------------


def damaged_rows_store(tmp_path):
    db = tmp_path / "damaged.db"
    make_store(db, n=10)
    con = sqlite3.connect(db)
    con.execute('UPDATE trials SET result = \'{"loss": 1.0, "status": \' WHERE tid = 3')
    con.execute("UPDATE trials SET state = 'EXPLODED' WHERE tid = 5")
    con.execute("UPDATE trials SET params = '[1, 2]' WHERE tid = 7")
    con.execute("UPDATE trials SET book_time = x'00ff' WHERE tid = 8")
    con.commit()
    con.close()
    return db


def test_bad_rows_are_skipped_and_reported_when_reading(tmp_path, capsys):
    db = damaged_rows_store(tmp_path)
    with pytest.warns(StoreWarning) as caught:
        trials = load_trials(db)
    message = str(caught[0].message)
    assert str(db) in message
    for words in ("tid 3: result is not valid JSON", "tid 5: unknown state 'EXPLODED'", "tid 7: params", "tid 8"):
        assert words in message
    assert trials.tids == [0, 1, 2, 4, 6, 9]
    assert cli(["show", str(db)]) == 0
    assert ": 6 trials" in capsys.readouterr().out


def test_resuming_onto_bad_rows_is_refused_listing_them(tmp_path):
    db = damaged_rows_store(tmp_path)
    with pytest.raises(StoreError) as info:
        run(db, 20)
    message = str(info.value)
    assert str(db) in message and "4 damaged rows" in message and "tid 3" in message and "tid 8" in message
    assert sqlite3.connect(db).execute("SELECT count(*) FROM trials").fetchone()[0] == 10, "nothing was written"


def padded(p):
    return {"loss": fn(p), "status": STATUS_OK, "note": "n" * 300}


def originals(db):
    return {r.tid: (r.params, r.loss, r.state) for r in load_trials(db).records}


def read_damaged(db):
    """load_trials on a damaged file: (records or None, warning texts); never a raw exception."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            records = load_trials(db).records
        except StoreError as exc:
            assert str(db) in str(exc)
            records = None
    return records, [str(w.message) for w in caught if issubclass(w.category, StoreWarning)]


def check_good_rows_survive(db, before):
    records, warned = read_damaged(db)
    if records is not None:
        assert warned or len(records) == len(before), "rows went missing without a word"
        for r in records:
            assert before[r.tid] == (r.params, r.loss, r.state)
    with pytest.raises(StoreError, match=f"{db.name}.*(damaged|integrity check)"):
        run(db, 500, objective=padded)
    return records


def test_a_truncated_file(tmp_path):
    db = tmp_path / "truncated.db"
    make_store(db, n=300, objective=padded)
    before = originals(db)
    size = db.stat().st_size
    with open(db, "r+b") as f:
        f.truncate(size * 6 // 10 // 4096 * 4096)
    records = check_good_rows_survive(db, before)
    assert records is not None and 0 < len(records) < 300, "the trials before the cut are still read"


@pytest.mark.parametrize("seed", range(8))
def test_random_bytes_over_a_page(tmp_path, seed):
    db = tmp_path / "garbled.db"
    make_store(db, n=300, objective=padded)
    before = originals(db)
    pages = db.stat().st_size // 4096
    rng = random.Random(seed)
    page = rng.randrange(2, pages + 1)
    with open(db, "r+b") as f:
        f.seek((page - 1) * 4096)
        f.write(rng.randbytes(4096))
    check_good_rows_survive(db, before)


def test_a_damaged_index_is_reported_by_the_integrity_check(tmp_path):
    db = tmp_path / "index.db"
    make_store(db, n=300, objective=padded)
    root = sqlite3.connect(db).execute("SELECT rootpage FROM sqlite_master WHERE name = 'trials_loss'").fetchone()[0]
    with open(db, "r+b") as f:
        f.seek((root - 1) * 4096 + 8)
        f.write(random.Random(0).randbytes(4088))
    with pytest.raises(StoreError, match="integrity check"):
        run(db, 500, objective=padded)


# ---- 10: strictly valid JSON on disk -----------------------------------------------------------


def test_non_finite_values_are_stored_as_valid_json(tmp_path):
    db = tmp_path / "nan.db"

    def odd(p):
        return {"loss": 1.0, "status": STATUS_OK, "acc": math.nan, "curve": [1.0, math.inf], "f1": {"macro": -math.inf}}

    trials = make_store(db, n=3, objective=odd)
    assert math.isnan(trials.results[0]["acc"]) and trials.results[0]["curve"][1] == math.inf
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM trials WHERE json_valid(result) AND json_valid(params)").fetchone()[0] == 3
    assert con.execute(
        "SELECT json_extract(result, '$.acc'), json_extract(result, '$._nonfinite') FROM trials"
    ).fetchone() == (
        None,
        json.dumps({"/acc": "nan", "/curve/1": "inf", "/f1/macro": "-inf"}, separators=(",", ":")),
    )
    loaded = load_trials(db).results[0]
    assert math.isnan(loaded["acc"]) and loaded["curve"] == [1.0, math.inf] and loaded["f1"] == {"macro": -math.inf}
    assert "_nonfinite" not in loaded
