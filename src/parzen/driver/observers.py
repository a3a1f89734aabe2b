"""Trial events for whatever follows a run: the progress bar, MLflow, a dashboard.

`fmin`'s driver thread tells every observer the same events: the run started, a trial
started, a trial ended (in any state), the run ended. An observer never decides
anything and never stops the tuning: `Observers` calls each hook inside a guard, so an
observer that raises is reported once and then left out. An observer that does slow
work (network calls to a tracking server) subclasses `BackgroundObserver`, whose hooks
only queue the event for its own thread, so the driver never waits for it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parzen.space import CompiledSpace
    from parzen.trial import Trial, Trials

logger = logging.getLogger("parzen")


@dataclass
class RunInfo:
    """What one `fmin` call was asked to do, for observers to report.

    Attributes:
        trials: the run's trials (a resumed run's loaded trials included).
        space: the compiled search space.
        algo: the algorithm, as passed to `fmin`.
        max_evals: the budget of finished trials (None: no budget).
        timeout: the run's time limit in seconds (None: none).
        loss_threshold: the loss that stops the run (None: none).
        max_queue_len: suggestions made ahead, in process.
        parallelism: what the user asked for (`SparkTrials`), None in process.
        actual_parallelism: trials the executor keeps in flight.
        fmin_uuid: this call's id (MLflow's ``fmin_uuid`` tag).
        started: when the call started (``time.time()``).
        store_path: the store's path, with ``trials_save_file``.
        stop_reason: why the run stopped, set when it ends.
    """

    trials: Trials
    space: CompiledSpace
    algo: Callable[..., Any]
    max_evals: int | None
    timeout: float | None
    loss_threshold: float | None
    max_queue_len: int
    parallelism: int | None  # what the user asked for (SparkTrials), None in process
    actual_parallelism: int  # trials the executor keeps in flight
    fmin_uuid: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: float = field(default_factory=time.time)
    store_path: str | None = None
    stop_reason: str | None = None  # set when the run ends

    @property
    def algo_name(self) -> str:
        """``tpe.suggest``-style name of the algorithm (partials unwrapped)."""
        fn = getattr(self.algo, "func", self.algo)
        module = getattr(fn, "__module__", "") or ""
        return f"{module.rsplit('.', 1)[-1]}.{getattr(fn, '__name__', repr(fn))}"


class Observer:
    """Follows a run's events: the progress bar, MLflow tracking, the dashboard (a plug-in point).

    Pass instances to ``fmin(..., observers=[...])``. The contract:

    * Every hook is called on the driver thread, in this order: `run_started` once; for
      each trial `trial_context` then `trial_started`, later `trial_ended` (once, in any
      final state: done, error, pruned, cancelled, interrupted); `run_ended` once, also
      when the run fails (with the error).
    * Hooks must return quickly: one that does slow work (network calls) subclasses
      `BackgroundObserver`, whose hooks only queue the event for its own thread.
    * An observer never decides anything and cannot stop or fail the run: a hook that
      raises is reported once and the observer is switched off for the rest of the run.
    * Trials are frozen `parzen.trial.Trial` records; ``run.trials`` is read-only for an
      observer (only the driver changes it).
    * `trial_context` returns plain, picklable data the trial carries while it runs (on
      Spark it travels with the job): no network calls in it.

    Each hook does nothing unless overridden.
    """

    def run_started(self, run: RunInfo) -> None:
        """Before the first trial is suggested (after a resume: the loaded trials are in run.trials).

        Args:
            run: what this `fmin` call was asked to do.
        """

    def trial_context(self, run: RunInfo, trial: Trial) -> dict[str, Any]:
        """What the trial should know while it runs (merged into its `TrialContext`).

        Called on the driver thread just before the trial is submitted: it must be
        quick (no network). On Spark the values travel with the job: plain data only.

        Args:
            run: what this `fmin` call was asked to do.
            trial: the trial about to be submitted.
        """
        return {}

    def trial_started(self, run: RunInfo, trial: Trial) -> None:
        """A trial was created and handed to the executor.

        Args:
            run: what this `fmin` call was asked to do.
            trial: the trial's frozen record at this moment.
        """

    def trial_ended(self, run: RunInfo, trial: Trial) -> None:
        """A trial left the running state (done, error, pruned, cancelled or interrupted).

        Args:
            run: what this `fmin` call was asked to do.
            trial: the trial's final record.
        """

    def run_ended(self, run: RunInfo, error: BaseException | None) -> None:
        """The run is over (`error`: what stopped it, if it did not end normally).

        Args:
            run: what this `fmin` call was asked to do.
            error: the exception that ended the run, or None (``run.stop_reason`` says why it stopped).
        """


class Observers:
    """Calls every observer's hook, so that one failing observer never stops the run.

    An observer that raises is logged and switched off for the rest of the run.

    Args:
        observers: the observers, called in this order.
    """

    def __init__(self, observers: Iterable[Observer]):
        self.active = list(observers)
        self.failures: dict[int, int] = {}

    def _call(self, hook: str, *args: Any) -> None:
        for observer in list(self.active):
            try:
                getattr(observer, hook)(*args)
            except Exception:
                logger.warning(
                    "observer %s failed in %s and is switched off for this run; tuning goes on",
                    type(observer).__name__,
                    hook,
                    exc_info=True,
                )
                self.active.remove(observer)

    def run_started(self, run: RunInfo) -> None:
        """Call every observer's `Observer.run_started`.

        Args:
            run: what this `fmin` call was asked to do.
        """
        self._call("run_started", run)

    def trial_context(self, run: RunInfo, trial: Trial) -> dict[str, Any]:
        """The trial's context: its tid and what every observer adds.

        Args:
            run: what this `fmin` call was asked to do.
            trial: the trial about to be submitted.
        """
        context: dict[str, Any] = {"tid": trial.tid}
        for observer in list(self.active):
            try:
                context.update(observer.trial_context(run, trial))
            except Exception:
                logger.warning(
                    "observer %s failed in trial_context and is switched off", type(observer).__name__, exc_info=True
                )
                self.active.remove(observer)
        return context

    def trial_started(self, run: RunInfo, trial: Trial) -> None:
        """Call every observer's `Observer.trial_started`.

        Args:
            run: what this `fmin` call was asked to do.
            trial: the trial's frozen record at this moment.
        """
        self._call("trial_started", run, trial)

    def trial_ended(self, run: RunInfo, trial: Trial) -> None:
        """Call every observer's `Observer.trial_ended`.

        Args:
            run: what this `fmin` call was asked to do.
            trial: the trial's final record.
        """
        self._call("trial_ended", run, trial)

    def run_ended(self, run: RunInfo, error: BaseException | None) -> None:
        """Call every observer's `Observer.run_ended`.

        Args:
            run: what this `fmin` call was asked to do.
            error: the exception that ended the run, or None.
        """
        self._call("run_ended", run, error)


class BackgroundObserver(Observer):
    """An observer whose hooks run on its own thread, in order, never on the driver's.

    Subclasses implement ``handle_<hook>`` methods (same arguments as the hooks). The
    driver only puts events on a queue. A trial in an event is its frozen record at
    that moment (the driver replaces records, never changes them). `run_ended` waits up to
    `flush_seconds` for the queue to drain, then leaves the rest to the thread
    (a daemon: it never keeps the interpreter alive).
    """

    flush_seconds = 30.0

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, tuple[Any, ...]] | None] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.errors = 0

    def _start(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._work, name=type(self).__name__, daemon=True)
            self.thread.start()

    def _work(self) -> None:
        while True:
            event = self.events.get()
            try:
                if event is None:
                    return
                self._handle(*event)
            finally:
                self.events.task_done()

    def _handle(self, hook: str, args: tuple[Any, ...]) -> None:
        try:
            getattr(self, f"handle_{hook}")(*args)
        except Exception:
            self.errors += 1
            if self.errors == 1:
                logger.warning("%s: %s failed; tuning goes on", type(self).__name__, hook, exc_info=True)

    def _put(self, hook: str, *args: Any) -> None:
        self._start()
        self.events.put((hook, args))

    def run_started(self, run: RunInfo) -> None:
        self._put("run_started", run)

    def trial_started(self, run: RunInfo, trial: Trial) -> None:
        self._put("trial_started", run, trial)

    def trial_ended(self, run: RunInfo, trial: Trial) -> None:
        self._put("trial_ended", run, trial)

    def run_ended(self, run: RunInfo, error: BaseException | None) -> None:
        self._put("run_ended", run, error)
        self.events.put(None)
        deadline = time.monotonic() + self.flush_seconds
        while self.thread is not None and self.thread.is_alive() and time.monotonic() < deadline:
            self.thread.join(timeout=0.1)
        if self.thread is not None and self.thread.is_alive():
            logger.warning(
                "%s has not finished after %g s; it goes on in the background", type(self).__name__, self.flush_seconds
            )

    def handle_run_started(self, run: RunInfo) -> None:
        """`run_started`, on the observer's thread; default: nothing.

        Args:
            run: what this `fmin` call was asked to do.
        """
        pass

    def handle_trial_started(self, run: RunInfo, trial: Trial) -> None:
        """`trial_started`, on the observer's thread; default: nothing.

        Args:
            run: what this `fmin` call was asked to do.
            trial: the trial's frozen record at this moment.
        """
        pass

    def handle_trial_ended(self, run: RunInfo, trial: Trial) -> None:
        """`trial_ended`, on the observer's thread; default: nothing.

        Args:
            run: what this `fmin` call was asked to do.
            trial: the trial's final record.
        """
        pass

    def handle_run_ended(self, run: RunInfo, error: BaseException | None) -> None:
        """`run_ended`, on the observer's thread; default: nothing.

        Args:
            run: what this `fmin` call was asked to do.
            error: the exception that ended the run, or None.
        """
        pass
