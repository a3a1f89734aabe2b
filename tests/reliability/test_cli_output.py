"""What the `parzen` command writes and prints (issue 24, items 6 and 8): nothing it writes may
land on a file of the store (main file, -wal, -shm, journal, or the same inode through a hard
link or a symlink), a full disk leaves no truncated file and no traceback, and what it prints
from stored data cannot drive the terminal. Real files, real links, a real full tmpfs."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from test_store_machine import fill, small_disk

from parzen import fmin, hp, load_trials, rand
from parzen.cli import main as cli

KILLED_WITH_A_WAL = textwrap.dedent(
    """
    import os, sys
    from parzen import fmin, hp, rand
    fmin(lambda p: p["x"], {"x": hp.uniform("x", 0, 1)}, algo=rand.suggest, max_evals=int(sys.argv[2]),
         trials_save_file=sys.argv[1], show_progressbar=False)
    os.kill(os.getpid(), 9)  # kill -9: the committed trials stay in the -wal file, not checkpointed
    """
)


def killed_store(folder, n=151):
    """A store whose driver was killed with `kill -9`: its committed trials live in t.db-wal."""
    db = folder / "t.db"
    done = subprocess.run([sys.executable, "-c", KILLED_WITH_A_WAL, str(db), str(n)], capture_output=True, text=True)
    assert done.returncode == -9, done.stderr[-2000:]
    wal = folder / "t.db-wal"
    assert wal.exists() and wal.stat().st_size > 0 and (folder / "t.db-shm").exists()
    return db


def state_of(folder):
    """Every file of the folder with its content hash; of SQLite's -shm (an index any reader
    rebuilds) only that it is still an index: a whole number of 32 KB pages, not our text."""
    import hashlib

    out = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and not p.is_symlink():
            data = p.read_bytes()
            shm = p.name.endswith("-shm")
            out[p.name] = (
                len(data) % 32768 == 0 and not data.startswith((b"tid", b"<"))
                if shm
                else (hashlib.sha256(data).hexdigest())
            )
    return out


@pytest.fixture
def wal_store(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    return killed_store(folder)


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
@pytest.mark.parametrize("command", ["export", "report"])
def test_no_output_lands_on_a_file_of_the_store(wal_store, capsys, command, suffix):
    before = state_of(wal_store.parent)
    target = f"{wal_store}{suffix}"
    argv = ["export", str(wal_store), target] if command == "export" else ["report", str(wal_store), "-o", target]
    assert cli(argv) == 1
    err = capsys.readouterr().err
    assert "refusing" in err and "trial store" in err, err
    assert state_of(wal_store.parent) == before  # the -wal file still holds the 151 trials
    assert len(load_trials(wal_store)) == 151


@pytest.mark.parametrize("link", ["hard", "symbolic"])
@pytest.mark.parametrize("of", ["", "-wal"])
def test_a_link_to_the_store_is_refused(wal_store, tmp_path, capsys, link, of):
    target = tmp_path / "trials.csv"
    (os.link if link == "hard" else os.symlink)(f"{wal_store}{of}", target)
    before = state_of(wal_store.parent)
    assert cli(["export", str(wal_store), str(target)]) == 1
    assert "refusing" in capsys.readouterr().err
    assert cli(["report", str(wal_store), "-o", str(target)]) == 1
    assert "refusing" in capsys.readouterr().err
    assert state_of(wal_store.parent) == before
    assert len(load_trials(wal_store)) == 151


def test_the_python_report_of_trials_refuses_their_store_files(tmp_path):
    """`write_report(trials, path)` of a Trials saving to a store knows that store's files too."""
    from parzen import Trials
    from parzen.exceptions import ParzenError
    from parzen.plotting import write_report

    trials = Trials()
    fmin(lambda p: p["x"], {"x": hp.uniform("x", 0, 1)}, algo=rand.suggest, max_evals=5, trials=trials,
         trials_save_file=str(tmp_path / "live.db"), show_progressbar=False)  # fmt: skip
    assert trials.store is not None
    before = state_of(tmp_path)
    for name in ("live.db", "live.db-wal", "live.db-shm", "live.db-journal"):
        with pytest.raises(ParzenError, match="refusing"):
            write_report(trials, tmp_path / name)
        with pytest.raises(ParzenError, match="refusing"):
            write_report(str(tmp_path / "live.db"), tmp_path / name)
    assert state_of(tmp_path) == before


def small_store(folder, n=30):
    db = folder / "t.db"
    fmin(lambda p: p["x"], {"x": hp.uniform("x", 0, 1)}, algo=rand.suggest, max_evals=n,
         trials_save_file=str(db), rstate=np.random.default_rng(0), show_progressbar=False)  # fmt: skip
    return db


def test_a_full_disk_leaves_no_truncated_report_and_no_traceback(tmp_path):
    db = small_store(tmp_path)
    with small_disk(tmp_path / "disk", size="1m") as disk:  # the report inlines 4.5 MB of plotly.js
        old = disk / "report.html"
        old.write_text("<html>the previous report</html>")
        done = subprocess.run(
            [sys.executable, "-m", "parzen.cli", "report", str(db), "-o", str(old)], capture_output=True, text=True
        )
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
        assert "No space left on device" in done.stderr and str(old) in done.stderr
        assert old.read_text() == "<html>the previous report</html>"  # the old report is kept whole
        assert sorted(p.name for p in disk.iterdir()) == ["report.html"]  # no half-written temporary file
        fresh = disk / "fresh.html"
        assert cli(["report", str(db), "-o", str(fresh)]) == 1
        assert not fresh.exists()


def test_a_full_disk_during_export_leaves_no_truncated_file(tmp_path, capsys):
    db = small_store(tmp_path, n=200)
    with small_disk(tmp_path / "disk", size="1m") as disk:
        filler = fill(disk)
        before = sorted(p.name for p in disk.iterdir())
        out = disk / "t.json"
        assert cli(["export", str(db), str(out)]) == 1
        assert "No space left on device" in capsys.readouterr().err
        assert not out.exists() and sorted(p.name for p in disk.iterdir()) == before
        filler.unlink()
        assert cli(["export", str(db), str(out)]) == 0
        assert len(json.loads(out.read_text())) == 200


HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x9b31m\u202eevil\rover"


def test_show_escapes_terminal_control_sequences_from_stored_data(tmp_path):
    db = tmp_path / "t.db"
    calls = []

    def objective(p):
        calls.append(p)
        if len(calls) % 2:
            raise ValueError(HOSTILE)
        return 1.0

    fmin(objective, {HOSTILE: hp.choice(HOSTILE, [HOSTILE, "b"])}, algo=rand.suggest, max_evals=6,
         trials_save_file=str(db), catch_eval_exceptions=True, show_progressbar=False)  # fmt: skip
    out = subprocess.run([sys.executable, "-m", "parzen.cli", "show", str(db)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    printed = out.stdout
    for char in printed:
        assert char == "\n" or (char.isprintable() and char not in "\u202e"), repr(char)
    assert "ValueError: \\x1b]0;pwned\\x07" in printed  # shown, escaped, not dropped
    assert "\\u202eevil\\rover" in printed
