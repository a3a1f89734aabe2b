"""Which SQLite journal a trial store can use where it lives.

SQLite's WAL keeps its index in shared memory (a ``-shm`` file mapped by every
process) and relies on POSIX locks; neither works on network or FUSE filesystems
(NFS, SMB/CIFS, 9p, Databricks' DBFS and Unity Catalog volumes under ``/dbfs`` and
``/Volumes``, which are FUSE mounts). There a WAL database can corrupt or fail with
"disk I/O error", so the store falls back to the rollback journal
(``PRAGMA journal_mode=DELETE``), which needs neither, and says so naming the path.

The filesystem is read from ``/proc/mounts`` (Linux): the mount point that is the
longest prefix of the store's resolved path gives its type. ``PARZEN_STORE_JOURNAL``
(``wal``, ``delete`` or ``auto``, the default) overrides the detection.
"""

from __future__ import annotations

import os
from pathlib import Path

from parzen.exceptions import InvalidArgument

JOURNAL_ENV = "PARZEN_STORE_JOURNAL"
MOUNTS = "/proc/mounts"
# filesystem types on which WAL is unsafe (prefix match covers fuse.*, nfs4, smb3, ...)
NO_WAL_TYPES = ("fuse", "nfs", "cifs", "smb", "9p", "afs", "ceph", "glusterfs", "lustre", "gpfs", "davfs", "sshfs")
# paths that are FUSE/network mounts on Databricks even where /proc/mounts is not readable
NO_WAL_PREFIXES = ("/dbfs/", "/Volumes/", "/Workspace/")


def _unescape(field: str) -> str:
    """/proc/mounts escapes spaces, tabs, newlines and backslashes in octal."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def parse_mounts(text: str) -> list[tuple[str, str]]:
    """(mount point, filesystem type) of each line of a /proc/mounts text."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            mounts.append((_unescape(fields[1]), fields[2]))
    return mounts


def filesystem_of(path: str | os.PathLike[str], mounts: list[tuple[str, str]]) -> tuple[str, str] | None:
    """(mount point, type) of the mount holding `path` (the longest matching mount point)."""
    target = str(Path(path).resolve())
    best: tuple[str, str] | None = None
    for point, kind in mounts:
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) > len(best[0])):
            best = (point, kind)
    return best


def wal_unsafe_reason(path: str | os.PathLike[str], mounts_text: str | None = None) -> str | None:
    """Why WAL cannot be used for a database at `path`, or None where it can."""
    resolved = str(Path(path).resolve())
    if resolved.startswith(NO_WAL_PREFIXES):
        return f"{resolved} is on a Databricks FUSE mount"
    if mounts_text is None:
        try:
            mounts_text = Path(MOUNTS).read_text()
        except OSError:
            return None
    found = filesystem_of(resolved, parse_mounts(mounts_text))
    if found is not None and found[1].lower().startswith(NO_WAL_TYPES):
        return f"{resolved} is on a {found[1]} filesystem (mounted at {found[0]})"
    return None


def journal_mode(path: str | os.PathLike[str]) -> tuple[str, str | None]:
    """("WAL" | "DELETE", why WAL is not used) for a store at `path`, honouring PARZEN_STORE_JOURNAL."""
    choice = os.environ.get(JOURNAL_ENV, "auto").strip().lower() or "auto"
    if choice == "wal":
        return "WAL", None
    if choice == "delete":
        return "DELETE", f"{JOURNAL_ENV}=delete"
    if choice != "auto":
        raise InvalidArgument(f"{JOURNAL_ENV} is {choice!r}; valid values are 'auto', 'wal' and 'delete'")
    reason = wal_unsafe_reason(path)
    return ("DELETE", reason) if reason else ("WAL", None)
