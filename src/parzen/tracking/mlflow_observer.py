"""MLflow tracking of one `fmin` call, in the schema Databricks' hyperopt used.

One parent run per `fmin` (nested in the caller's active run, which it never ends) and
one child run per trial; the keys are listed in docs/databricks.md. Everything that
talks to the tracking server happens on this observer's own thread:

- child runs are created *ahead of need* (a small pool), so `trial_context` hands a
  ready run id to each trial without a network call; the objective's own ``mlflow.log_*``
  calls then land in that run, on Spark executors too (``parzen._remote.context``);
- what trials produce is queued and written with ``log_batch``, one call per run for
  everything that piled up, plus one status update;
- every call is ONE attempt of at most 5 s (`_client`: MLflow's own client would retry
  for minutes), so an outage is noticed at once; a failed write stays queued and the
  observer retries it with its own back-off, so a server that is down, slow or
  throttling never slows or stops tuning. What an outage costs a run, at most: 5 s at
  the start (`startup_seconds`, a server that does not answer), 1 s for each trial that
  starts before the first failure is known (`ready_wait_seconds`, waiting for a run made
  ahead), and at the end one last try of at most 3 s (`outage_exit_seconds`; none when
  the server refuses connections); the process exits at once (the writers are daemon
  threads). `run_ended` then says how many of the run's trials are
  not written; writing goes on while the process lives, and a resumed run writes the rest;
- a refusal (a 4xx answer) is never retried: a refused run (a deleted experiment, no
  permission) switches tracking off for the run with one warning; a refused key is left
  out with one warning. Labels MLflow refuses as keys (``C(log)``) are converted
  (`_keys`), the label kept as a ``parzen.label.<key>`` tag;
- child runs made ahead of need and never used are ended (KILLED) and deleted when the
  run ends; a resumed run ends the runs a killed session left RUNNING.

The trials (and the trial store) remain the record.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import mlflow
import numpy as np
from mlflow.entities import Metric, Param, RunTag

from parzen.driver.observers import Observer, RunInfo
from parzen.exceptions import ParzenError
from parzen.space import Categorical
from parzen.tracking._client import REQUEST_TIMEOUT, TrackingServer, describe, in_parallel, is_permanent
from parzen.tracking._keys import LABEL_TAG, converted, mlflow_keys
from parzen.trial import STATUS_OK, Trial, TrialState
from parzen.trial.pareto import hypervolume

logger = logging.getLogger("parzen")

PARENT_META_KEY = "mlflow_parent_run_id"  # the store's meta key that lets a resumed run continue its parent
RUN_SOURCE = "hyperoptAutoTracking"  # Databricks' hyperopt tagged its parent runs so
SPACE_TAG_LIMIT = 64 * 1024
PARENT_TAG = "mlflow.parentRunId"
TID_TAG = "parzen.tid"
CURVE_METRIC = "intermediate_value"  # optuna's name for what a trial reports along the way
BATCH = 100  # params or tags per log_batch (MLflow's limit)
_STOP = object()

_RUN_STATUS = {
    TrialState.DONE: "FINISHED",
    TrialState.PRUNED: "FINISHED",
    TrialState.ERROR: "FAILED",
    TrialState.CANCELLED: "KILLED",
    TrialState.INTERRUPTED: "KILLED",
}
_TRIAL_STATUS = {
    TrialState.DONE: "success",
    TrialState.PRUNED: "pruned",
    TrialState.ERROR: "failure",
    TrialState.CANCELLED: "cancelled",
    TrialState.INTERRUPTED: "interrupted",
}


def _tag_limit() -> int:
    """The longest tag value the tracking server accepts (MLflow's own check), at most 64 KB."""
    try:
        from mlflow.utils.validation import MAX_TAG_VAL_LENGTH

        return min(SPACE_TAG_LIMIT, int(MAX_TAG_VAL_LENGTH))
    except Exception:
        return 5000


def _text(value: Any, limit: int = 500) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class _Pending:
    """What is still to be written to one run."""

    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)
    status: str | None = None  # terminal status, set_terminated after the batch
    end_ms: int | None = None
    due: float | None = None  # monotonic time from which to write (None: nothing to write until the trial ends)


def trial_params(trial: Trial, run: RunInfo, keys: dict[str, str] | None = None) -> dict[str, str]:
    """The trial's hyperparameters as MLflow params: a choice as its value, its index alongside.

    `keys` maps labels to the keys MLflow accepts (`_keys.mlflow_keys`); a label missing
    from it is its own key.
    """
    out: dict[str, str] = {}
    for label, value in trial.params.items():
        key = keys.get(label, label) if keys else label
        param = run.space.params.get(label)
        if isinstance(param, Categorical):
            option = param.options[int(value)]
            plain = option is None or isinstance(option, (str, int, float, bool))
            out[key] = _text(option if plain else int(value))
            out[f"{key}.index"] = str(int(value))
        else:
            out[key] = _text(value)
    return out


def trial_run_status(trial: Trial) -> tuple[str, str]:
    """(MLflow run status, ``trial_status`` tag) of a settled trial."""
    if trial.state == TrialState.DONE and trial.result.get("status") != STATUS_OK:
        return "FAILED", "failure"
    return _RUN_STATUS.get(trial.state, "FAILED"), _TRIAL_STATUS.get(trial.state, trial.state.name.lower())


class MlflowObserver(Observer):
    """Logs one `fmin` call to MLflow from a background thread (see the module docstring); one instance per call."""

    flush_seconds = 30.0  # run_ended waits this long at most for queued writes while the server answers
    outage_exit_seconds = 3.0  # ... and this long at most once the server is failing (one last try)
    startup_seconds = 5.0  # run_started waits this long at most for the parent run and the first child runs
    retry_seconds = (0.5, 15.0)  # back-off after a failed write: first, longest
    request_timeout = REQUEST_TIMEOUT  # one attempt per call, this long at most (see `_client`)
    runs_ahead: int | None = None  # child runs kept ready (default: twice the trials in flight; 0: none)
    start_delay = 2.0  # a trial's start is written once it has run this long (shorter ones: with their end)
    writers = 4  # concurrent writes to the server when several trials wait
    ready_wait_seconds = 1.0  # a trial with no child run ready waits this long at most for one (server healthy)

    def __init__(self, tracking_uri: str | None = None):
        self.uri = tracking_uri or mlflow.get_tracking_uri()
        self.server = TrackingServer(self.uri, self.request_timeout)
        self.events: queue.Queue[Any] = queue.Queue()
        self.ready: deque[tuple[str, str | None]] = deque()  # (run id, artifact uri) of child runs not yet used
        self.without_run = 0  # trials that started before a child run was ready for them
        self.stalled = False  # a trial waited in vain for a run: no more waits until one is made
        self.primed = threading.Event()  # parent known and the first child runs made (or given up)
        self.made = threading.Condition()  # notified when child runs join `ready`
        self.done = threading.Event()  # everything written after run_ended
        self.last_try = threading.Event()  # the run ended and its last try at the server failed
        self.parent_id: str | None = None
        self.experiment_id: str | None = None
        self.fmin_uuid = ""
        self.parent_saved = False
        self.thread: threading.Thread | None = None
        self.assigned: dict[int, str] = {}  # driver: tid -> the run trial_context handed out
        self.ended: list[int] = []  # driver: the trials that ended in this run
        self.written: set[int] = set()  # worker: trials whose run is complete (batch and final status)
        self.lock = threading.Lock()  # `written` and `refused_keys`, changed by the writer threads
        self.keys: dict[str, str] = {}  # label -> MLflow key (see `_keys`)
        self.errors = 0
        self.last_error: BaseException | None = None
        self.refused: str | None = None  # why the server refused this run's tracking for good (a 4xx)
        self.refused_keys: dict[str, str] = {}  # key -> why the server refused it (said once each)
        # owned by the worker thread
        self.start_args: tuple[Any, ...] | None = None
        self.pending: dict[int | None, _Pending] = {}  # tid -> writes; None = the parent run
        self.run_of: dict[int, str] = {}
        self.started = 0
        self.budget: int | None = None
        self.first_fill = 1
        self.pool_size = 2
        self.summary: dict[str, Any] | None = None
        self.closed = False
        self.retry_at = 0.0
        self.failing = False
        self.failing_since = 0.0  # monotonic time of the first failure of the current outage
        self.backoff = self.retry_seconds[0]

    # ---- driver thread --------------------------------------------------------------

    def run_started(self, run: RunInfo) -> None:
        """Note what only the driver thread knows (its active run, the store), then let the worker start."""
        self.without_run = 0
        active = mlflow.active_run()
        resume = run.trials.store.meta(PARENT_META_KEY) if run.trials.store is not None else None
        loaded = [t for t in run.trials.records if t.state != TrialState.RUNNING]  # frozen records
        self.fmin_uuid = run.fmin_uuid
        self.keys = mlflow_keys(run.space.params)
        renamed = converted(self.keys)
        if renamed:
            logger.warning(
                "MLflow refuses %d labels of this space as keys; they are logged as %s (each run tags the label "
                "as parzen.label.<key>)",
                len(renamed),
                ", ".join(f"{label!r} -> {key!r}" for key, label in sorted(renamed.items())),
            )
        self.pool_size = 2 * max(1, run.actual_parallelism) if self.runs_ahead is None else self.runs_ahead
        self.first_fill = min(self.pool_size, max(1, run.actual_parallelism))
        self.budget = None if run.max_evals is None else max(0, run.max_evals - run.trials.n_finished)
        parent_of = (active.info.run_id, active.info.experiment_id) if active is not None else None
        self.events.put(("start", run, parent_of, resume, loaded))
        self.thread = threading.Thread(target=self._work, name="parzen-mlflow", daemon=True)
        self.thread.start()
        if not self.primed.wait(self.startup_seconds):
            logger.warning(
                "MLflow tracking server %s has not answered within %g s; tuning goes on, its runs are written "
                "when it answers",
                self.uri,
                self.startup_seconds,
            )

    def trial_context(self, run: RunInfo, trial: Trial) -> dict[str, Any]:
        """A ready child run for the trial (no network call), or a note that none was ready."""
        self._save_parent_id(run)
        try:
            run_id, artifact_uri = self._ready_run()
        except IndexError:
            self.without_run += 1  # the first such trial says so in its stderr; run_ended counts them all
            return {
                "mlflow": {"run_id": None, "tid": trial.tid, "tracking_uri": self.uri, "say": self.without_run == 1}
            }
        self.assigned[trial.tid] = run_id
        return {
            "mlflow": {
                "run_id": run_id,
                "experiment_id": self.experiment_id,
                "artifact_uri": artifact_uri,
                "tracking_uri": self.uri,
                "tid": trial.tid,
            }
        }

    def _ready_run(self) -> tuple[str, str | None]:
        """The next ready child run; when none is, wait (bounded) while the worker makes more.

        Trials can start faster than runs are made (a loaded server, a burst of free
        slots): a short wait then keeps the objective's own ``mlflow.log_*`` calls in its
        run. No wait when runs are not made ahead (``runs_ahead=0``), when the server is
        failing, or after a whole wait in which no run was made (a server that stopped
        answering: later trials go on at once until it makes a run again).
        """
        deadline = time.monotonic() + self.ready_wait_seconds
        with self.made:
            if not self.ready and self.pool_size > 0 and self.primed.is_set() and not self._down() and not self.stalled:
                self.events.put(("need", None))
                while not self.ready and not self._down() and (left := deadline - time.monotonic()) > 0:
                    self.made.wait(left)
                self.stalled = not self.ready
            return self.ready.popleft()

    def _down(self) -> bool:
        return self.failing or self.refused is not None

    def trial_started(self, run: RunInfo, trial: Trial) -> None:
        self.events.put(("started", run, trial, self.assigned.pop(trial.tid, None)))

    def trial_ended(self, run: RunInfo, trial: Trial) -> None:
        self._save_parent_id(run)
        self.ended.append(trial.tid)
        self.events.put(("ended", run, trial))

    def run_ended(self, run: RunInfo, error: BaseException | None) -> None:
        """Queue the parent's summary, wait (bounded) for the writes, report once what is left.

        While the server answers, the wait lasts until everything is written, at most
        `flush_seconds`; once it is failing, until one last try has failed, at most
        `outage_exit_seconds`; once it refused the run, not at all: an outage never holds
        the end of a run.
        """
        self.events.put(("finish", run, _summary(run, error, self.keys)))
        self.events.put(_STOP)
        if self.without_run > 1:
            logger.info(
                "MLflow: %d trials started before their run was ready (trials faster than run creation on %s); "
                "their runs were made afterwards, and mlflow calls inside them went to MLflow's default run",
                self.without_run,
                self.uri,
            )
        self._wait_for_writes(3.0 if isinstance(error, KeyboardInterrupt) else self.flush_seconds)
        self._save_parent_id(run)
        if not self.done.is_set():
            self._say_what_is_missing(run)

    def _wait_for_writes(self, bound: float) -> None:
        start = time.monotonic()
        deadline = start + bound
        while not self.done.wait(0.05):
            now = time.monotonic()
            if self.refused is not None or self.last_try.is_set():
                return
            if self.failing:
                deadline = min(deadline, max(start, self.failing_since) + self.outage_exit_seconds)
            if now >= deadline:
                return

    def _say_what_is_missing(self, run: RunInfo) -> None:
        """One warning with the number of this run's trials whose MLflow run is not complete."""
        with self.lock:
            written = set(self.written)
        missing = [tid for tid in self.ended if tid not in written]
        summary = "the fmin summary" if not self.closed or None in self.pending else ""
        why = f"it refused them: {self.refused}" if self.refused else f"last error: {self._last_error_text()}"
        if self.refused:
            later = "nothing more is tried for this run"
        else:
            later = "writing goes on in the background while this process lives"
        store = " and the trial store (resume to write the rest)" if run.trials.store is not None else ""
        logger.warning(
            "MLflow: %d of the %d trials of this run are not yet written to %s%s (%s); %s. Every trial is in the "
            "Trials object%s.",
            len(missing),
            len(self.ended),
            self.uri,
            f", nor {summary}" if summary else "",
            why,
            later,
            store,
        )

    def _last_error_text(self) -> str:
        return describe(self.last_error) if self.last_error is not None else "none yet: the server has not answered"

    def _save_parent_id(self, run: RunInfo) -> None:
        """Keep the parent run id in the store (driver thread: the store's connection is not shared)."""
        store = run.trials.store
        if store is None or self.parent_saved or self.parent_id is None:
            return
        if store.meta(PARENT_META_KEY) != self.parent_id:
            store.set_meta(PARENT_META_KEY, self.parent_id)
        self.parent_saved = True

    # ---- worker thread --------------------------------------------------------------

    def _work(self) -> None:
        stop = False
        while True:
            for event in self._take(self._wait_time()):
                if event is _STOP:
                    stop = True
                    self.retry_at = 0.0  # one prompt try at the end, whatever the back-off
                else:
                    self._apply(*event)
            if self.refused is not None:
                self.primed.set()
                return
            if time.monotonic() >= self.retry_at:
                self._sync(final=stop)
                if stop and self.failing:
                    self.last_try.set()
            if stop and not self._unfinished():
                self._discard_unused()
                self.done.set()
                return

    def _wait_time(self) -> float | None:
        """How long to wait for events: until the retry after a failure, or until a write falls due."""
        now = time.monotonic()
        if self.failing or self.parent_id is None:
            return max(0.05, self.retry_at - now)
        due = [w.due for w in self.pending.values() if w.due is not None]
        return max(0.0, min(due) - now) if due else None

    def _take(self, timeout: float | None) -> list[Any]:
        try:
            batch = [self.events.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                batch.append(self.events.get_nowait())
            except queue.Empty:
                return batch

    def _unfinished(self) -> bool:
        return bool(self.pending) or self.parent_id is None or (self.summary is not None and not self.closed)

    def _apply(self, kind: str, run: RunInfo, *args: Any) -> None:
        if kind == "start":
            self._start(run, *args)
        elif kind == "started":
            trial, run_id = args
            self.started += 1
            if run_id is not None:
                self.run_of[trial.tid] = run_id
            writes = self._writes(trial.tid)
            writes.params.update(trial_params(trial, run, self.keys))
            writes.tags.update(self._label_tags(trial))
            writes.tags.update({TID_TAG: str(trial.tid), "mlflow.runName": f"trial {trial.tid}"})
            writes.due = time.monotonic() + self.start_delay
        elif kind == "ended":
            self._ended(run, args[0])
        elif kind == "finish":
            self.summary = args[0]

    def _label_tags(self, trial: Trial) -> dict[str, str]:
        """``parzen.label.<key>`` -> label for the trial's labels whose MLflow key differs."""
        return {LABEL_TAG + self.keys[k]: k for k in trial.params if self.keys.get(k, k) != k}

    def _writes(self, tid: int | None) -> _Pending:
        writes = self.pending.setdefault(tid, _Pending())
        if tid is None:
            writes.due = time.monotonic()
        return writes

    def _start(self, run: RunInfo, parent_of: tuple[str, str] | None, resume: str | None, loaded: list) -> None:
        self.start_args = (run, parent_of, resume, loaded)
        writes = self._writes(None)
        writes.params.update(_parent_params(run))
        writes.tags.update({"runSource": RUN_SOURCE, "space": _space_text(run)})
        writes.tags.update({LABEL_TAG + key: label for key, label in converted(self.keys).items()})

    def _ended(self, run: RunInfo, trial: Trial, with_params: bool = False) -> None:
        writes = self._writes(trial.tid)
        if with_params:  # a trial of an earlier session (its start was logged then, if at all)
            writes.params.update(trial_params(trial, run, self.keys))
            writes.tags.update(self._label_tags(trial))
        status, label = trial_run_status(trial)
        writes.tags.update({TID_TAG: str(trial.tid), "mlflow.runName": f"trial {trial.tid}", "trial_status": label})
        end = trial.end_time or trial.refresh_time or time.time()
        writes.metrics.extend(_outcome_metrics(trial, run, int(end * 1000)))
        writes.metrics.extend(_learning_curve(trial, end))
        if trial.error:
            writes.tags["error"] = _text(trial.error.strip().splitlines()[-1], 1000)
        writes.status, writes.end_ms, writes.due = status, int(end * 1000), time.monotonic()

    def _sync(self, final: bool = False) -> None:
        """Bring the server up to date: parent, pool, due trial writes, summary. A failure waits for the back-off."""
        if self.start_args is None:
            return
        try:
            if self.parent_id is None:
                self._open_parent(*self.start_args)
            self._fill_pool()
            self.primed.set()
            if self.summary is not None and not self.closed:
                self._close_parent()
            self._flush_all(self._due(final) + ([None] if None in self.pending else []))
            if self.failing:
                logger.info("MLflow tracking at %s answers again; what was queued is written", self.uri)
            self.failing = False
            self.backoff = self.retry_seconds[0]
        except Exception as exc:
            if is_permanent(exc):
                self._refuse(exc)
            else:
                self._failed(exc)

    def _due(self, final: bool) -> list[int]:
        """Trials with writes to make now (all of them once the run has ended)."""
        now = time.monotonic()
        return [
            tid
            for tid, writes in self.pending.items()
            if tid is not None and writes.due is not None and (final or writes.due <= now)
        ]

    def _flush_all(self, tids: list[int | None]) -> None:
        """Write queued writes (None: the parent's), several runs at a time; the first failure is raised last."""
        if len(tids) <= 1 or self.writers <= 1:
            for tid in tids:
                self._flush(tid)
            return
        for _, error in in_parallel(self._flush, tids, self.writers):
            if error is not None:
                raise error

    def _failed(self, exc: Exception) -> None:
        """A transient failure (down, slow, throttling): retried after the back-off; said once."""
        if not self.failing:
            self.failing_since = time.monotonic()
        self.failing = True
        self.errors += 1
        self.last_error = exc
        if self.errors == 1:
            logger.warning(
                "MLflow tracking at %s failed (%s); tuning goes on at full speed, writes are retried",
                self.uri,
                describe(exc),
            )
        else:
            logger.debug("MLflow write failed again: %s", describe(exc))
        self._release_waiters()
        self.retry_at = time.monotonic() + self.backoff
        self.backoff = min(self.retry_seconds[1], self.backoff * 2)

    def _refuse(self, exc: Exception) -> None:
        """A permanent refusal of the run itself (a 4xx creating or reopening a run): never retried."""
        self.last_error = exc
        self.refused = describe(exc)
        where = f"experiment {self.experiment_id or self._experiment_of()}"
        logger.warning(
            "MLflow tracking at %s refused this run (%s, in %s); it is not retried and tracking is off for the "
            "rest of this run",
            self.uri,
            self.refused,
            where,
        )
        self._release_waiters()

    def _experiment_of(self) -> str:
        parent_of = self.start_args[1] if self.start_args else None
        return parent_of[1] if parent_of is not None else "(the default)"

    def _release_waiters(self) -> None:
        if not self.primed.is_set():  # the driver stops waiting at once: the server is not answering
            self.primed.set()
        with self.made:  # nor does a trial waiting for a run
            self.made.notify_all()

    # ---- the parent run ---------------------------------------------------------------

    def _open_parent(self, run: RunInfo, parent_of: tuple[str, str] | None, resume: str | None, loaded: list) -> None:
        if resume is not None and self._resume(resume, run, loaded):
            return
        experiment_id = parent_of[1] if parent_of is not None else self.server.default_experiment()
        tags = {"fmin_uuid": self.fmin_uuid}
        if parent_of is not None:
            tags[PARENT_TAG] = parent_of[0]
        self.experiment_id = experiment_id
        self.parent_id, _, self.experiment_id = self.server.create_run(experiment_id, tags)

    def _resume(self, parent_id: str, run: RunInfo, loaded: list) -> bool:
        """Continue the parent run of a resumed store; write what its child runs miss, end runs left running."""
        try:
            parent = self.server.get_run(parent_id)
        except Exception as exc:
            if "RESOURCE_DOES_NOT_EXIST" not in f"{getattr(exc, 'error_code', '')} {exc}":
                raise
            logger.warning(
                "MLflow: the stored parent run %s does not exist at %s; starting a new one", parent_id, self.uri
            )
            return False
        if parent.info.lifecycle_stage != "active":
            return False
        experiment_id = parent.info.experiment_id
        done, leftovers = _sort_children(self.server.children(experiment_id, parent_id), {t.tid for t in loaded})
        self.server.set_status(parent_id, "RUNNING", None)
        self._end_leftovers(leftovers)  # a transient failure up to here redoes the whole resume on the next try
        self.parent_id, self.experiment_id = parent_id, experiment_id
        self.fmin_uuid = parent.data.tags.get("fmin_uuid", self.fmin_uuid)
        writes = self._writes(None)
        old = parent.data.params
        writes.params = {k: v for k, v in writes.params.items() if k not in old}  # params are write-once
        writes.tags["parzen.resumed"] = str(int(parent.data.tags.get("parzen.resumed", "0")) + 1)
        for trial in loaded:
            run_id, status = done.get(trial.tid, (None, None))
            if run_id is not None:
                self.run_of[trial.tid] = run_id
            if status in (None, "RUNNING", "SCHEDULED"):
                self._ended(run, trial, with_params=True)
        return True

    def _end_leftovers(self, leftovers: list[Any]) -> None:
        """Runs a killed or cut-off session left RUNNING without a trial to finish them: KILLED (unused ones deleted).

        A run made ahead of need and never used holds nothing: it is ended and deleted. A
        run that holds data (a trial that was killed before its start was written) is
        ended and kept, so what the objective logged stays visible.
        """
        for _, error in in_parallel(self._end_leftover, leftovers, self.writers):
            if error is not None and not is_permanent(error):
                raise error

    def _end_leftover(self, child: Any) -> None:
        self.server.set_status(child.info.run_id, "KILLED", int(time.time() * 1000))
        if child.info.lifecycle_stage == "active" and _unused(child):
            self.server.delete_run(child.info.run_id)

    def _close_parent(self) -> None:
        """Queue the summary the driver computed at the end (metrics, best trial, status)."""
        summary = self.summary
        assert summary is not None
        writes = self._writes(None)
        writes.metrics.extend(Metric(k, float(v), summary["end_ms"], 0) for k, v in summary["metrics"].items())
        writes.tags.update(summary["tags"])
        best = summary.get("best_tid")
        if best is not None and best in self.run_of:
            writes.tags["best_trial_run_id"] = self.run_of[best]
            writes.tags["mlflow.note.content"] = _best_note(self.uri, self.experiment_id, self.run_of[best], best)
        front = [(tid, self.run_of[tid]) for tid in summary.get("pareto_tids", ()) if tid in self.run_of]
        if front:
            writes.tags["pareto_trial_run_ids"] = _text(",".join(run_id for _, run_id in front), 5000)
            writes.tags["mlflow.note.content"] = _pareto_note(self.uri, self.experiment_id, front)
        writes.status, writes.end_ms = summary["status"], summary["end_ms"]
        self.closed = True

    # ---- child runs -------------------------------------------------------------------

    def _fill_pool(self) -> None:
        """Create child runs ahead of need (in parallel), enough for the trials about to start."""
        want = (self.pool_size if self.primed.is_set() else self.first_fill) - len(self.ready)
        if self.budget is not None:
            want = min(want, self.budget - self.started - len(self.ready))
        if want <= 0 or self.summary is not None:
            return
        made = in_parallel(lambda _: self._new_child(), range(want), 8)
        with self.made:
            self.ready.extend(result for result, error in made if error is None)
            self.stalled = self.stalled and not self.ready
            self.made.notify_all()
        for _, error in made:
            if error is not None:
                raise error

    def _new_child(self) -> tuple[str, str | None]:
        assert self.parent_id is not None and self.experiment_id is not None
        tags = {PARENT_TAG: self.parent_id, "fmin_uuid": self.fmin_uuid}
        run_id, artifact_uri, _ = self.server.create_run(self.experiment_id, tags)
        return run_id, artifact_uri

    def _flush(self, tid: int | None) -> None:
        """One trial's (or the parent's) queued writes: batched, then its terminal status.

        A batch the server refuses (a 4xx: a key or value it does not accept) is written
        item by item, and what it refuses alone is left out with one warning per key; a
        run whose status the server refuses (deleted meanwhile) is given up with a warning.
        Transient failures raise: the writes stay queued for the next try.
        """
        writes = self.pending[tid]
        run_id = self.parent_id if tid is None else self.run_of.get(tid)
        if run_id is None:  # no run was ready when this trial started: make it now
            assert tid is not None
            run_id = self.run_of[tid] = self._new_child()[0]
        params = [Param(k, v) for k, v in writes.params.items()]
        tags = [RunTag(k, v) for k, v in writes.tags.items()]
        metrics = list(writes.metrics)
        for start in range(0, max(len(params), len(tags), len(metrics), 1), BATCH):
            chunk = (params[start : start + BATCH], tags[start : start + BATCH], metrics[start : start + BATCH])
            if any(chunk):
                self._log_batch(run_id, tid, *chunk)
        writes.params.clear()
        writes.tags.clear()
        writes.metrics.clear()
        writes.due = None
        if writes.status is not None:
            self._terminate(run_id, tid, writes.status, writes.end_ms)
            del self.pending[tid]
            if tid is not None:
                with self.lock:
                    self.written.add(tid)
        elif tid is None:
            del self.pending[tid]

    def _log_batch(self, run_id: str, tid: int | None, params: list, tags: list, metrics: list) -> None:
        try:
            self.server.log_batch(run_id, metrics=metrics, params=params, tags=tags)
        except Exception as exc:
            if not is_permanent(exc):
                raise
            for item in (*params, *tags, *metrics):  # find what it refuses: one at a time, only after a refusal
                one = ([item] if isinstance(item, Param) else [], [item] if isinstance(item, RunTag) else [])
                try:
                    self.server.log_batch(run_id, metrics=[item] if isinstance(item, Metric) else [],
                                          params=one[0], tags=one[1])  # fmt: skip
                except Exception as single:
                    if not is_permanent(single):
                        raise
                    self._refused_key(item.key, tid, single)

    def _refused_key(self, key: str, tid: int | None, exc: Exception) -> None:
        with self.lock:
            first = key not in self.refused_keys
            self.refused_keys.setdefault(key, describe(exc))
        if first:
            where = "the fmin run" if tid is None else f"trial {tid}"
            logger.warning(
                "MLflow at %s refused %r of %s (%s); it is left out of the MLflow run (the trials and the store keep "
                "it); later refusals of this key are not said again",
                self.uri,
                key,
                where,
                self.refused_keys[key],
            )

    def _terminate(self, run_id: str, tid: int | None, status: str, end_ms: int | None) -> None:
        try:
            self.server.set_status(run_id, status, end_ms)
        except Exception as exc:
            if not is_permanent(exc):
                raise
            logger.warning("MLflow at %s refused the final status of run %s (%s)", self.uri, run_id, describe(exc))

    def _discard_unused(self) -> None:
        """Child runs made ahead of need and never used: ended (KILLED) and deleted, so they clutter no query."""
        unused = [self.ready.popleft()[0] for _ in range(len(self.ready))]
        if unused:
            in_parallel(self._discard, unused, self.writers)

    def _discard(self, run_id: str) -> None:
        try:
            self.server.set_status(run_id, "KILLED", int(time.time() * 1000))
            self.server.delete_run(run_id)
        except Exception as exc:
            logger.debug("MLflow: could not end unused run %s: %s (a resumed run ends it)", run_id, exc)


def _sort_children(children: list[Any], loaded: set[int]) -> tuple[dict[int, tuple[str, str]], list[Any]]:
    """(tid -> (run id, status) of the loaded trials' runs, runs left RUNNING that no loaded trial owns)."""
    done: dict[int, tuple[str, str]] = {}
    leftovers = []
    for child in children:
        tid = child.data.tags.get(TID_TAG)
        owner = int(tid) if tid is not None and tid.isdigit() and int(tid) in loaded else None
        if owner is not None and child.info.lifecycle_stage == "active" and owner not in done:
            done[owner] = (child.info.run_id, child.info.status)
        elif child.info.lifecycle_stage == "active" and child.info.status in ("RUNNING", "SCHEDULED"):
            leftovers.append(child)
    return done, leftovers


def _unused(child: Any) -> bool:
    """A run that holds nothing but what parzen gave it when it was made ahead of need."""
    ours = {PARENT_TAG, "fmin_uuid"}
    tags = {k for k in child.data.tags if not k.startswith("mlflow.") or k == PARENT_TAG}
    return not child.data.metrics and not child.data.params and tags <= ours


def _learning_curve(trial: Trial, end: float) -> list[Any]:
    """What the objective reported (``parzen.report``) as the step metric ``intermediate_value``.

    A key of its own, not ``loss``: MLflow shows the value at the highest step as a run's
    metric, so a curve under ``loss`` would hide the final loss that queries filter on.
    Steps are MLflow steps when they are integers (MLflow's steps are int64); the
    values are written with the trial's end, in the same batched call.
    """
    return [
        Metric(key, value, int(end * 1000), int(step))
        for step, reported in sorted(trial.intermediate.items())
        for key, value in _curve_points(reported)
        if math.isfinite(value)
    ]


def _curve_points(reported: float | tuple[float, ...]) -> list[tuple[str, float]]:
    """``intermediate_value``, or ``intermediate_value_<i>`` per value of a report of several."""
    if isinstance(reported, tuple):
        return [(f"{CURVE_METRIC}_{i}", float(v)) for i, v in enumerate(reported)]
    return [(CURVE_METRIC, float(reported))]


def _parent_params(run: RunInfo) -> dict[str, str]:
    return {
        "max_evals": str(run.max_evals),
        "parallelism": str(run.parallelism),
        "actual_parallelism": str(run.actual_parallelism),
        "timeout": str(run.timeout),
        "algo": run.algo_name,
        "max_queue_len": str(run.max_queue_len),
    }


def _space_text(run: RunInfo) -> str:
    text = json.dumps(run.space.describe(), default=str)
    limit = _tag_limit()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _summary(run: RunInfo, error: BaseException | None, keys: dict[str, str] | None = None) -> dict[str, Any]:
    """The parent run's closing metrics and tags, computed on the driver thread."""
    records = run.trials.records
    ok = sum(1 for t in records if t.losses is not None)
    cancelled = sum(1 for t in records if t.state in (TrialState.CANCELLED, TrialState.INTERRUPTED))
    metrics: dict[str, float] = {
        "successful_trials_count": ok,
        "failed_trials_count": sum(1 for t in records if trial_run_status(t)[0] == "FAILED"),
        "cancelled_trials_count": cancelled,
        "total_trials_count": len(records),
    }
    tags: dict[str, str] = {}
    best_tid = None
    if run.trials.multi_objective:
        front = _pareto_summary(run, metrics, tags)
        status = "FINISHED" if error is None else ("KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED")
        if run.stop_reason:
            tags["stop_reason"] = _text(run.stop_reason, 1000)
        return {"metrics": metrics, "tags": tags, "best_tid": None, "pareto_tids": front, "status": status,
                "end_ms": int(time.time() * 1000)}  # fmt: skip
    if run.trials.best_loss is not None and math.isfinite(run.trials.best_loss):
        best = min((t for t in records if t.loss is not None), key=lambda t: t.loss or 0.0)
        best_tid = best.tid
        metrics["best_trial_loss"] = run.trials.best_loss
        tags["best_trial_tid"] = str(best.tid)
        for key, value in trial_params(best, run, keys).items():
            if not key.endswith(".index"):
                tags[f"best.{key}"] = value
    if run.stop_reason:
        tags["stop_reason"] = _text(run.stop_reason, 1000)
    status = "FINISHED" if error is None else ("KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED")
    return {"metrics": metrics, "tags": tags, "best_tid": best_tid, "status": status, "end_ms": int(time.time() * 1000)}


MAX_EXACT_FRONT = 200  # beyond three objectives, the parent's hypervolume is computed up to this front size


def _pareto_summary(run: RunInfo, metrics: dict[str, float], tags: dict[str, str]) -> list[int]:
    """The parent's Pareto metrics and tags for a run of several objectives; the front's tids.

    ``pareto_size`` counts the feasible Pareto-optimal trials; ``hypervolume`` is theirs
    against ``hypervolume_reference``: the worst feasible ok value of each objective plus
    a tenth of its range (so the front's extreme trials count too); left out beyond three
    objectives when the front has more than `MAX_EXACT_FRONT` trials (the exact volume's
    cost grows fast there). Nothing feasible: no front, and ``feasible_trials_count`` says 0.
    """
    ok = [t for t in run.trials.records if t.losses is not None]
    feasible = [t for t in ok if t.feasible]
    metrics["feasible_trials_count"] = len(feasible)
    try:
        front = run.trials.best_trials
    except ParzenError:  # nothing ok, or nothing feasible
        return []
    points = np.array([t.losses for t in feasible], dtype=float)
    reference = points.max(axis=0) + 0.1 * np.maximum(np.ptp(points, axis=0), 1e-12)
    metrics["pareto_size"] = len(front)
    if points.shape[1] <= 3 or len(front) <= MAX_EXACT_FRONT:
        metrics["hypervolume"] = hypervolume(np.array([t.losses for t in front], dtype=float), reference)
        tags["hypervolume_reference"] = json.dumps([float(v) for v in reference])
    tags["pareto_trial_tids"] = _text(",".join(str(t.tid) for t in front), 5000)
    return [t.tid for t in front]


def _pareto_note(uri: str, experiment_id: str | None, front: list[tuple[int, str]]) -> str:
    """The parent run's description for several objectives: links to the Pareto-optimal child runs."""
    shown = front[:50]
    links = ", ".join(f"[trial {tid}]({_run_link(uri, experiment_id, run_id)})" for tid, run_id in shown)
    more = f" and {len(front) - len(shown)} more (tag pareto_trial_run_ids)" if len(front) > len(shown) else ""
    return f"Pareto-optimal trials ({len(front)}): {links}{more}"


def _run_link(uri: str, experiment_id: str | None, run_id: str) -> str:
    if uri.startswith(("http://", "https://")):
        return f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
    return f"#/experiments/{experiment_id}/runs/{run_id}"


def _outcome_metrics(trial: Trial, run: RunInfo, end_ms: int) -> list[Any]:
    """A child run's result metrics: ``loss``; with several objectives ``loss_<name>`` per objective
    (names mapped to keys MLflow accepts); with constraints ``constraint_<i>`` and ``feasible`` (1 or 0)."""
    metrics = []
    losses = trial.losses
    if losses is not None and len(losses) > 1:
        names = run.trials.objectives or tuple(f"loss {i}" for i in range(len(losses)))
        keys = _objective_keys(tuple(names))
        metrics += [Metric(key, float(v), end_ms, 0) for key, v in zip(keys, losses) if math.isfinite(v)]
    elif trial.loss is not None:
        metrics.append(Metric("loss", float(trial.loss), end_ms, 0))
    if losses is not None and trial.constraints:
        metrics += [Metric(f"constraint_{i}", float(c), end_ms, 0) for i, c in enumerate(trial.constraints)]
        metrics.append(Metric("feasible", 1.0 if trial.feasible else 0.0, end_ms, 0))
    return metrics


@functools.lru_cache(maxsize=16)
def _objective_keys(names: tuple[str, ...]) -> tuple[str, ...]:
    """``loss_<name>`` per objective, as keys MLflow accepts (see `parzen.tracking._keys`)."""
    wanted = [f"loss_{name}".replace(" ", "_") for name in names]
    keys = mlflow_keys(wanted)
    return tuple(keys[w] for w in wanted)


def _best_note(uri: str, experiment_id: str | None, run_id: str, tid: int) -> str:
    """The parent run's description: a link to the best child run (clickable in the MLflow UI)."""
    return f"Best trial: [trial {tid}]({_run_link(uri, experiment_id, run_id)}) (run `{run_id}`)"
