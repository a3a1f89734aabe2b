"""The store when the machine fails it (issue 8): a folder the reader cannot write, a disk
that fills up mid-run, a lease that must stay alive through long trials. The faults are
real: a read-only bind mount and a small tmpfs (both need root with CAP_SYS_ADMIN, as in
the project's test container; elsewhere these tests skip), and a real second lease holder."""

import contextlib
import errno
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest

import parzen.storage.store as store_module
from parzen import Trials, fmin, hp, load_trials, rand
from parzen.cli import main as cli
from parzen.exceptions import StoreError, StoreWarning
from parzen.storage.store import TrialStore
from parzen.trial import Trial

SPACE = {"x": hp.uniform("x", -5, 5), "c": hp.choice("c", ["a", "b"])}


def fn(p):
    return (p["x"] - 1) ** 2 + (p["c"] == "a")


def run(path, max_evals, objective=fn, trials=None, **kw):
    return fmin(
        objective,
        SPACE,
        algo=rand.suggest,
        trials=trials,
        max_evals=max_evals,
        trials_save_file=str(path),
        rstate=np.random.default_rng(0),
        show_progressbar=False,
        **kw,
    )


def snapshot(records):
    return {r.tid: (r.params, r.loss, r.state) for r in records}


def mount(*args: str) -> None:
    try:
        subprocess.run(["mount", *args], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"mount {' '.join(args)} is not allowed here (needs root with CAP_SYS_ADMIN): {exc}")


@contextlib.contextmanager
def read_only_view(folder):
    """`folder` seen through a read-only bind mount: root ignores file modes, not a read-only mount."""
    view = folder.parent / f"{folder.name}-ro"
    view.mkdir()
    mount("--bind", str(folder), str(view))
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True)
        with pytest.raises(OSError):
            (view / "probe").touch()
        yield view
    finally:
        subprocess.run(["umount", "-l", str(view)], check=True)  # lazy: open stores may still hold files


@contextlib.contextmanager
def small_disk(folder, size="2m"):
    """A tmpfs of `size` at `folder`: a disk that really fills up."""
    folder.mkdir()
    mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder))
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder):
    """Write a file until the disk is full; deleting it gives the space back."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (2**20, 2**16, 2**12, 1):  # down to the last byte
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)
    with pytest.raises(OSError) as full:
        (folder / "probe").write_bytes(b"x")
    assert full.value.errno == errno.ENOSPC
    return filler


# ---- 7: analysis of a store in a folder the reader cannot write ---------------------------------

EXIT_WITHOUT_CLOSING = textwrap.dedent(
    """
    import os, sys
    from parzen import fmin, hp, rand
    fmin(lambda p: p["x"], {"x": hp.uniform("x", 0, 1)}, algo=rand.suggest, max_evals=int(sys.argv[2]),
         trials_save_file=sys.argv[1], show_progressbar=False)
    os._exit(0)  # as a killed driver: the -wal and -shm files stay, the WAL not checkpointed
    """
)


def test_read_only_folder_clean_store(tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    trials = Trials()
    run(folder / "t.db", 8, trials=trials)
    trials.detach_store()
    assert sorted(os.listdir(folder)) == ["t.db"]
    with read_only_view(folder) as view:
        loaded = load_trials(view / "t.db", space=SPACE)
        assert snapshot(loaded.records) == snapshot(trials.records)
        assert cli(["show", str(view / "t.db")]) == 0
        assert ": 8 trials" in capsys.readouterr().out
        with pytest.raises(StoreError, match="is not writable"):
            run(view / "t.db", 10)


def test_read_only_folder_store_of_a_killed_driver(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "t.db"
    subprocess.run([sys.executable, "-c", EXIT_WITHOUT_CLOSING, str(db), "12"], check=True, timeout=120)
    assert {"t.db-wal", "t.db-shm"} <= set(os.listdir(folder))
    with read_only_view(folder) as view:
        assert load_trials(view / "t.db").n_finished == 12, "the WAL's commits are read"


def test_read_only_folder_wal_without_its_shm(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "t.db"
    subprocess.run([sys.executable, "-c", EXIT_WITHOUT_CLOSING, str(db), "12"], check=True, timeout=120)
    (folder / "t.db-shm").unlink()  # e.g. copied without it
    with read_only_view(folder) as view, pytest.warns(StoreWarning, match="read from a copy"):
        assert load_trials(view / "t.db").n_finished == 12


# ---- 8: disk full ------------------------------------------------------------------------------------


def filling_objective(disk, fill_at, free_at=None):
    calls = {"n": 0}

    def objective(p):
        if calls["n"] == fill_at:
            calls["filler"] = fill(disk)
        if calls["n"] == free_at:
            calls["filler"].unlink()
        calls["n"] += 1
        return {"loss": fn(p), "status": "ok", "note": "n" * 2000}

    return objective, calls


def test_disk_full_mid_run_then_space_returns(tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        db = disk / "t.db"
        objective, _ = filling_objective(disk, fill_at=5, free_at=25)
        trials = Trials()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run(db, 40, objective=objective, trials=trials)
        texts = [str(w.message) for w in caught if issubclass(w.category, StoreWarning)]
        assert any(f"disk full at {db}" in t for t in texts), texts
        assert not any("cannot rollback" in t for t in texts)
        assert trials.n_finished == 40
        assert snapshot(load_trials(db).records) == snapshot(trials.records)


def test_disk_full_to_the_end_keeps_the_trials_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "FLUSH_BACKOFF", (0.05, 0.1))
    with small_disk(tmp_path / "disk") as disk:
        db = disk / "t.db"
        objective, calls = filling_objective(disk, fill_at=5)
        trials = Trials()
        with pytest.warns(StoreWarning), pytest.raises(StoreError) as info:
            run(db, 30, objective=objective, trials=trials)
        message = str(info.value)
        assert message.startswith(f"disk full at {db}") and "cannot rollback" not in message
        assert "trials are only in memory" in message and info.value.trials is trials
        assert trials.n_finished == 30
        assert len(load_trials(db)) < 30
        calls["filler"].unlink()
        trials.store.flush()
        assert snapshot(load_trials(db).records) == snapshot(trials.records)


def test_a_write_on_a_full_disk_reports_the_real_error(tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        db = disk / "t.db"
        store = TrialStore(db)
        filler = fill(disk)
        with pytest.warns(StoreWarning, match=f"disk full at {db}.*database or disk is full"):
            for tid in range(50):
                store.save(Trial(tid=tid, params={"x": 1.0, "c": 0}, error="e" * 2000), new=True)
        assert store.unsaved == list(range(50))
        filler.unlink()
        store.flush()
        assert store.unsaved == [] and len(load_trials(db)) == 50


# ---- 9: the lease's heartbeat ---------------------------------------------------------------------


@pytest.fixture
def short_lease(monkeypatch):
    monkeypatch.setattr(store_module, "HEARTBEAT_SECONDS", 0.05, raising=False)
    monkeypatch.setattr(store_module, "STALE_LEASE_SECONDS", 0.5)


def pretend_other_host(db):
    """Make the lease look as a driver on another host sees it (its liveness is its heartbeat)."""
    con = sqlite3.connect(db)
    con.execute("UPDATE lease SET host = 'far-away-host'")
    con.commit()
    con.close()


TAKE_OVER = textwrap.dedent(
    """
    import sys
    import parzen.storage.store
    from parzen.exceptions import StoreError
    parzen.storage.store.STALE_LEASE_SECONDS = float(sys.argv[2])
    store = parzen.storage.store.TrialStore(sys.argv[1])
    try:
        store.acquire()
    except StoreError as exc:
        print("REFUSED", exc)
    else:
        print("TOOK IT")
    """
)


def try_to_take(db):
    """Another driver (a process of its own) tries to take the store, with the same short window."""
    taken = subprocess.run(
        [sys.executable, "-c", TAKE_OVER, str(db), str(store_module.STALE_LEASE_SECONDS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert taken.returncode == 0, taken.stderr
    return taken.stdout


def test_the_lease_stays_alive_through_trials_longer_than_the_window(tmp_path, short_lease):
    db = tmp_path / "t.db"
    refusals = []

    def long_trial(p):
        pretend_other_host(db)
        time.sleep(1.5)  # three stale windows without a trial being saved
        refusals.append(try_to_take(db))
        return fn(p)

    trials = Trials()
    run(db, 2, objective=long_trial, trials=trials)
    assert len(refusals) == 2 and all(r.startswith("REFUSED") and "far-away-host" in r for r in refusals), refusals
    assert snapshot(load_trials(db).records) == snapshot(trials.records)
    assert not [t for t in threading.enumerate() if t.name.startswith("parzen-heartbeat")], "stopped on release"
    assert sqlite3.connect(db).execute("SELECT count(*) FROM lease").fetchone()[0] == 0


def test_the_heartbeat_skips_a_beat_when_the_file_is_busy(tmp_path, short_lease):
    db = tmp_path / "t.db"
    store = TrialStore(db)
    store.acquire()
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    time.sleep(2.0)
    blocker.execute("ROLLBACK")
    before = sqlite3.connect(db).execute("SELECT heartbeat FROM lease").fetchone()[0]
    time.sleep(0.5)
    after = sqlite3.connect(db).execute("SELECT heartbeat FROM lease").fetchone()[0]
    assert after > before, "the heartbeat resumed after the contention"
    store.close()


def test_a_driver_whose_lease_was_taken_stops_writing(tmp_path, short_lease):
    db = tmp_path / "t.db"
    calls = {"n": 0}

    def objective(p):
        calls["n"] += 1
        if calls["n"] == 3:  # a driver on another host took the store over
            con = sqlite3.connect(db)
            con.execute("UPDATE lease SET host = 'far-away-host', pid = 1, heartbeat = ?", (time.time(),))
            with contextlib.suppress(sqlite3.OperationalError):  # format 1 had no token
                con.execute("UPDATE lease SET token = 'theirs'")
            con.commit()
            con.close()
        return fn(p)

    trials = Trials()
    with pytest.raises(StoreError, match="far-away-host"):
        run(db, 10, objective=objective, trials=trials)
    with pytest.raises(StoreError, match="lost its lease"):
        trials.store.save(Trial(tid=99, params={"x": 0.0, "c": 0}), new=True)
    states = dict(sqlite3.connect(db).execute("SELECT tid, state FROM trials").fetchall())
    assert states == {0: "DONE", 1: "DONE", 2: "RUNNING"}, "nothing written after the take-over"


def test_the_heartbeat_is_well_within_the_stale_window():
    assert store_module.HEARTBEAT_SECONDS <= store_module.STALE_LEASE_SECONDS / 10
