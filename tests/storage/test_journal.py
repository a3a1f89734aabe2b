"""A trial store on a network or FUSE filesystem uses SQLite's rollback journal instead of WAL."""

import sqlite3
import warnings
from pathlib import Path

import pytest

from parzen import fmin, hp, load_trials, rand
from parzen.exceptions import InvalidArgument
from parzen.storage.journal import filesystem_of, parse_mounts, wal_unsafe_reason
from parzen.storage.store import TrialStore

# Lines as /proc/mounts shows them on a Databricks driver, an NFS client and a 9p (WSL) mount.
FOREIGN = """\
overlay / overlay rw,relatime 0 0
dbfs-fuse /dbfs fuse.dbfs rw,nosuid,nodev,relatime 0 0
uc-volumes /Volumes fuse rw,nosuid,nodev 0 0
filer:/export/home /mnt/home nfs4 rw,vers=4.2 0 0
//nas/share /mnt/my\\040share cifs rw 0 0
drvfs /mnt/c 9p rw,dirsync 0 0
bucket /mnt/bucket fuse.gcsfuse rw 0 0
/dev/sda1 /mnt/home/local ext4 rw 0 0
"""


def test_detection_on_foreign_mount_tables():
    mounts = parse_mounts(FOREIGN)
    assert ("/mnt/my share", "cifs") in mounts  # octal escapes undone
    assert filesystem_of("/mnt/home/alice/t.db", mounts) == ("/mnt/home", "nfs4")
    assert filesystem_of("/mnt/home/local/t.db", mounts) == ("/mnt/home/local", "ext4")  # the longest prefix wins
    assert "nfs4 filesystem (mounted at /mnt/home)" in wal_unsafe_reason("/mnt/home/alice/t.db", FOREIGN)
    assert "cifs" in wal_unsafe_reason("/mnt/my share/t.db", FOREIGN)
    assert "9p" in wal_unsafe_reason("/mnt/c/t.db", FOREIGN)
    assert "fuse.gcsfuse filesystem" in wal_unsafe_reason("/mnt/bucket/t.db", FOREIGN)
    assert "Databricks FUSE mount" in wal_unsafe_reason("/srv/x/../../dbfs/x/t.db", FOREIGN)
    assert "Databricks FUSE mount" in wal_unsafe_reason("/Volumes/main/default/v/t.db", "")
    assert wal_unsafe_reason("/mnt/home/local/t.db", FOREIGN) is None
    assert wal_unsafe_reason("/tmp/t.db", FOREIGN) is None  # on the overlay root


def test_detection_on_this_machines_mounts(tmp_path):
    text = Path("/proc/mounts").read_text()
    found = filesystem_of(tmp_path, parse_mounts(text))
    assert found is not None and found[1] in {line.split()[2] for line in text.splitlines()}
    local = found[1] in ("ext4", "xfs", "btrfs", "tmpfs", "overlay", "zfs")
    assert (wal_unsafe_reason(tmp_path / "t.db") is None) == local


def test_override_uses_a_rollback_journal_and_says_where(tmp_path, monkeypatch):
    monkeypatch.setenv("PARZEN_STORE_JOURNAL", "delete")
    path = tmp_path / "tuning.db"
    space = {"x": hp.uniform("x", 0, 1)}
    with pytest.warns(UserWarning, match=r"tuning\.db.*PARZEN_STORE_JOURNAL=delete.*rollback journal"):
        fmin(lambda p: p["x"], space, algo=rand.suggest, max_evals=4, trials_save_file=path, show_progressbar=False)
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert not Path(f"{path}-wal").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trials = fmin(
            lambda p: p["x"],
            space,
            algo=rand.suggest,
            max_evals=7,
            trials_save_file=path,
            show_progressbar=False,
            return_argmin=False,
        )
    assert len(load_trials(path)) == 7 and trials is not None  # resumed through the rollback journal
    monkeypatch.setenv("PARZEN_STORE_JOURNAL", "wal")
    TrialStore(tmp_path / "wal.db").close()
    assert sqlite3.connect(tmp_path / "wal.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    monkeypatch.setenv("PARZEN_STORE_JOURNAL", "fast")
    with pytest.raises(InvalidArgument, match="PARZEN_STORE_JOURNAL is 'fast'; valid values are 'auto', 'wal'"):
        TrialStore(tmp_path / "bad.db")
