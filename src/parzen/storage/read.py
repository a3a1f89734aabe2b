"""Reading a store's rows into `Trial` records, around whatever damage the file has.

A row that cannot be decoded (garbage JSON, an unknown state, a value of the wrong type)
is skipped and reported; a part of the file SQLite cannot read (a garbled page, a
truncated file) is read around, window by window and then row by row, so one bad row
never hides the good ones. Attachments are not read here: a trial gets a
`StoredAttachments` that knows the names and reads a value when it is asked for.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from parzen.storage import encoding as sjson
from parzen.trial import Trial, TrialState

TRIAL_COLUMNS = (
    "tid, state, status, loss, params, result, error, book_time, refresh_time, start_time, end_time, host, "
    "stdout, stderr, attempts, worker"
)
READ_WINDOW = 64  # tids read at once when reading around a damaged part of the file

Damage = tuple[int | None, str]  # (tid or None for the file as a whole, what is wrong)
Row = tuple[Any, ...]


class Reader:
    """Reads the trials of one open store: `trials()` returns the readable ones, `damage` lists the rest."""

    def __init__(self, db: sqlite3.Connection, version: int, integrity: Callable[[], str]):
        self.db = db
        self.version = version
        self.integrity = integrity
        self.damage: list[Damage] = []

    def trials(self, attachments: Callable[[int, list[str]], MutableMapping[str, Any]]) -> list[Trial]:
        """Every readable trial in tid order; `attachments(tid, names)` makes each trial's attachments."""
        rows = self._rows()
        names = self._attachment_names()
        steps = self._intermediate_values()
        trials = []
        for row in rows:
            try:
                trial = trial_of(row, steps.get(row[0], {}))
            except ValueError as bad:
                self.damage.append((row[0], str(bad)))
                continue
            trials.append(replace(trial, attachments=attachments(trial.tid, names.get(trial.tid, []))))
        self.damage.sort(key=lambda d: -1 if d[0] is None else d[0])
        return trials

    def _rows(self) -> list[Row]:
        columns = TRIAL_COLUMNS if self.version >= 2 else TRIAL_COLUMNS.replace("worker", "NULL")
        select = f"SELECT {columns} FROM trials"
        try:
            return self.db.execute(f"{select} ORDER BY tid").fetchall()
        except sqlite3.DatabaseError as exc:
            if str(getattr(exc, "sqlite_errorname", "")).startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                raise
            return self._rows_around_damage(select, exc)

    def _rows_around_damage(self, select: str, first: sqlite3.DatabaseError) -> list[Row]:
        """Read the trials table window by window, then row by row where a window fails."""
        try:
            high: int | None = self.db.execute("SELECT max(tid) FROM trials").fetchone()[0]
        except sqlite3.DatabaseError:
            high = None  # the end of the table is damaged: read on until nothing more can be read
        rows: list[Row] = []
        unreadable: list[tuple[int, str]] = []
        low, failed = 0, 0
        while (high is not None and low <= high) or (high is None and failed < 4):
            got, bad = self._read_window(select, low, low + READ_WINDOW - 1)
            rows += got
            unreadable += bad
            if high is None:
                if not got and not bad:
                    break  # readable and empty: past the last trial
                failed = failed + 1 if bad and not got else 0
            low += READ_WINDOW
        last = rows[-1][0] if rows else -1
        self.damage += [(tid, why) for tid, why in unreadable if high is not None or tid < last]
        if high is None and any(tid > last for tid, _ in unreadable):
            self.damage.append((last + 1, f"the trials from tid {last + 1} on cannot be read ({first})"))
        self.damage.append((None, self.integrity()))
        return rows

    def _read_window(self, select: str, low: int, high: int) -> tuple[list[Row], list[tuple[int, str]]]:
        try:
            return self.db.execute(f"{select} WHERE tid BETWEEN ? AND ? ORDER BY tid", (low, high)).fetchall(), []
        except sqlite3.DatabaseError:
            pass
        rows, bad = [], []
        for tid in range(low, high + 1):
            try:
                row = self.db.execute(f"{select} WHERE tid = ?", (tid,)).fetchone()
            except sqlite3.DatabaseError as exc:
                bad.append((tid, f"the row cannot be read ({exc})"))
                continue
            if row is not None:
                rows.append(row)
        return rows, bad

    def _attachment_names(self) -> dict[int, list[str]]:
        """tid -> attachment names (the primary key's index only: no value is read)."""
        names: dict[int, list[str]] = {}
        try:
            for tid, name in self.db.execute("SELECT tid, name FROM attachments ORDER BY tid, name"):
                names.setdefault(tid, []).append(name)
        except sqlite3.DatabaseError as exc:
            self.damage.append((None, f"the attachments table cannot be read ({exc}); {self.integrity()}"))
        return names

    def _intermediate_values(self) -> dict[int, dict[int, float | tuple[float, ...]]]:
        steps: dict[int, dict[int, float | tuple[float, ...]]] = {}
        if self.version < 2:
            return steps
        try:
            for tid, step, cell in self.db.execute("SELECT tid, step, value FROM intermediate ORDER BY tid, step"):
                value = sjson.decode_step_value(cell)
                if isinstance(step, int) and value is not None:
                    steps.setdefault(tid, {})[step] = value
                else:
                    self.damage.append((tid, f"intermediate value at step {step!r} is {cell!r}, not a number"))
        except sqlite3.DatabaseError as exc:
            self.damage.append((None, f"the intermediate table cannot be read ({exc}); {self.integrity()}"))
        return steps


def trial_of(row: Row, intermediate: dict[int, float | tuple[float, ...]]) -> Trial:
    """A `Trial` from a stored row; ValueError naming the column at fault if the row is damaged."""
    tid, state, _, _, params, result, error, book, refresh, start, end, host, out, err, attempts, worker = row
    if not isinstance(state, str) or state not in TrialState.__members__:
        raise ValueError(f"unknown state {state!r}")
    decoded = {}
    for column, text in (("params", params), ("result", result)):
        try:
            decoded[column] = sjson.decode(text)
        except ValueError as exc:
            raise ValueError(f"{column} {exc}") from None
    bad = [k for k, v in decoded["params"].items() if not isinstance(v, (int, float))]
    if bad:
        raise ValueError(f"params {bad} are not numbers")
    for column, value in (("book_time", book), ("refresh_time", refresh), ("start_time", start), ("end_time", end)):
        if value is not None and not isinstance(value, (int, float)):
            raise ValueError(f"{column} holds a {type(value).__name__}, not a time")
    for column, value in (("error", error), ("host", host), ("stdout", out), ("stderr", err), ("worker", worker)):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{column} holds a {type(value).__name__}, not text")
    if not isinstance(attempts, int):
        raise ValueError(f"attempts holds {attempts!r}, not a count")
    return Trial(
        tid=tid,
        params=decoded["params"],
        state=TrialState[state],
        result=decoded["result"],
        book_time=book,
        refresh_time=refresh,
        start_time=start,
        end_time=end,
        error=error,
        host=host,
        worker=worker,
        stdout=out or "",
        stderr=err or "",
        attempts=attempts,
        intermediate=intermediate,
    )


# ---- attachments --------------------------------------------------------------------------------


class StoredAttachments(MutableMapping[str, Any]):
    """A stored trial's attachments: the names are known, each value is read from the file when asked for.

    So ``parzen show`` and analysis never load blobs they do not use. Values set in
    memory afterwards are kept here (`unsaved`) until the trial is saved.
    """

    def __init__(self, read: Callable[[int, str], Any], source: Path, tid: int, names: list[str]):
        self._read_value = read
        self.source = source
        self._tid = tid
        self._names = list(names)
        self._read: dict[str, Any] = {}
        self.unsaved: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name in self.unsaved:
            return self.unsaved[name]
        if name not in self._names:
            raise KeyError(name)
        if name not in self._read:
            self._read[name] = self._read_value(self._tid, name)
        return self._read[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self.unsaved[name] = value
        if name not in self._names:
            self._names.append(name)

    def __delitem__(self, name: str) -> None:
        if name not in self._names:
            raise KeyError(name)
        self._names.remove(name)
        self.unsaved.pop(name, None)
        self._read.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"<attachments of trial {self._tid} in {self.source}: {self._names}>"


def attachment_row(value: Any, name: str, where: str) -> tuple[str, Any]:
    """(kind, value) of an attachment as stored: bytes as a BLOB, text as text, anything else as strict JSON."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes", bytes(value)
    if isinstance(value, str):
        return "text", value
    return "json", sjson.encode_value(value, f"attachments.{name}", where)


def attachment_value(kind: str, value: Any) -> Any:
    """An attachment's value from its stored (kind, value); ValueError if they do not fit."""
    if kind == "bytes" and isinstance(value, bytes):
        return value
    if kind == "text" and isinstance(value, str):
        return value
    if kind == "json" and isinstance(value, (str, bytes)):
        return json.loads(value)
    raise ValueError(f"a {kind!r} attachment holds a {type(value).__name__}")
