"""A durable trial store: SQLite (standard library, WAL mode), strict JSON inside, no pickle.

``fmin(..., trials_save_file="tuning.db")`` commits every trial's creation and
completion before the loop moves on, so a driver that dies (``kill -9``, a lost
notebook) loses nothing that finished. Running the same script again resumes: finished
trials are loaded (and seen by the algorithm), trials that were running when the driver
died become ``INTERRUPTED`` and their budget is run again.

Nothing that finished is lost or misfiled, whatever the user or the machine does:

* one driver writes a store at a time (a lease with a heartbeat thread; a second run is
  refused, in another process or another thread of this one), a trial is created by an
  INSERT that fails on an existing tid, and a finished trial is never overwritten by
  another writer;
* a file that is not exactly a parzen store (an application's database, a view, a
  trigger) is refused before anything is read or written;
* a damaged store is read around its damage (the good trials, a warning listing the bad
  rows) and never resumed onto;
* a full disk holds trials back in memory and writes them when space returns;
* readers open the file read-only, even in a folder they cannot write.

Parameters and results are strict JSON (non-finite numbers noted under ``_nonfinite``),
bytes attachments are BLOBs read only when asked for; opening a store never runs code.
Format: docs/store.md.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import socket
import sqlite3
import tempfile
import time
import uuid
import warnings
import weakref
from pathlib import Path
from typing import Any

from parzen._hyperopt.trials import Trials
from parzen.exceptions import StoreError, StoreWarning
from parzen.space import CompiledSpace
from parzen.storage import encoding as sjson
from parzen.storage.journal import journal_mode
from parzen.storage.lease import Heartbeat, alive, process_start
from parzen.storage.read import TRIAL_COLUMNS, Reader, StoredAttachments, attachment_row, attachment_value
from parzen.storage.schema import FORMAT_VERSION, MIGRATE_1_TO_2, create, inspect, uri
from parzen.storage.space import as_read_back, choice_options, compare, describe_changes
from parzen.trial import Trial, TrialState

__all__ = ["FORMAT_VERSION", "TrialStore", "attach_store", "load_trials", "describe_changes"]

logger = logging.getLogger("parzen")

STALE_LEASE_SECONDS = 600.0  # a driver on another host whose heartbeat is older than this is presumed dead
HEARTBEAT_SECONDS = 30.0  # how often a driver refreshes its lease, trial or no trial
HEARTBEAT_BUSY_TIMEOUT = 1.0  # the heartbeat waits this long for the file, then skips a beat
FLUSH_BACKOFF = (0.25, 0.5, 1.0, 2.0)  # when fmin ends: pauses between the last tries to write held-back trials
_UPDATE = (
    "UPDATE trials SET state = ?, status = ?, loss = ?, params = ?, result = ?, error = ?, book_time = ?, "
    "refresh_time = ?, start_time = ?, end_time = ?, host = ?, stdout = ?, stderr = ?, attempts = ?, worker = ? "
    "WHERE tid = ? AND (state IN ('RUNNING', 'NEW') OR (? AND state = ? AND refresh_time IS ?))"
)
_INSERT = f"INSERT INTO trials ({TRIAL_COLUMNS}) VALUES ({', '.join('?' * 16)})"
_TRANSIENT = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_READONLY", "SQLITE_CANTOPEN")

# The stores holding a lease in this process, by file: a second run on the same file is refused
# even from another thread, where pid and host are the same.
_holders: weakref.WeakValueDictionary[tuple[int, int], TrialStore] = weakref.WeakValueDictionary()


class TrialStore:
    """One SQLite file holding one experiment's trials (developer API; users pass ``trials_save_file``).

    The contract `parzen.Trials` relies on (checked by tests/reliability):

    * ``save(trial, new=True)`` creates a trial's row and fails if the tid exists (no
      experiment is ever merged into another); ``save(trial)`` updates it, and a finished
      row is never overwritten by another writer; ``save_intermediate(tid, step, value)``
      keeps the first value reported at a step. Each call commits before it returns.
    * A write the disk refuses (full, read-only, locked) is held in memory and retried,
      never dropped; ``end_run`` writes what is held or raises `StoreError` naming the
      trials still only in memory.
    * ``load()`` returns every readable `Trial` in tid order, reading around damaged rows
      (listed in ``damage``); attachments are read only when asked for.
    * ``acquire(space)`` takes the lease (one driver per file, a heartbeat thread keeps it);
      ``check_space`` refuses a different space (`SpaceMismatch`) before anything is written.
    * Values JSON cannot hold are stored as their repr, with a warning; nothing is pickled,
      and opening a store never runs code.

    Args:
        path: the SQLite file (created when missing or empty; otherwise it must be exactly
            a parzen store).
        readonly: open for analysis: nothing is written, not even in a folder the reader
            cannot write (``parzen show``, the report, `load_trials`).
    """

    def __init__(self, path: str | os.PathLike[str], readonly: bool = False):
        self.given = os.fspath(path)
        self.path = Path(path).absolute()  # an objective's os.chdir must not move the store
        self.readonly = readonly
        self.holds_lease = False
        self.token = uuid.uuid4().hex  # names this object in the lease row
        self.damage: list[tuple[int | None, str]] = []  # (tid, what is wrong) of rows `load` skipped
        self._written: dict[int, tuple[str, float | None]] = {}  # tid -> (state, refresh_time) this object wrote
        self._held: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # writes a full disk held back, in order
        self._held_error: sqlite3.Error | None = None
        self._heartbeat: Heartbeat | None = None
        self._copy: tempfile.TemporaryDirectory[str] | None = None
        self._salvaged: str | None = None  # why a damaged file is read in salvage mode
        self._lost: str | None = None  # why this run may not write any more (its lease was taken over)
        self._check_path()
        stat = os.stat(self.path)
        self._file_id = (stat.st_dev, stat.st_ino)  # one file, however its path is spelled
        try:
            self.db, self.version = self._open_readonly() if readonly else self._open_for_writing()
        except sqlite3.Error as exc:
            raise self._error(exc, "open") from exc

    # ---- opening --------------------------------------------------------------------------

    def _set_journal(self, db: sqlite3.Connection) -> None:
        """WAL where it works; the rollback journal on network/FUSE filesystems (see parzen.storage.journal)."""
        mode, reason = journal_mode(self.path)
        if mode != "WAL":
            warnings.warn(
                f"trial store {str(self.path)!r}: {reason}; SQLite's WAL needs shared memory and locks that do not "
                "work there, so the store uses a rollback journal (slower writes; readers wait for writers)",
                stacklevel=4,
            )
        db.execute(f"PRAGMA journal_mode={mode}")

    def meta(self, key: str) -> str | None:
        """A value of the ``meta`` table (None when absent).

        Args:
            key: the key (listed in docs/store.md).
        """
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        """Write one ``meta`` value (committed at once); keys are listed in docs/store.md.

        Args:
            key: the key.
            value: its value, as text.
        """
        if self.readonly or self._lost:
            raise StoreError(f"cannot write meta key {key!r} to {self.path}: {self._lost or 'opened read-only'}")
        try:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        except sqlite3.Error as exc:
            raise self._error(exc, f"write meta key {key!r} to") from exc

    def is_for(self, path: str | os.PathLike[str]) -> bool:
        """True if `path` names this store: the same string as given, or the same file.

        Args:
            path: a file path.
        """
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
            probe = folder / f".{self.path.name}.parzen-probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            probe.touch()
            probe.unlink()
        except OSError as exc:
            raise StoreError(
                f"trials_save_file {str(self.path)!r} is not writable ({exc.strerror}); "
                "choose a path in a folder you can write to"
            ) from exc

    def _connect(self, target: str, timeout: float = 30.0) -> sqlite3.Connection:
        return sqlite3.connect(target, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False)

    def _open_readonly(self) -> tuple[sqlite3.Connection, int]:
        """A read-only connection, then the schema checked before any row is read.

        A WAL reader needs the ``-shm`` file beside the store. In a folder the reader
        cannot write and without one: with no ``-wal`` file (or an empty one) the file
        alone is the store and is opened ``immutable``; with one, its commits are read
        from a private copy of both files (with a warning).
        """
        db = self._connect(uri(self.path, mode="ro"))
        try:
            return db, self._inspect_damaged(db)
        except sqlite3.OperationalError as exc:
            db.close()
            if not _errorname(exc).startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY")):
                raise
        except BaseException:
            db.close()
            raise
        wal = Path(f"{self.path}-wal")
        if not wal.exists() or wal.stat().st_size == 0:
            db = self._connect(uri(self.path, mode="ro", immutable="1"))
            return db, self._inspect_damaged(db)
        self._copy = tempfile.TemporaryDirectory(prefix="parzen-store-")
        copy = Path(self._copy.name) / "store.db"
        shutil.copyfile(self.path, copy)
        shutil.copyfile(wal, f"{copy}-wal")
        warnings.warn(
            f"{self.path} has a -wal file but no -shm file, and its folder cannot be written: read from a copy of "
            "both files (the trials committed up to now)",
            StoreWarning,
            stacklevel=4,
        )
        db = self._connect(uri(copy))
        return db, self._inspect_damaged(db)

    def _inspect_damaged(self, db: sqlite3.Connection) -> int:
        """`inspect` for a reader, which may salvage a damaged file.

        SQLite refuses a whole file that is shorter than its header says (truncated);
        ``writable_schema`` lets a read-only connection open it, to read what is left.
        """
        try:
            return inspect(db, self.path) or 0
        except sqlite3.DatabaseError as exc:
            if not _errorname(exc).startswith("SQLITE_CORRUPT"):
                raise
            db.execute("PRAGMA writable_schema=ON")  # harmless on a read-only connection: nothing is written
            self._salvaged = f"the file is damaged ({exc}); what is left of it was read"
            return inspect(db, self.path) or 0

    def _open_for_writing(self) -> tuple[sqlite3.Connection, int]:
        """A read-write connection, after a read-only look that refuses anything but a parzen store."""
        version = None
        if self.path.stat().st_size > 0:
            probe = self._connect(uri(self.path, mode="ro"))
            try:
                version = inspect(probe, self.path)
            finally:
                probe.close()
        db = self._connect(uri(self.path, mode="rw"))
        self._set_journal(db)
        db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes
        if version is None:
            create(db)
            version = inspect(db, self.path) or FORMAT_VERSION
        return db, version

    # ---- errors -----------------------------------------------------------------------------

    def _error(self, exc: sqlite3.Error, doing: str) -> StoreError:
        """The StoreError for a SQLite error while `doing` something: disk full, damage, or the error itself."""
        name = _errorname(exc)
        if name.startswith("SQLITE_FULL"):
            return StoreError(f"disk full at {self.path}: cannot {doing} ({exc})")
        if name.startswith("SQLITE_NOTADB"):
            return StoreError(f"cannot use {self.path} as a parzen trial store: {exc}")
        if name.startswith("SQLITE_CORRUPT") or "malformed" in str(exc):
            return StoreError(f"{self.path} is damaged: cannot {doing} ({exc}); {self.integrity()}")
        return StoreError(f"cannot {doing} {self.path} as a parzen trial store: {exc}")

    def integrity(self, quick: bool = False) -> str:
        """SQLite's own check of the file, as one line: ``integrity check: ok`` or what it found.

        Args:
            quick: SQLite's ``quick_check`` (faster, skips index consistency) instead of ``integrity_check``.
        """
        pragma = "quick_check" if quick else "integrity_check"
        if not hasattr(self, "db"):
            return "integrity check could not run (the file could not be opened)"
        try:
            found = [row[0] for row in self.db.execute(f"PRAGMA {pragma}(10)")]
        except sqlite3.Error as exc:
            return f"integrity check could not run ({exc})"
        return "integrity check: " + "; ".join(str(f).replace("\n", "; ") for f in found)

    def _transaction(self) -> _Transaction:
        """BEGIN IMMEDIATE ... COMMIT; a ROLLBACK that fails never hides the error that caused it."""
        return _Transaction(self.db, self.path)

    # ---- the experiment's space -------------------------------------------------------------

    def check_space(self, space: CompiledSpace | Any) -> None:
        """Refuse a space different from the one the store was created with, listing the changes.

        `space` is a compiled space (or its description). A format-1 store described
        objects by ``repr``, a memory address included: such a description matches when
        it equals this space's format-1 description with the addresses blanked (with a
        warning, as only type and name are compared). Nothing is written here; `acquire`
        records the space.

        Args:
            space: the run's compiled space, or its description.

        Raises:
            SpaceMismatch: the spaces differ (the message lists the changes).
        """
        self._space_status(space, warn=True)

    def _space_status(self, space: CompiledSpace | Any, warn: bool) -> str:
        """'absent', 'same' or 'format1' (see `parzen.storage.space.compare`); SpaceMismatch otherwise."""
        if self.version == 0:  # an empty file, read-only: nothing recorded yet
            return "absent"
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'space'").fetchone()
            stored = None if row is None else json.loads(row[0])
        except (sqlite3.Error, ValueError) as exc:
            raise StoreError(f"{self.path}: the recorded search space cannot be read ({exc})") from exc
        return compare(stored, space, self.path, warn)

    def _record_space(self, space: CompiledSpace) -> None:
        """Record `space` (first run) or bring a format-1 description to format 2, inside a transaction."""
        if self._space_status(space, warn=False) != "same":
            self.db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('space', ?)", (json.dumps(as_read_back(space.describe())),)
            )

    # ---- the lease ----------------------------------------------------------------------------

    def acquire(self, space: CompiledSpace | None = None) -> None:
        """Become the one driver writing this store, or raise naming the one that is.

        In the same transaction a format-1 store is migrated to format 2 and `space` (if
        given) is recorded. A heartbeat thread keeps the lease fresh until `release`.

        Args:
            space: the run's compiled space, recorded with the lease (None: keep the recorded one).

        Raises:
            StoreError: another live driver holds the lease (the message names its host and process).
        """
        self._check_writable()
        me = (socket.gethostname(), os.getpid(), process_start(os.getpid()))
        migrate = self.version < FORMAT_VERSION
        try:
            with self._transaction():
                self._refuse_if_held(self._lease_row())
                if migrate:
                    self._migrate()
                now = time.time()
                self.db.execute(
                    "INSERT OR REPLACE INTO lease VALUES (1, ?, ?, ?, ?, ?, ?)", (*me, now, now, self.token)
                )
                if space is not None:
                    self._record_space(space)
                _holders[self._file_id] = self  # before COMMIT: a thread waiting to take the lease sees it
        except BaseException as exc:
            if _holders.get(self._file_id) is self and not self.holds_lease:
                del _holders[self._file_id]
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc, "take the lease of") from exc
            raise
        if migrate:
            self.version = FORMAT_VERSION
        self.holds_lease = True
        self._lost = None
        self._start_heartbeat()

    def _lease_row(self) -> tuple[Any, ...] | None:
        token = "token" if self.version >= 2 else "NULL"
        return self.db.execute(f"SELECT host, pid, process_start, acquired, heartbeat, {token} FROM lease").fetchone()

    def _refuse_if_held(self, row: tuple[Any, ...] | None) -> None:
        holder = _holders.get(self._file_id)
        if holder is not None and holder is not self:
            raise StoreError(
                f"{self.path} is in use by another run in this process (another thread's fmin, or a TrialStore "
                "still holding its lease); wait for it to finish or use another trials_save_file. "
                "parzen.load_trials() can read it meanwhile."
            )
        if row is None or row[5] == self.token:
            return
        host, pid, started, acquired, heartbeat, _ = row
        if (host, pid) == (socket.gethostname(), os.getpid()):
            return  # left by a store of this process that is gone (no live holder above)
        if alive(host, pid, started, heartbeat, STALE_LEASE_SECONDS):
            raise StoreError(
                f"{self.path} is in use by another driver (pid {pid} on {host}, since {time.ctime(acquired)}, last "
                f"heartbeat {time.time() - heartbeat:.0f} s ago); wait for it to finish or use another "
                "trials_save_file. parzen.load_trials() can read it meanwhile."
            )

    def _migrate(self) -> None:
        """Format 1 -> 2 (inside the caller's transaction): worker column, lease token, intermediate table."""
        for statement in MIGRATE_1_TO_2:
            self.db.execute(statement)

    def _start_heartbeat(self) -> None:
        if self._heartbeat is not None and self._heartbeat.running:
            return
        target = uri(self.path, mode="rw")
        self._heartbeat = Heartbeat(target, self.token, HEARTBEAT_SECONDS, HEARTBEAT_BUSY_TIMEOUT)
        weakref.finalize(self, self._heartbeat.stop, 0.0)  # a store dropped without release stops beating

    def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop(wait=HEARTBEAT_BUSY_TIMEOUT + 1.0)
            self._heartbeat = None

    def release(self) -> None:
        """Give the store up (fmin does it when it returns); a lease that cannot be removed expires with the process."""
        if not self.holds_lease:
            return
        self.holds_lease = False
        if _holders.get(self._file_id) is self:
            del _holders[self._file_id]
        self._stop_heartbeat()
        try:
            self.db.execute("DELETE FROM lease WHERE token = ?", (self.token,))
        except sqlite3.Error as exc:
            warnings.warn(
                f"the lease of {self.path} could not be removed ({exc}); other drivers can take the store once "
                "this process ends",
                StoreWarning,
                stacklevel=2,
            )

    def _check_lease(self) -> None:
        """Inside a write transaction: refresh the heartbeat, and refuse to write if the lease was taken over."""
        if self.db.execute("UPDATE lease SET heartbeat = ? WHERE token = ?", (time.time(), self.token)).rowcount:
            return
        row = self.db.execute("SELECT host, pid, acquired FROM lease").fetchone()
        self.holds_lease = False
        if _holders.get(self._file_id) is self:
            del _holders[self._file_id]
        if self._heartbeat is not None:
            self._heartbeat.stop(wait=0.0)
        holder = "nobody holds it now" if row is None else f"pid {row[1]} on {row[0]} took it at {time.ctime(row[2])}"
        self._lost = (
            f"{self.path}: this run lost its lease ({holder}); to keep that driver's trials intact nothing more is "
            "written by this run. Its trials stay in memory, in the Trials object."
        )
        raise StoreError(self._lost)

    def _check_writable(self, writing: bool = False) -> None:
        if self.readonly:
            raise StoreError(f"{self.path} was opened read-only (for analysis); it cannot be written")
        if writing and self._lost is not None:
            raise StoreError(self._lost)

    # ---- writing trials ------------------------------------------------------------------------

    def save(self, trial: Trial, new: bool = False) -> None:
        """Write `trial` (and its attachments) in one committed transaction.

        `new`: the trial is being created; an existing row with its tid is never replaced.
        An update moves a trial out of RUNNING, or rewrites a trial this object wrote;
        a finished trial written by another run is never overwritten. When the disk is
        full the trial is held back (it is in memory) and written with a later save or
        by `flush`; a warning says so.

        Args:
            trial: the trial's record.
            new: the trial is being created.
        """
        self._check_writable(writing=True)
        self._hold_or_write(("trial", trial.tid), (trial, new))

    def save_intermediate(self, tid: int, step: int, value: float | tuple[float, ...]) -> None:
        """Record the value trial `tid` reported at `step` (committed at once, one small row).

        Args:
            tid: the running trial's id.
            step: the step of the report.
            value: the reported value, or a tuple of them (kept as a JSON list).
        """
        self._check_writable(writing=True)
        self._hold_or_write(("step", int(tid), int(step)), (sjson.encode_step_value(value), time.time()))

    def _hold_or_write(self, key: tuple[Any, ...], payload: tuple[Any, ...]) -> None:
        if self._held:
            self._retry_held()
        if self._held:  # the disk is still full: keep the order, try again with the next save
            previous = self._held.get(key)
            if previous is not None and key[0] == "trial":
                payload = (payload[0], payload[1] or previous[1])  # a held creation stays a creation
            self._held[key] = payload
            return
        try:
            self._write(key, payload)
        except sqlite3.Error as exc:
            if not _errorname(exc).startswith(_TRANSIENT):
                raise self._write_error(exc, key) from exc
            self._held[key] = payload
            self._held_error = exc
            warnings.warn(
                f"{self._outage()} ({exc}): trial {key[1]} is kept in memory and written when the store can be "
                "written again (parzen retries with every later save and when fmin ends)",
                StoreWarning,
                stacklevel=4,
            )

    def _write(self, key: tuple[Any, ...], payload: tuple[Any, ...]) -> None:
        if self._lost is not None:
            raise StoreError(self._lost)
        if key[0] == "trial":
            self._write_trial(*payload)
            return
        if self.version < FORMAT_VERSION:
            with self._transaction():
                self._migrate()
            self.version = FORMAT_VERSION
        self._check_heartbeat()
        self.db.execute("INSERT OR REPLACE INTO intermediate VALUES (?, ?, ?, ?)", (key[1], key[2], *payload))

    def _check_heartbeat(self) -> None:
        if self.holds_lease and self._heartbeat is not None and self._heartbeat.lost:
            with self._transaction():
                self._check_lease()

    def _write_trial(self, trial: Trial, new: bool) -> None:
        row = self._row(trial)
        migrate = self.version < FORMAT_VERSION
        with self._transaction():
            if migrate:
                self._migrate()
            if self.holds_lease:
                self._check_lease()
            inserted = self._put_trial(trial.tid, row, new)
            if trial.attachments:
                self._put_attachments(trial)
            if inserted and trial.intermediate:
                self.db.executemany(
                    "INSERT OR REPLACE INTO intermediate VALUES (?, ?, ?, ?)",
                    [(trial.tid, step, sjson.encode_step_value(v), None) for step, v in trial.intermediate.items()],
                )
        if migrate:
            self.version = FORMAT_VERSION
        self._written[trial.tid] = (trial.state.name, trial.refresh_time)

    def _row(self, trial: Trial) -> tuple[Any, ...]:
        where = f"trial {trial.tid}"
        return (
            trial.state.name,
            trial.result.get("status"),
            _finite_or_none(trial.loss),
            sjson.encode(trial.params, where),
            sjson.encode(trial.result, where),
            trial.error,
            trial.book_time,
            trial.refresh_time,
            trial.start_time,
            trial.end_time,
            trial.host,
            trial.stdout,
            trial.stderr,
            trial.attempts,
            trial.worker,
        )

    def _put_trial(self, tid: int, row: tuple[Any, ...], new: bool) -> bool:
        """Insert or update the row of `tid` under the rules of `save`; True if it was inserted."""
        mine = self._written.get(tid)
        if not new and self.db.execute(_UPDATE, (*row, tid, mine is not None, *(mine or (None, None)))).rowcount:
            return False
        try:
            self.db.execute(_INSERT, (tid, *row))
            return True
        except sqlite3.IntegrityError:
            pass
        if new:
            raise StoreError(
                f"trial {tid} already exists in {self.path}: another run created it, and parzen never replaces a "
                "stored trial (two runs on one store?)"
            )
        state = self.db.execute("SELECT state FROM trials WHERE tid = ?", (tid,)).fetchone()[0]
        raise StoreError(
            f"trial {tid} in {self.path} is already {str(state).lower()}, written by another run; parzen never "
            "overwrites a finished trial"
        )

    def _put_attachments(self, trial: Trial) -> None:
        attachments = trial.attachments
        if isinstance(attachments, StoredAttachments) and attachments.source == self.path:
            items = list(attachments.unsaved.items())  # the rest is in this file already
        else:
            items = list(attachments.items())
        for name, value in items:
            self.db.execute(
                "INSERT OR REPLACE INTO attachments VALUES (?, ?, ?, ?)",
                (trial.tid, name, *attachment_row(value, name, f"trial {trial.tid}")),
            )

    def _write_error(self, exc: sqlite3.Error, key: tuple[Any, ...]) -> StoreError:
        what = f"write trial {key[1]}" if key[0] == "trial" else f"write step {key[2]} of trial {key[1]} to"
        return self._error(exc, what)

    # ---- writes held back by a full disk --------------------------------------------------------

    @property
    def unsaved(self) -> list[int]:
        """Tids of trials (or their intermediate values) that are in memory only, held back by a full disk."""
        return sorted({key[1] for key in self._held})

    def _outage(self) -> str:
        if self._held_error is not None and not _errorname(self._held_error).startswith("SQLITE_FULL"):
            return f"cannot write {self.path}"
        return f"disk full at {self.path}"

    def _retry_held(self) -> None:
        """Write held-back entries in order; stop at the first that still fails for a passing reason."""
        for key in list(self._held):
            try:
                self._write(key, self._held[key])
            except sqlite3.Error as exc:
                if _errorname(exc).startswith(_TRANSIENT):
                    self._held_error = exc
                    return
                del self._held[key]
                raise self._write_error(exc, key) from exc
            del self._held[key]
        logger.info("the store %s can be written again: held-back trials are written", self.path)

    def flush(self) -> None:
        """Write the trials a full disk held back; StoreError naming those still only in memory."""
        if not self._held:
            return
        took = not self.holds_lease
        if took:
            self.acquire()
        try:
            self._retry_held()
        finally:
            if took:
                self.release()
        if self._held:
            raise self._unsaved_error()

    def end_run(self) -> None:
        """fmin is done: last tries (with a short back-off) for held-back trials, release the lease, then raise
        StoreError if some trials are still only in memory."""
        try:
            for pause in FLUSH_BACKOFF:
                if not self._held:
                    break
                self._retry_held()
                if self._held:
                    time.sleep(pause)
            if self._held:
                self._retry_held()
        finally:
            self.release()
        if self._held:
            raise self._unsaved_error()

    def _unsaved_error(self) -> StoreError:
        tids = self.unsaved
        return StoreError(
            f"{self._outage()} ({self._held_error}): {len(tids)} trials are only in memory (tids {_ranges(tids)}). "
            "The Trials object still holds them (this error's .trials, or the trials you passed to fmin): free "
            "space, then call trials.store.flush() to write them, or run fmin again with the same Trials."
        )

    # ---- reading -------------------------------------------------------------------------------

    def load(self) -> list[Trial]:
        """Every readable stored trial, in tid order; rows that cannot be read are listed in `damage`.

        Attachments are not read here: each trial's ``attachments`` knows their names and
        reads a value from the file when it is asked for.
        """
        self.damage = [] if self._salvaged is None else [(None, self._salvaged)]
        if self.version == 0:  # an empty file (read-only): no store written there yet
            return []
        reader = Reader(self.db, self.version, self.integrity)
        lazy = _AttachmentReader(self.path)
        try:
            trials = reader.trials(lambda tid, names: StoredAttachments(lazy.read, self.path, tid, names))
        except sqlite3.Error as exc:
            raise self._error(exc, "read") from exc
        self.damage += reader.damage
        return trials

    def attachment(self, tid: int, name: str) -> Any:
        """One attachment's value, read from the file now.

        Args:
            tid: the trial's id.
            name: the attachment's name (a key of the result's ``attachments``).
        """
        try:
            row = self.db.execute(
                "SELECT kind, value FROM attachments WHERE tid = ? AND name = ?", (tid, name)
            ).fetchone()
        except sqlite3.Error as exc:
            raise self._error(exc, f"read attachment {name!r} of trial {tid} from") from exc
        if row is None:
            raise StoreError(f"attachment {name!r} of trial {tid} is no longer in {self.path}")
        try:
            return attachment_value(*row)
        except (ValueError, TypeError) as exc:
            raise StoreError(f"attachment {name!r} of trial {tid} in {self.path} is damaged: {exc}") from exc

    def damage_report(self) -> str:
        """The rows `load` skipped, as one message naming the file and each tid."""
        rows = [d for d in self.damage if d[0] is not None]
        notes = "; ".join(why if tid is None else f"tid {tid}: {why}" for tid, why in self.damage)
        return f"{self.path} is damaged: {len(rows)} damaged rows were skipped ({notes})"

    def load_for_resume(self) -> list[Trial]:
        """The stored trials, refusing a damaged store: a run must not build on one (listing what is wrong)."""
        check = self.integrity(quick=True)
        if check != "integrity check: ok":
            raise StoreError(
                f"{self.path} is damaged ({check}); parzen refuses to resume onto it. parzen.load_trials() reads "
                "the trials that are intact; use a new trials_save_file for the next run."
            )
        trials = self.load()
        if self.damage:
            raise StoreError(
                f"{self.damage_report()}. parzen refuses to resume onto a damaged store: parzen.load_trials() reads "
                "the intact trials; use a new trials_save_file for the next run."
            )
        return trials

    def close(self) -> None:
        """Release the lease (if held) and close the file; held-back trials stay in `unsaved`."""
        self.release()
        self._stop_heartbeat()
        self.db.close()
        if self._copy is not None:
            self._copy.cleanup()
            self._copy = None


# ---- attachments, read when asked for ---------------------------------------------------------


class _Transaction:
    """``with store._transaction():`` -- a class, not a generator: it runs twice per trial written."""

    __slots__ = ("db", "path")

    def __init__(self, db: sqlite3.Connection, path: Path):
        self.db = db
        self.path = path

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        if kind is not None:
            self._rollback()
            return
        try:
            self.db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self.db.in_transaction:  # a failed COMMIT (disk full) may have rolled back already
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error as rollback:  # never in place of the error that made us roll back
                logger.debug("ROLLBACK after a failed write of %s also failed: %s", self.path, rollback)


class _AttachmentReader:
    """Reads attachment values of one store file, through one read-only connection opened when first needed."""

    def __init__(self, path: Path):
        self.path = path
        self._store: TrialStore | None = None

    def read(self, tid: int, name: str) -> Any:
        if self._store is None:
            self._store = TrialStore(self.path, readonly=True)
        return self._store.attachment(tid, name)


# ---- rows <-> trials --------------------------------------------------------------------------------


def _finite_or_none(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _errorname(exc: BaseException) -> str:
    return str(getattr(exc, "sqlite_errorname", "") or "")


def _ranges(tids: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    parts: list[str] = []
    for tid in tids:
        if parts and tid == int(parts[-1].split("-")[-1]) + 1:
            parts[-1] = f"{parts[-1].split('-')[0]}-{tid}"
        else:
            parts.append(str(tid))
    return ", ".join(parts)


# ---- attaching a store to Trials ------------------------------------------------------------


def attach_store(trials: Trials | None, path: str | os.PathLike[str], space: CompiledSpace) -> Trials:
    """The Trials of a run with `path` as its store, resumed from it if it holds trials.

    Takes the store's lease (released by `fmin` when the run ends). Trials that were
    running when a previous driver died are marked `INTERRUPTED`. A damaged store is
    refused, listing what is wrong.

    Args:
        trials: the trials passed to `fmin` (None: new ones).
        path: the store file (``trials_save_file``).
        space: the run's compiled space, checked against the store's.

    Raises:
        SpaceMismatch: the store was made with another space.
        StoreError: the file is not a parzen store, is damaged, or another driver holds its lease.
    """
    trials = trials if trials is not None else Trials()
    if trials.store is not None and trials.store.is_for(path):
        trials.store.check_space(space)
        trials.store.acquire(space)
        return trials
    store = TrialStore(path)
    try:
        store.check_space(space)  # a different space is refused before anything is written
        store.acquire(space)
        stored = store.load_for_resume()
        if stored and len(trials):
            raise StoreError(
                f"{store.path} already holds {len(stored)} trials and the Trials passed to fmin holds "
                f"{len(trials)}; pass trials=None (or a new Trials) to resume from the file"
            )
        stored = _mark_interrupted(store, stored)
        trials.detach_store()
        trials.attach_store(store)  # writes the trials held in memory (none when the file holds some)
        _named_objectives(trials, store)
        trials.load_records(stored)  # in memory only: they are in the file already
    except BaseException:
        store.close()
        raise
    return trials


def _named_objectives(trials: Trials, store: TrialStore) -> None:
    """The objectives' names a previous run recorded (``meta.objectives``), for a resumed or loaded run."""
    names = store.meta("objectives")
    if names and trials.objectives is None:
        with contextlib.suppress(ValueError, TypeError):
            trials.objectives = tuple(str(n) for n in json.loads(names))


def _mark_interrupted(store: TrialStore, stored: list[Trial]) -> list[Trial]:
    """The records, with trials left running by a dead driver `INTERRUPTED` (and saved so)."""
    reason = "interrupted: the driver stopped while this trial was running; its budget is run again"
    records = []
    for trial in stored:
        if trial.state in (TrialState.RUNNING, TrialState.NEW):
            trial = trial.stopped(reason, TrialState.INTERRUPTED)
            store.save(trial)
        records.append(trial)
    return records


def load_trials(path: str | os.PathLike, space: Any = None) -> Trials:
    """Open a store for analysis: read-only, while a driver may be writing it, even in a folder the reader cannot write.

    Without `space`, ``best_params`` gives the best point flat, each choice as its option
    when the option is a plain value (decoded from the space description the store
    recorded, as ``parzen show`` does); with it, ``best_params`` is the point the objective
    received and ``to_dataframe()`` shows choice values. Rows of a damaged store that
    cannot be read are skipped with a `StoreWarning` listing them.

    Args:
        path: the store file (what ``fmin(trials_save_file=...)`` wrote).
        space: the search space the trials belong to (checked against the store's own).

    Returns:
        A `parzen.Trials` holding the stored trials (not attached: nothing is written).

    Raises:
        StoreError: the file is missing, is not a parzen store, or was written by a newer parzen.
        SpaceMismatch: `space` differs from the space the store was made with.
    """
    store = TrialStore(path, readonly=True)
    try:
        if space is not None:
            from parzen.space import compile_space

            store.check_space(compile_space(space))
        records = store.load()
        described = store.meta("space")
        names = store.meta("objectives")
    finally:
        store.close()
    if store.damage:
        warnings.warn(store.damage_report(), StoreWarning, stacklevel=2)
    trials = Trials()
    if names:
        with contextlib.suppress(ValueError, TypeError):
            trials.objectives = tuple(str(n) for n in json.loads(names))
    trials.load_records(records)
    if space is not None:
        trials.attach_space(space)
    elif described:
        trials.stored_choices = choice_options(json.loads(described))
    return trials
