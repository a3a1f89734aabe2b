"""A read-only snapshot of a store file: what readers (``parzen show``, the report, the dashboard) see.

The file is opened through the store's read-only path (`TrialStore(readonly=True)`: the
file must be exactly a parzen store, damaged rows are read around and listed), read once
and closed, so a reader never writes, never holds a lock between reads, and a driver
writing the WAL never waits for it.
"""

from __future__ import annotations

import os
import sqlite3
import warnings
from typing import Any

from parzen.exceptions import StoreError, StoreWarning
from parzen.storage.store import TrialStore


def read_store(path: str | os.PathLike) -> tuple[dict[str, str], list[Any], tuple | None]:
    """(meta, the `Trial` records, the lease row or None), read-only, then closed."""
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        return {}, [], None  # a store fmin created a moment ago
    store = TrialStore(path, readonly=True)
    try:
        tables = {name for (name,) in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        meta = dict(store.db.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
        lease = store.db.execute("SELECT host, pid, heartbeat FROM lease").fetchone() if "lease" in tables else None
        records = store.load()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot read {str(path)!r} as a parzen trial store: {exc}") from exc
    finally:
        store.close()
    if store.damage:
        warnings.warn(store.damage_report(), StoreWarning, stacklevel=3)
    return meta, records, lease


def store_signature(path: str | os.PathLike) -> tuple:
    """Changes whenever a writer commits (the file or its WAL): a cheap 'anything new?' test."""
    out: list[tuple[int, int] | None] = []
    for suffix in ("", "-wal"):
        try:
            st = os.stat(f"{path}{suffix}")
            out.append((st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)
