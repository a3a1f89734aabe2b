"""The driver side of ``parzen.report``: record each report, ask the pruner, answer.

Every report is decided on the driver thread, which owns the trials. Where it comes
from depends on the executor:

* in process, on the driver thread itself (`Trials`): a direct call;
* from other threads of the driver (the thread executors): the report waits in an inbox,
  the executor wakes the driver, which answers;
* from Spark executors: the process's report server (`parzen.pruning.server`), where this
  run registers with a token of its own. A report whose answer is late gets "go on".
"""

from __future__ import annotations

import logging
import queue
import threading
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parzen._remote.report import MAX_STEP
from parzen.driver.observers import Observer, RunInfo
from parzen.pruning.pruners import Pruner
from parzen.pruning.server import ANSWER_TIMEOUT_SECONDS, ReportServer, report_host
from parzen.trial import TrialState

if TYPE_CHECKING:
    from parzen.executors.base import Executor
    from parzen.trial import Trial, Trials

logger = logging.getLogger("parzen")


@dataclass
class _Report:
    tid: int
    step: int
    value: float | tuple[float, ...]
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
        self.ignored_stops = 0  # trials told to stop that returned a result instead
        self.reachable = True
        self.closed = False
        self.width: int | None = None  # values per report (1, or the objectives reported): fixed by the first
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

    def report_in_process(self, tid: int, step: int, value: float | list[float]) -> bool:
        """A report from this process: decided at once on the driver thread, else via the inbox."""
        reported = tuple(value) if isinstance(value, list) else value
        if threading.current_thread() is self.driver:
            return self.decide(tid, step, reported)
        return self.ask(tid, step, reported)

    def ask(self, tid: int, step: int, value: float | tuple[float, ...]) -> bool:
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

    def decide(self, tid: int, step: int, value: float | tuple[float, ...]) -> bool:
        """Record `value` at `step` for running trial `tid`; True if it should stop."""
        trial = self.trials.get(tid)
        if trial is None or trial.state != TrialState.RUNNING:
            self.reject(f"report for trial {tid}, which is not running")
            return False
        if not 0 <= step <= MAX_STEP:
            self.reject("bad tid, step or value")
            return False
        if not self._same_width(value):
            return False
        if not self.trials.report(tid, step, value):
            return tid in self.pruned_tids  # the step was reported already: same answer
        try:
            prune = bool(self.pruner.should_prune(self.trials.record(tid), step, value))  # the record with this step
        except Exception as exc:  # a pruner's bug must not stop the tuning: the trial goes on
            self.reject(f"the pruner failed ({type(exc).__name__}: {exc})")
            return False
        if prune:
            self.pruned_tids.add(tid)
        return prune

    def _same_width(self, value: float | tuple[float, ...]) -> bool:
        """Every report of a run carries as many values as its first (the run's or the store's)."""
        width = len(value) if isinstance(value, tuple) else 1
        if self.width is None:
            self.width = self.trials.report_width() or width
        if width == self.width:
            return True
        self.reject(f"a report of {width} value(s) where this run's reports have {self.width}")
        return False

    def trial_context(self, run: RunInfo, trial: Trial) -> dict[str, Any]:
        channel = self.channel()
        return {} if channel is None else {"report": channel}

    def trial_ended(self, run: RunInfo, trial: Trial) -> None:
        """A trial left the running state: the pruner learns its final state."""
        if trial.tid in self.pruned_tids and trial.state == TrialState.DONE:
            self._told_but_returned(trial)
        self.pruner.finished(trial)

    def _told_but_returned(self, trial: Trial) -> None:
        """A trial told to stop returned a result: it counts as finished, partial as it is; say so once."""
        self.ignored_stops += 1
        if self.ignored_stops == 1:
            steps = max(trial.intermediate, default=None)
            warnings.warn(
                f"trial {trial.tid} was told to stop (parzen.report returned True; its last step was {steps}) "
                "but returned normally: its partial result is recorded as an ordinary one and the algorithm "
                "learns from it. To stop a trial, raise parzen.TrialPruned() when report(...) returns True.",
                UserWarning,
                stacklevel=2,
            )

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
        if self.ignored_stops > 1:
            logger.warning(
                "%d trials were told to stop and returned a result instead (raise parzen.TrialPruned())",
                self.ignored_stops,
            )
        if self.rejected:
            logger.warning(
                "parzen.report: %d reports were rejected: %s", sum(self.rejected.values()), dict(self.rejected)
            )
