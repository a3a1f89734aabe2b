"""The driver's report server: where ``parzen.report`` calls from Spark executors arrive.

One small TCP server per process and address, started by the first run that needs it
and shared by the runs after it (each registers with a random token of its own). Each
report is one JSON line; the server checks it (size, token, types, bounds) and hands
it to its run's `ReportSink`, which answers on the driver thread. A wrong token, a
malformed or oversized message, a report of a trial that is not running, too many
clients at once, an idle client: each is rejected and counted, never raised, never
printed. Standard library only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import secrets
import socket
import socketserver
import sys
import threading
from typing import TYPE_CHECKING, Any, Protocol

from parzen._remote.report import MAX_MESSAGE_BYTES, MAX_STEP, MAX_VALUES

if TYPE_CHECKING:
    from parzen.executors.base import Executor

logger = logging.getLogger("parzen")

ANSWER_TIMEOUT_SECONDS = 5.0  # a report waits this long for the driver, then the trial goes on
MAX_WAITING_REPORTS = 256  # reports waiting for an answer at once; more get "go on" at once
MAX_CONNECTIONS = 512  # clients served at once (a thread each); more are refused and counted
IDLE_SECONDS = 5.0  # a client that sends nothing for this long is dropped (executors send at once)
DISCARD_BYTES = 64 * MAX_MESSAGE_BYTES  # the rest of an oversized message read and dropped, at most


class ReportSink(Protocol):
    """Where a run's reports go: the driver side of one run (`parzen.driver.reports.Pruning`)."""

    def ask(self, tid: int, step: int, value: float | tuple[float, ...]) -> bool:
        """Hand a report to the driver thread and wait (bounded) for its answer: stop the trial?"""
        ...

    def reject(self, reason: str) -> None:
        """Count a rejected report (warned about once per reason)."""
        ...


class _Handler(socketserver.StreamRequestHandler):
    """One report: read a JSON line, check it, hand it to its run's driver thread, answer."""

    timeout = IDLE_SECONDS
    server: _Server

    def handle(self) -> None:
        answer = {"prune": False}
        try:
            line = self.rfile.readline(MAX_MESSAGE_BYTES + 1)
        except OSError:  # an idle or vanished client: nothing to answer
            return
        if not line:
            return  # a connection closed without a word: the reachability probe
        if len(line) > MAX_MESSAGE_BYTES:
            self._discard_rest()
        found = self.server.reports.parse(line)
        if found is not None:
            pruning, report = found
            if self.server.waiting.acquire(blocking=False):
                try:
                    answer["prune"] = pruning.ask(*report)
                finally:
                    self.server.waiting.release()
            else:
                pruning.reject("too many reports waiting")
        with contextlib.suppress(OSError):
            self.wfile.write(json.dumps(answer).encode() + b"\n")

    def _discard_rest(self) -> None:
        """Read and drop what is left of an oversized message (bounded).

        Closing a socket with unread bytes makes the kernel reset the connection, and the
        client then loses the answer it is owed; reading the rest first lets it go cleanly.
        """
        left = DISCARD_BYTES
        with contextlib.suppress(OSError):
            while left > 0:
                chunk = self.rfile.read1(min(left, 65536))
                if not chunk:
                    return
                left -= len(chunk)


class _Server(socketserver.ThreadingTCPServer):
    """A threading server that holds at most `MAX_CONNECTIONS` clients and never prints tracebacks."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    reports: ReportServer
    waiting: threading.BoundedSemaphore
    connections: threading.BoundedSemaphore

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.connections.acquire(blocking=False):  # a flood of idle clients: refuse, hold nothing
            self.reports.reject_unattributed("too many connections")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connections.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that misbehaves costs a count, not a traceback on the driver's stderr."""
        self.reports.reject_unattributed(f"connection error ({type(sys.exc_info()[1]).__name__})")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_finite(x: Any) -> bool:
    """A finite number; an int too large for a float (1e309 written out) is not."""
    if not isinstance(x, (int, float)) or isinstance(x, bool):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:
        return False


def _key(token: str) -> bytes:
    """Runs are looked up by a hash of their token, so the lookup's timing says nothing about it."""
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()


class ReportServer:
    """The driver's report server for Spark executors: one per process and address, shared by runs.

    Started by the first run that needs it and kept for the life of the process, so a
    run pays neither its start nor its shutdown. Each run registers with a random token
    of its own; a report carries it, and the server hands the report to that run's
    driver thread. A report with an unknown token, a malformed or oversized line, too
    many clients at once or an idle client is rejected and counted (on every run
    registered at the time, since it names none of them), never raised, never printed.
    """

    _shared: dict[str, ReportServer] = {}
    _shared_lock = threading.Lock()

    @classmethod
    def for_host(cls, host: str) -> ReportServer:
        """The server of this process that executors reach at `host` (started on first use)."""
        with cls._shared_lock:
            server = cls._shared.get(host)
            if server is None or not server.thread.is_alive():
                server = cls._shared[host] = cls(host)
            return server

    def __init__(self, host: str):
        self.host = host
        self.server = _Server((_bind_address(host), 0), _Handler)
        self.server.reports = self
        self.server.waiting = threading.BoundedSemaphore(MAX_WAITING_REPORTS)
        self.server.connections = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self.port: int = self.server.server_address[1]
        self.runs: dict[bytes, ReportSink] = {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.server.serve_forever, name="parzen-reports", daemon=True)
        self.thread.start()

    def register(self, pruning: ReportSink) -> str:
        """A new run's token: reports carrying it go to `pruning`."""
        token = secrets.token_hex(16)
        with self.lock:
            self.runs[_key(token)] = pruning
        return token

    def unregister(self, token: str) -> None:
        """The run is over: its token is refused from now on."""
        with self.lock:
            self.runs.pop(_key(token), None)

    def channel(self, token: str) -> dict[str, Any]:
        """The ``report`` entry of a trial's context: where and how to report."""
        return {"host": self.host, "port": self.port, "token": token, "answer_timeout": ANSWER_TIMEOUT_SECONDS + 1}

    def reject_unattributed(self, reason: str) -> None:
        """Count a rejection that names no run on every run registered now."""
        with self.lock:
            runs = list(self.runs.values())
        for run in runs:
            run.reject(reason)

    def parse(self, line: bytes) -> tuple[ReportSink, tuple[int, int, float | tuple[float, ...]]] | None:
        """The run and the report a line carries, or None (rejected and counted)."""
        if len(line) > MAX_MESSAGE_BYTES or not line.endswith(b"\n"):
            self.reject_unattributed("message too long or not a line")
            return None
        try:
            message = json.loads(line)
            token, tid, step, value = message["token"], message["tid"], message["step"], message["value"]
        except (ValueError, KeyError, TypeError, RecursionError):
            self.reject_unattributed("malformed message")
            return None
        with self.lock:
            run = self.runs.get(_key(token)) if isinstance(token, str) else None
        if run is None:
            self.reject_unattributed("wrong token")
            return None
        value = _reported(value)
        if not _is_int(tid) or not _is_int(step) or not 0 <= step <= MAX_STEP or value is None:
            run.reject("bad tid, step or value")
            return None
        return run, (tid, step, value)


def _reported(value: Any) -> float | tuple[float, ...] | None:
    """A finite number, or 2 to MAX_VALUES of them (several objectives) as a tuple; else None."""
    if _is_finite(value):
        return float(value)
    if isinstance(value, list) and 2 <= len(value) <= MAX_VALUES and all(_is_finite(v) for v in value):
        return tuple(float(v) for v in value)
    return None


def report_host(executor: Executor) -> str:
    """The address executors reach this driver at: PARZEN_REPORT_HOST, else the executor's guess."""
    return os.environ.get("PARZEN_REPORT_HOST") or executor.driver_address()


def _bind_address(host: str) -> str:
    """Bind to `host` when it is an address of this machine; else (NAT, a proxy) to every interface."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
        return host
    except OSError:
        logger.warning(
            "PARZEN_REPORT_HOST=%s is not an address of this machine; the report server listens on all "
            "interfaces (reports still need the run's token)",
            host,
        )
        return "0.0.0.0"
