"""The driver side of ``parzen.report``: record each report, ask the pruner, answer.

Every report is decided on the driver thread, which owns the trials. Where it comes
from depends on the executor:

* in process, on the driver thread itself (`Trials`): a direct call;
* from other threads of the driver (the thread executors): the report waits in an inbox,
  the executor wakes the driver, which answers;
* from Spark executors: a small TCP server in the driver process (`ReportServer`), bound
  to the address executors reach the driver at, on an ephemeral port. Each report is one
  JSON line (size-limited) carrying a random per-run token; a wrong token, a malformed
  or oversized message, or a report of a trial that is not running is rejected and
  counted, never raised. A report whose answer is late gets "go on".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import queue
import secrets
import socket
import socketserver
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parzen.history import TrialState
from parzen.observers import Observer, RunInfo
from parzen.pruners import Pruner
from parzen.reporting import MAX_MESSAGE_BYTES, MAX_STEP

if TYPE_CHECKING:
    from parzen.executors.base import Executor
    from parzen.trials import Trial, Trials

logger = logging.getLogger("parzen")

ANSWER_TIMEOUT_SECONDS = 5.0  # a report waits this long for the driver, then the trial goes on
MAX_WAITING_REPORTS = 256  # reports waiting for an answer at once; more get "go on" at once
MAX_CONNECTIONS = 512  # clients served at once (a thread each); more are refused and counted
IDLE_SECONDS = 5.0  # a client that sends nothing for this long is dropped (executors send at once)


@dataclass
class _Report:
    tid: int
    step: int
    value: float
    answered: threading.Event = field(default_factory=threading.Event)
    prune: bool = False


class Pruning(Observer):
    """Records reports into the trials and answers them with the pruner's decision.

    An observer of the run: it gives each trial its report channel (`trial_context`),
    tells the pruner how trials end, and closes its server when the run ends.
    `check_reach`: on executors that may not reach this driver (Spark Connect), probe
    first and run without pruning if they cannot (asked for only with a real pruner).
    """

    def __init__(self, pruner: Pruner, trials: Trials, executor: Executor, check_reach: bool = True):
        self.pruner = pruner
        self.trials = trials
        self.executor = executor
        self.driver = threading.current_thread()
        self.inbox: queue.Queue[_Report] = queue.Queue()
        self.rejected: Counter[str] = Counter()
        self.pruned_tids: set[int] = set()
        self.server: ReportServer | None = None
        self.token = ""
        self.reachable = True
        self.closed = False
        pruner.reset(trials.records)
        if executor.remote:
            self._serve(executor, check_reach)

    def _serve(self, executor: Executor, check_reach: bool) -> None:
        """Register with this process's report server; on Connect, check that executors reach it."""
        self.server = ReportServer.for_host(report_host(executor))
        self.token = self.server.register(self)
        if check_reach:
            self.reachable = executor.can_reach(self.server.host, self.server.port)
        if not self.reachable:
            logger.warning(
                "pruning is off for this run: Spark executors cannot reach the driver's report server at %s:%d "
                "(on Spark Connect the client may sit outside the cluster). Trials run to the end; set "
                "PARZEN_REPORT_HOST to an address of this machine that executors can reach to turn it on.",
                self.server.host,
                self.server.port,
            )

    # ---- what a trial carries ---------------------------------------------------------

    def channel(self) -> Any:
        """The ``report`` entry of a trial's context: a callable in process, an address on Spark."""
        if self.server is None:
            return self.report_in_process
        return self.server.channel(self.token) if self.reachable else None

    def report_in_process(self, tid: int, step: int, value: float) -> bool:
        """A report from this process: decided at once on the driver thread, else via the inbox."""
        if threading.current_thread() is self.driver:
            return self.decide(tid, step, value)
        return self.ask(tid, step, value)

    def ask(self, tid: int, step: int, value: float) -> bool:
        """From another thread: queue the report, wake the driver, wait (bounded) for its answer."""
        if self.closed:
            return False  # the run is over: nobody will answer
        report = _Report(tid, step, value)
        self.inbox.put(report)
        self.executor.wake()
        report.answered.wait(ANSWER_TIMEOUT_SECONDS)
        return report.prune

    # ---- driver thread ----------------------------------------------------------------------

    def drain(self) -> None:
        """Answer every report waiting in the inbox (driver thread)."""
        while True:
            try:
                report = self.inbox.get_nowait()
            except queue.Empty:
                return
            report.prune = self.decide(report.tid, report.step, report.value)
            report.answered.set()

    def decide(self, tid: int, step: int, value: float) -> bool:
        """Record `value` at `step` for running trial `tid`; True if it should stop."""
        trial = self.trials.get(tid)
        if trial is None or trial.state != TrialState.RUNNING:
            self.reject(f"report for trial {tid}, which is not running")
            return False
        if not 0 <= step <= MAX_STEP:
            self.reject("bad tid, step or value")
            return False
        if not self.trials.report(tid, step, value):
            return tid in self.pruned_tids  # the step was reported already: same answer
        prune = bool(self.pruner.should_prune(trial, step, value))
        if prune:
            self.pruned_tids.add(tid)
        return prune

    def trial_context(self, run: RunInfo, trial: Trial) -> dict[str, Any]:
        channel = self.channel()
        return {} if channel is None else {"report": channel}

    def trial_ended(self, run: RunInfo, trial: Trial) -> None:
        """A trial left the running state: the pruner learns its final state."""
        self.pruner.finished(trial)

    def run_ended(self, run: RunInfo, error: BaseException | None) -> None:
        self.close()

    def reject(self, reason: str) -> None:
        self.rejected[reason] += 1
        if self.rejected[reason] == 1:
            logger.warning("parzen.report: rejected a report (%s); later ones like it are counted", reason)

    def close(self) -> None:
        self.closed = True
        self.drain()  # whoever still waits gets its answer now
        if self.server is not None:
            self.server.unregister(self.token)
        if self.rejected:
            logger.warning(
                "parzen.report: %d reports were rejected: %s", sum(self.rejected.values()), dict(self.rejected)
            )


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
        self.runs: dict[bytes, Pruning] = {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.server.serve_forever, name="parzen-reports", daemon=True)
        self.thread.start()

    def register(self, pruning: Pruning) -> str:
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

    def parse(self, line: bytes) -> tuple[Pruning, tuple[int, int, float]] | None:
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
        if not _is_int(tid) or not _is_int(step) or not 0 <= step <= MAX_STEP or not _is_finite(value):
            run.reject("bad tid, step or value")
            return None
        return run, (tid, step, float(value))


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
