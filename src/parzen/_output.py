"""Files and text that parzen's tools write from a store: never onto the store, never half, never raw.

Three rules for `parzen export`, `parzen report`, `write_report` and `parzen show`:

- **Nothing lands on a file of the store.** SQLite keeps a store in up to four files:
  the main file, its write-ahead log (``-wal``, which holds every commit since the last
  checkpoint: after a killed driver, possibly every trial), the WAL's index (``-shm``)
  and the rollback journal (``-journal``). An output is refused when its path names any
  of them (as given or with links resolved), or when it is the same file as one of them
  under another name (a hard link: same device and inode).
- **Nothing is left half written.** The text goes to a temporary file in the target's
  folder, which replaces the target only once complete; on a full disk the temporary is
  removed, a previous file at the target is kept whole, and the error is one line.
- **Nothing printed from stored data drives the terminal.** Error messages, labels and
  values come from user code; an escape sequence in them could retitle or clear the
  terminal, or hide text. `terminal_safe` shows control characters as escapes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import unicodedata
from pathlib import Path

from parzen.exceptions import ParzenError

STORE_SUFFIXES = ("", "-wal", "-shm", "-journal")  # the files SQLite keeps for a database file
# Characters that reorder or hide text without being control characters (bidirectional overrides and isolates).
_INVISIBLE = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def store_files(store: str | os.PathLike) -> list[Path]:
    """Every path at which SQLite may keep a part of `store`: as given and with links resolved."""
    given = os.path.abspath(os.fspath(store))
    resolved = os.path.realpath(given)
    return [Path(f"{base}{suffix}") for base in dict.fromkeys((given, resolved)) for suffix in STORE_SUFFIXES]


def check_output(target: Path, store: str | os.PathLike | None, what: str = "the output") -> None:
    """Refuse an output that would fail late (no folder, a folder) or write over a file of `store`."""
    if not target.parent.is_dir():
        raise ParzenError(f"cannot write {str(target)!r}: the folder {str(target.parent)!r} does not exist")
    if target.is_dir():
        raise ParzenError(f"cannot write {str(target)!r}: it is a folder; give a file name")
    if store is None:
        return
    clash = _clash(target, store_files(store))
    if clash is not None:
        raise ParzenError(
            f"refusing to write {what} over the trial store {os.fspath(store)!r}: {str(target)!r} is {clash}; "
            "choose another file name"
        )


def _clash(target: Path, files: list[Path]) -> str | None:
    """How `target` is one of `files` (the same name, through a link, the same inode), or None."""
    names = {os.path.abspath(target), os.path.realpath(target)}
    for path in files:
        if str(path) in names:
            return _part(path)
    try:
        mine = os.stat(target)
    except OSError:  # nothing there yet, or a dangling link (its name was checked above)
        return None
    for path in files:
        try:
            theirs = os.stat(path)
        except OSError:
            continue
        if (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino):
            return f"a link to {_part(path)}"
    return None


def _part(path: Path) -> str:
    for suffix, name in (("-wal", "the write-ahead log"), ("-shm", "the WAL index"), ("-journal", "the journal")):
        if str(path).endswith(suffix):
            return name
    return "the main file"


def write_text(target: Path, text: str) -> None:
    """Write `text` to `target` completely or not at all (a temporary file, then a rename)."""
    data = text.encode("utf-8")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if target.exists():  # keep an existing file's permissions
            os.chmod(temporary, target.stat().st_mode & 0o7777)
        else:
            os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ParzenError(f"cannot write {str(target)!r}: {exc.strerror or exc}; nothing was written") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def terminal_safe(text: str) -> str:
    """`text` with control, line-separator and bidirectional characters shown as Python escapes."""
    if text.isprintable() and not _INVISIBLE.intersection(text):
        return text
    return "".join(_escape(c) for c in text)


def _escape(char: str) -> str:
    if char in _INVISIBLE or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        if ord(char) < 0x100:
            return repr(char)[1:-1]  # \x1b, \r, \x9b
        return f"\\u{ord(char):04x}" if ord(char) < 0x10000 else f"\\U{ord(char):08x}"
    return char
