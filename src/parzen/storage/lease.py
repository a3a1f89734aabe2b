"""Who is writing a store: the lease row's liveness test and the heartbeat that keeps it fresh.

A lease names its driver by host, pid, the process's start time and a token unique to the
`TrialStore` object that took it. On the same host a driver is alive while its process
is; a driver on another host is alive while its heartbeat is fresh. The heartbeat is a
daemon thread with its own SQLite connection, so it beats while trials run for hours
and never holds the driver thread up: on contention it skips a beat.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time


def process_start(pid: int) -> str | None:
    """The kernel's start time of `pid` (Linux), to tell a live driver from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def alive(host: str, pid: int, started: str | None, heartbeat: float, stale_after: float) -> bool:
    """Whether the driver of a lease row (another process) still runs."""
    if host != socket.gethostname():
        return time.time() - heartbeat < stale_after
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return started is None or process_start(pid) == started


class Heartbeat:
    """Refreshes ``lease.heartbeat`` every `interval` seconds while the lease is held.

    `lost` becomes True when the lease row no longer carries this run's token (another
    driver took the store over); the beat then stops and the store refuses to write.
    """

    def __init__(self, uri: str, token: str, interval: float, busy_timeout: float):
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run,
            args=(uri, token, interval, busy_timeout),
            name=f"parzen-heartbeat-{token[:8]}",
            daemon=True,
        )
        self._thread.start()

    def _run(self, uri: str, token: str, interval: float, busy_timeout: float) -> None:
        db: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(interval):
                try:
                    if db is None:
                        db = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None)
                    beat = db.execute("UPDATE lease SET heartbeat = ? WHERE token = ?", (time.time(), token))
                except sqlite3.Error:
                    continue  # busy, or the disk is full: skip this beat, the next may get through
                if beat.rowcount == 0:
                    self.lost = True
                    return
        finally:
            if db is not None:
                db.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, wait: float) -> None:
        """Stop beating; wait up to `wait` seconds for a beat in progress to end."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(wait)
