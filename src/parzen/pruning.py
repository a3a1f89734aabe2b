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

import hmac
import json
import logging
import math
import os
import queue
import secrets
import socket
import socketserver
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parzen.history import TrialState
from parzen.observers import Observer, RunInfo
from parzen.pruners import Pruner
from parzen.reporting import MAX_MESSAGE_BYTES

if TYPE_CHECKING:
    from parzen.executors.base import Executor
    from parzen.trials import Trial, Trials

logger = logging.getLogger("parzen")

ANSWER_TIMEOUT_SECONDS = 5.0  # a report waits this long for the driver, then the trial goes on
MAX_WAITING_REPORTS = 256  # reports waiting for an answer at once; more get "go on" at once


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
        pruner.reset(trials.records)
        if executor.remote:
            self.server = ReportServer(self, executor, check_reach)

    # ---- what a trial carries ---------------------------------------------------------

    def channel(self) -> Any:
        """The ``report`` entry of a trial's context: a callable in process, an address on Spark."""
        if self.server is None:
            return self.report_in_process
        return self.server.channel() if self.server.reachable else None

    def report_in_process(self, tid: int, step: int, value: float) -> bool:
        """A report from this process: decided at once on the driver thread, else via the inbox."""
        if threading.current_thread() is self.driver:
            return self.decide(tid, step, value)
        return self.ask(tid, step, value)

    def ask(self, tid: int, step: int, value: float) -> bool:
        """From another thread: queue the report, wake the driver, wait (bounded) for its answer."""
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
        if self.server is not None:
            self.server.close()
        if self.rejected:
            logger.warning(
                "parzen.report: %d reports were rejected: %s", sum(self.rejected.values()), dict(self.rejected)
            )


class _Handler(socketserver.StreamRequestHandler):
    """One report: read a JSON line, check it, hand it to the driver, answer."""

    timeout = 10.0
    server: _Server

    def handle(self) -> None:
        pruning, answer = self.server.pruning, {"prune": False}
        line = self.rfile.readline(MAX_MESSAGE_BYTES + 1)
        if not line:
            return  # a connection closed without a word: the reachability probe
        report = self._parse(line, pruning)
        if report is not None:
            if self.server.waiting.acquire(blocking=False):
                try:
                    answer["prune"] = pruning.ask(*report)
                finally:
                    self.server.waiting.release()
            else:
                pruning.reject("too many reports waiting")
        self.wfile.write(json.dumps(answer).encode() + b"\n")

    def _parse(self, line: bytes, pruning: Pruning) -> tuple[int, int, float] | None:
        if len(line) > MAX_MESSAGE_BYTES or not line.endswith(b"\n"):
            pruning.reject("message too long or not a line")
            return None
        try:
            message = json.loads(line)
            token, tid, step, value = message["token"], message["tid"], message["step"], message["value"]
        except (ValueError, KeyError, TypeError):
            pruning.reject("malformed message")
            return None
        if not isinstance(token, str) or not hmac.compare_digest(token, self.server.token):
            pruning.reject("wrong token")
            return None
        if not _is_int(tid) or not _is_int(step) or step < 0 or not _is_finite(value):
            pruning.reject("bad tid, step or value")
            return None
        return tid, step, float(value)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    pruning: Pruning
    token: str
    waiting: threading.BoundedSemaphore


class ReportServer:
    """The driver's report server for Spark executors (see the module docstring)."""

    def __init__(self, pruning: Pruning, executor: Executor, check_reach: bool):
        self.host = report_host(executor)
        self.token = secrets.token_hex(16)
        self.server = _Server((_bind_address(self.host), 0), _Handler)
        self.server.pruning, self.server.token = pruning, self.token
        self.server.waiting = threading.BoundedSemaphore(MAX_WAITING_REPORTS)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="parzen-reports", daemon=True)
        self.thread.start()
        self.reachable = executor.can_reach(self.host, self.port) if check_reach else True
        if not self.reachable:
            logger.warning(
                "pruning is off for this run: Spark executors cannot reach the driver's report server at %s:%d "
                "(on Spark Connect the client may sit outside the cluster). Trials run to the end; set "
                "PARZEN_REPORT_HOST to an address of this machine that executors can reach to turn it on.",
                self.host,
                self.port,
            )

    def channel(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "token": self.token, "answer_timeout": ANSWER_TIMEOUT_SECONDS + 1}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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
