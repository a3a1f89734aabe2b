"""A durable trial store: SQLite (standard library, WAL mode), JSON inside, no pickle.

``fmin(..., trials_save_file="tuning.db")`` commits every trial's creation and
completion before the loop moves on, so a driver that dies (``kill -9``, a lost
notebook) loses nothing that finished. Running the same script again resumes: finished
trials are loaded (and seen by the algorithm), trials that were running when the driver
died become ``INTERRUPTED`` and their budget is run again.

One driver writes a store at a time: a lease row names it, and a second driver is
refused while the first is alive. Readers (``parzen.load_trials``) may look at any
time. Nothing on disk is a pickle: parameters and results are JSON (a value JSON
cannot hold is stored as its ``repr``, with a warning naming the key), bytes
attachments are BLOBs, so opening a store never runs code. Format: docs/store.md.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from parzen.exceptions import SpaceMismatch, StoreError
from parzen.filesystems import journal_mode
from parzen.history import TrialState
from parzen.space import CompiledSpace
from parzen.trials import Trial, Trials

FORMAT_VERSION = 1
STALE_LEASE_SECONDS = 600.0  # a driver on another host silent this long is presumed dead

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    tid INTEGER PRIMARY KEY,
    state TEXT NOT NULL,
    status TEXT,
    loss REAL,
    params TEXT NOT NULL,
    result TEXT NOT NULL,
    error TEXT,
    book_time REAL,
    refresh_time REAL,
    start_time REAL,
    end_time REAL,
    host TEXT,
    stdout TEXT,
    stderr TEXT,
    attempts INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS trials_loss ON trials (loss);
CREATE TABLE IF NOT EXISTS attachments (
    tid INTEGER NOT NULL REFERENCES trials (tid),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('json', 'text', 'bytes')),
    value BLOB,
    PRIMARY KEY (tid, name)
);
CREATE TABLE IF NOT EXISTS lease (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    process_start TEXT,
    acquired REAL NOT NULL,
    heartbeat REAL NOT NULL
);
"""


# ---- JSON that never fails ----------------------------------------------------------


def _jsonable(value: Any, key: str, where: str) -> Any:
    """`value` as plain JSON data; what JSON cannot hold becomes its repr (with a warning)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _jsonable(v, f"{key}.{k}", where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{key}[{i}]", where) for i, v in enumerate(value)]
    warnings.warn(
        f"result key {key!r} is a {type(value).__name__}, which JSON cannot hold; the store keeps its repr "
        f"(first seen in {where})",
        stacklevel=4,
    )
    return repr(value)


def to_json(mapping: dict[str, Any], where: str) -> str:
    return json.dumps({k: _jsonable(v, k, where) for k, v in mapping.items()})


# ---- who holds the store --------------------------------------------------------------


def _process_start(pid: int) -> str | None:
    """The kernel's start time of `pid` (Linux), to tell a live driver from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(host: str, pid: int, process_start: str | None, heartbeat: float) -> bool:
    if host != socket.gethostname():
        return time.time() - heartbeat < STALE_LEASE_SECONDS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return process_start is None or _process_start(pid) == process_start


class TrialStore:
    """One SQLite file holding one experiment's trials."""

    def __init__(self, path: str | os.PathLike[str], readonly: bool = False):
        self.given = os.fspath(path)
        self.path = Path(path).absolute()  # an objective's os.chdir must not move the store
        self.readonly = readonly
        self.holds_lease = False
        self._check_path()
        try:
            uri = f"file:{self.path}?mode=ro" if readonly else f"file:{self.path}"
            self.db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False)
            if not readonly:
                self._set_journal()
                self.db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes
                self.db.executescript(SCHEMA)
            self._check_format()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot use {self.path} as a parzen trial store: {exc}") from exc

    def _set_journal(self) -> None:
        """WAL where it works; the rollback journal on network/FUSE filesystems (see parzen.filesystems)."""
        mode, reason = journal_mode(self.path)
        if mode != "WAL":
            warnings.warn(
                f"trial store {str(self.path)!r}: {reason}; SQLite's WAL needs shared memory and locks that do not "
                "work there, so the store uses a rollback journal (slower writes; readers wait for writers)",
                stacklevel=4,
            )
        self.db.execute(f"PRAGMA journal_mode={mode}")

    def meta(self, key: str) -> str | None:
        """A value of the ``meta`` table (None when absent)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        """Write one ``meta`` value (committed at once); keys are listed in docs/store.md."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def is_for(self, path: str | os.PathLike[str]) -> bool:
        """True if `path` names this store: the same string as given, or the same file."""
        return os.fspath(path) == self.given or Path(path).absolute() == self.path

    def _check_path(self) -> None:
        folder = self.path.parent
        if not folder.is_dir():
            raise StoreError(f"trials_save_file {str(self.path)!r}: the folder {str(folder)!r} does not exist")
        if self.readonly:
            if not self.path.exists():
                raise StoreError(f"no trial store at {str(self.path)!r}")
            return
        try:  # os.access says yes to root even on read-only mounts: really try
            with open(self.path, "ab"):
                pass
            probe = folder / f".{self.path.name}.parzen-probe-{os.getpid()}"
            probe.touch()
            probe.unlink()
        except OSError as exc:
            raise StoreError(
                f"trials_save_file {str(self.path)!r} is not writable ({exc.strerror}); "
                "choose a path in a folder you can write to"
            ) from exc

    def _check_format(self) -> None:
        rows = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        version = rows.get("format_version")
        if version is None and not self.readonly:
            self.db.execute("INSERT INTO meta VALUES ('format_version', ?)", (str(FORMAT_VERSION),))
        elif version is not None and int(version) > FORMAT_VERSION:
            raise StoreError(f"{self.path} was written by a newer parzen (store format {version}); upgrade parzen")

    # ---- the experiment's space --------------------------------------------------------

    def check_space(self, description: Any) -> None:
        """Record the space on first use; later, refuse a different one, listing changes."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'space'").fetchone()
        if row is None:
            if not self.readonly:
                self.db.execute("INSERT INTO meta VALUES ('space', ?)", (json.dumps(description),))
            return
        stored = json.loads(row[0])
        if stored != json.loads(json.dumps(description)):
            changes = describe_changes(stored, description)
            raise SpaceMismatch(
                f"{self.path} holds trials of a different search space; resuming would mix them. "
                f"Changes: {'; '.join(changes)}. Use a new trials_save_file for the new space."
            )

    # ---- the lease --------------------------------------------------------------------------

    def acquire(self) -> None:
        """Become the one driver writing this store, or raise naming the one that is."""
        me = (socket.gethostname(), os.getpid(), _process_start(os.getpid()))
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT host, pid, process_start, acquired, heartbeat FROM lease").fetchone()
            if row is not None and tuple(row[:3]) != me and _alive(row[0], row[1], row[2], row[4]):
                raise StoreError(
                    f"{self.path} is in use by another driver (pid {row[1]} on {row[0]}, since "
                    f"{time.ctime(row[3])}); wait for it to finish or use another trials_save_file. "
                    "parzen.load_trials() can read it meanwhile."
                )
            now = time.time()
            self.db.execute("INSERT OR REPLACE INTO lease VALUES (1, ?, ?, ?, ?, ?)", (*me, now, now))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.holds_lease = True

    def release(self) -> None:
        if self.holds_lease:
            self.db.execute("DELETE FROM lease WHERE pid = ? AND host = ?", (os.getpid(), socket.gethostname()))
            self.holds_lease = False

    # ---- trials -------------------------------------------------------------------------------

    def save(self, trial: Trial, new: bool = False) -> None:
        """Write `trial` (and its attachments) in one committed transaction."""
        where = f"trial {trial.tid}"
        row = (
            trial.tid,
            trial.state.name,
            trial.result.get("status"),
            _finite_or_none(trial.loss),
            to_json(trial.params, where),
            to_json(trial.result, where),
            trial.error,
            trial.book_time,
            trial.refresh_time,
            trial.start_time,
            trial.end_time,
            trial.host,
            trial.stdout,
            trial.stderr,
            trial.attempts,
        )
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("INSERT OR REPLACE INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            for name, value in trial.attachments.items():
                self.db.execute(
                    "INSERT OR REPLACE INTO attachments VALUES (?, ?, ?, ?)",
                    (trial.tid, name, *_attachment(value, name, where)),
                )
            if self.holds_lease:
                self.db.execute("UPDATE lease SET heartbeat = ?", (time.time(),))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def load(self) -> list[Trial]:
        """Every stored trial, in tid order, attachments included."""
        attachments: dict[int, dict[str, Any]] = {}
        for tid, name, kind, value in self.db.execute("SELECT tid, name, kind, value FROM attachments"):
            attachments.setdefault(tid, {})[name] = _attachment_value(kind, value)
        columns = "tid, state, params, result, error, book_time, refresh_time, start_time, end_time, host, "
        columns += "stdout, stderr, attempts"
        trials = []
        for row in self.db.execute(f"SELECT {columns} FROM trials ORDER BY tid"):
            tid, state, params, result, error, book, refresh, start, end, host, out, err, attempts = row
            trials.append(
                Trial(
                    tid=tid,
                    params=json.loads(params),
                    state=TrialState[state],
                    result=json.loads(result),
                    book_time=book,
                    refresh_time=refresh,
                    start_time=start,
                    end_time=end,
                    error=error,
                    host=host,
                    stdout=out or "",
                    stderr=err or "",
                    attempts=attempts,
                    attachments=attachments.get(tid, {}),
                )
            )
        return trials

    def close(self) -> None:
        self.release()
        self.db.close()


def _finite_or_none(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _attachment(value: Any, name: str, where: str) -> tuple[str, Any]:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes", bytes(value)
    if isinstance(value, str):
        return "text", value
    return "json", json.dumps(_jsonable(value, f"attachments.{name}", where))


def _attachment_value(kind: str, value: Any) -> Any:
    if kind == "bytes":
        return bytes(value)
    if kind == "text":
        return value
    return json.loads(value)


def _params_of(description: Any, path: str = "", out: dict | None = None) -> dict[str, Any]:
    """label -> that hyperparameter's description, from a space description."""
    out = {} if out is None else out
    if isinstance(description, dict):
        if "hp" in description:
            out[description["hp"]["label"]] = description["hp"]
        for value in description.values():
            _params_of(value, path, out)
    elif isinstance(description, list):
        for value in description:
            _params_of(value, path, out)
    return out


def describe_changes(old: Any, new: Any) -> list[str]:
    """Human-readable differences between two space descriptions."""
    new = json.loads(json.dumps(new))
    before, after = _params_of(old), _params_of(new)
    changes = []
    if set(after) - set(before):
        changes.append(f"new hyperparameters {sorted(set(after) - set(before))}")
    if set(before) - set(after):
        changes.append(f"removed hyperparameters {sorted(set(before) - set(after))}")
    for label in sorted(set(before) & set(after)):
        if before[label] != after[label]:
            changes.append(f"{label!r} was {_short(before[label])}, now {_short(after[label])}")
    return changes or ["the structure around the hyperparameters (constants, nesting or choice options) changed"]


def _short(d: dict) -> str:
    args = ", ".join(f"{k}={v}" for k, v in d.items() if k not in ("label", "kind") and v is not None)
    return f"{d['kind']}({args})"


# ---- attaching a store to Trials ------------------------------------------------------------


def attach_store(trials: Trials | None, path: str | os.PathLike[str], space: CompiledSpace) -> Trials:
    """The Trials of a run with `path` as its store, resumed from it if it holds trials.

    Takes the store's lease (released by `fmin` when the run ends). Trials that were
    running when a previous driver died are marked `INTERRUPTED`.
    """
    description = space.describe()
    trials = trials if trials is not None else Trials()
    if trials.store is not None and trials.store.is_for(path):
        trials.store.check_space(description)
        trials.store.acquire()
        return trials
    store = TrialStore(path)
    try:
        store.check_space(description)
        store.acquire()
        stored = _interrupted_marked(store)
        if stored and len(trials):
            raise StoreError(
                f"{store.path} already holds {len(stored)} trials and the Trials passed to fmin holds "
                f"{len(trials)}; pass trials=None (or a new Trials) to resume from the file"
            )
        trials.detach_store()
        trials.load_records(stored)
        trials.attach_store(store)
    except BaseException:
        store.close()
        raise
    return trials


def _interrupted_marked(store: TrialStore) -> list[Trial]:
    """The stored trials, those left running by a dead driver now `INTERRUPTED` (and saved so)."""
    stored = store.load()
    for trial in stored:
        if trial.state in (TrialState.RUNNING, TrialState.NEW):
            trial.state = TrialState.INTERRUPTED
            trial.error = "interrupted: the driver stopped while this trial was running; its budget is run again"
            trial.result = {"status": "fail", "error": trial.error}
            store.save(trial)
    return stored


def load_trials(path: str | os.PathLike, space: Any = None) -> Trials:
    """Open a store for analysis (read-only; works while a driver is writing it).

    Pass the `space` to get ``best_params`` and choice values in ``to_dataframe()``.
    """
    store = TrialStore(path, readonly=True)
    try:
        if space is not None:
            from parzen.space import compile_space

            store.check_space(compile_space(space).describe())
        records = store.load()
    finally:
        store.db.close()
    trials = Trials()
    trials.load_records(records)
    if space is not None:
        trials.attach_space(space)
    return trials
