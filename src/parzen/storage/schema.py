"""The store's tables, the check that a file holds exactly them, and the migration from format 1.

A file is inspected through ``sqlite_master`` and ``PRAGMA table_xinfo`` (the schema,
not a row) before anything else in it is read or written. An application's database is
refused untouched; a hostile file (a view standing in for a table, a trigger that
deletes trials) is refused before any of its SQL can run.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from pathlib import Path

from parzen.exceptions import StoreError

FORMAT_VERSION = 2
"""The store format this parzen writes; older stores are migrated when opened for writing, newer ones refused."""

Columns = tuple[tuple[str, str], ...]

_TRIALS_1: Columns = (
    ("tid", "INTEGER"),
    ("state", "TEXT"),
    ("status", "TEXT"),
    ("loss", "REAL"),
    ("params", "TEXT"),
    ("result", "TEXT"),
    ("error", "TEXT"),
    ("book_time", "REAL"),
    ("refresh_time", "REAL"),
    ("start_time", "REAL"),
    ("end_time", "REAL"),
    ("host", "TEXT"),
    ("stdout", "TEXT"),
    ("stderr", "TEXT"),
    ("attempts", "INTEGER"),
)
_LEASE_1: Columns = (
    ("id", "INTEGER"),
    ("host", "TEXT"),
    ("pid", "INTEGER"),
    ("process_start", "TEXT"),
    ("acquired", "REAL"),
    ("heartbeat", "REAL"),
)
_META: Columns = (("key", "TEXT"), ("value", "TEXT"))
_ATTACHMENTS: Columns = (("tid", "INTEGER"), ("name", "TEXT"), ("kind", "TEXT"), ("value", "BLOB"))
_INTERMEDIATE: Columns = (("tid", "INTEGER"), ("step", "INTEGER"), ("value", "REAL"), ("time", "REAL"))

TABLES: dict[int, dict[str, Columns]] = {
    1: {"meta": _META, "trials": _TRIALS_1, "attachments": _ATTACHMENTS, "lease": _LEASE_1},
    2: {
        "meta": _META,
        "trials": (*_TRIALS_1, ("worker", "TEXT")),
        "attachments": _ATTACHMENTS,
        "lease": (*_LEASE_1, ("token", "TEXT")),
        "intermediate": _INTERMEDIATE,
    },
}
_KNOWN = set().union(*(set(t) for t in TABLES.values()))

# Format 2 as created. A migrated format-1 file ends up with the same columns in the same order.
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
    attempts INTEGER NOT NULL DEFAULT 1,
    worker TEXT
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
    heartbeat REAL NOT NULL,
    token TEXT
);
"""
INTERMEDIATE_TABLE = """
CREATE TABLE IF NOT EXISTS intermediate (
    tid INTEGER NOT NULL,
    step INTEGER NOT NULL,
    value REAL,
    time REAL,
    PRIMARY KEY (tid, step)
)
"""
MIGRATE_1_TO_2 = (
    "ALTER TABLE trials ADD COLUMN worker TEXT",
    "ALTER TABLE lease ADD COLUMN token TEXT",
    INTERMEDIATE_TABLE,
    "INSERT OR REPLACE INTO meta VALUES ('format_version', '2')",
)


def uri(path: Path, **options: str) -> str:
    """A ``file:`` URI naming `path` literally: ``#``, ``?`` and ``%`` in a file name are quoted."""
    quoted = urllib.parse.quote_from_bytes(os.fsencode(path), safe="/")
    return f"file:{quoted}" + (f"?{urllib.parse.urlencode(options)}" if options else "")


def create(db: sqlite3.Connection) -> None:
    """Make an empty file a format-2 store (one transaction)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        for statement in (*SCHEMA.split(";"), INTERMEDIATE_TABLE):
            if statement.strip():
                db.execute(statement)
        db.execute("INSERT OR IGNORE INTO meta VALUES ('format_version', ?)", (str(FORMAT_VERSION),))
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def inspect(db: sqlite3.Connection, path: Path) -> int | None:
    """The format of the store in `db`, None for an empty file; StoreError if it is not exactly a parzen store.

    Reads the schema only (``sqlite_master``, ``PRAGMA table_xinfo``) and, once the
    ``meta`` table is known to be a table of parzen's shape, its format version.
    """
    objects = db.execute("SELECT type, name FROM sqlite_master").fetchall()
    if not objects:
        return None
    for kind, name in objects:
        if kind in ("view", "trigger"):
            raise StoreError(
                f"{path} holds a {kind} {name!r}: a parzen trial store has tables and indexes only, so this file is "
                "not one (or was tampered with); parzen refuses to read or write it"
            )
    tables = {name for kind, name in objects if kind == "table" and not name.startswith("sqlite_")}
    foreign = sorted(tables - _KNOWN)
    if foreign:
        raise StoreError(
            f"{path} is not a parzen trial store (it holds table {', '.join(map(repr, foreign))}); parzen never "
            "writes into another application's database: choose another trials_save_file"
        )
    version = _version(db, path, tables)
    expected = TABLES[version]
    for name in sorted(tables):
        _check_columns(db, path, name, expected.get(name), version)
    missing = sorted(set(expected) - tables)
    if missing:
        raise StoreError(f"{path} is not a complete parzen trial store (format {version}): it lacks table {missing}")
    return version


def _version(db: sqlite3.Connection, path: Path, tables: set[str]) -> int:
    """The format version recorded in ``meta`` (or told by the trials table's columns if meta has none)."""
    if "meta" in tables:
        _check_columns(db, path, "meta", _META, FORMAT_VERSION)
        row = db.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()
        if row is not None:
            try:
                version = int(row[0])
            except (TypeError, ValueError):
                raise StoreError(f"{path} records format version {row[0]!r}, which is not a number") from None
            if version > FORMAT_VERSION:
                raise StoreError(f"{path} was written by a newer parzen (store format {version}); upgrade parzen")
            if version not in TABLES:
                raise StoreError(f"{path} records store format {version}, which parzen never wrote")
            return version
    worker = "trials" in tables and ("worker", "TEXT") in _columns(db, "trials")
    return 2 if worker or "intermediate" in tables else 1


def _columns(db: sqlite3.Connection, table: str) -> Columns:
    rows = db.execute(f"PRAGMA table_xinfo({table})").fetchall()
    return tuple((r[1], r[2].upper()) if r[6] == 0 else (r[1], f"{r[2].upper()} (generated)") for r in rows)


def _check_columns(db: sqlite3.Connection, path: Path, table: str, expected: Columns | None, version: int) -> None:
    if expected is None:
        raise StoreError(f"{path} is not a parzen trial store: format {version} has no table {table!r}")
    found = _columns(db, table)
    if found != expected:
        raise StoreError(
            f"{path} is not a parzen trial store: table {table!r} has columns ({_names(found)}); parzen's format "
            f"{version} has ({_names(expected)})"
        )


def _names(columns: Columns) -> str:
    return ", ".join(f"{name} {kind}" for name, kind in columns)
