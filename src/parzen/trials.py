"""Trial records and `Trials`, with hyperopt's views on top.

A `Trial` is a plain record: its flat parameters (active labels only, a choice as its
index), its state, and the objective's result. `Trials` keeps them in order, keeps a
columnar copy of parameters and losses for the algorithms (`parzen.history`), writes
every change through to its store when one is attached, and offers the views hyperopt
users know (``trials.trials``, ``losses()``, ``argmin``...) plus ``best_params`` and
``to_dataframe()``.

Only the driver thread mutates a `Trials`; executors hand `Outcome`s back to it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from parzen.exceptions import AllTrialsFailed, InvalidArgument, StoreError, UnknownTrial
from parzen.executors._task import Outcome
from parzen.history import FINISHED_STATES, Columns, History, TrialState
from parzen.space import Categorical, CompiledSpace, compile_space

if TYPE_CHECKING:
    from parzen.executors.base import Executor
    from parzen.store import TrialStore

__all__ = [
    "JOB_STATES",
    "STATUS_FAIL",
    "STATUS_NEW",
    "STATUS_OK",
    "STATUS_RUNNING",
    "STATUS_STRINGS",
    "STATUS_SUSPENDED",
    "History",
    "Trial",
    "TrialState",
    "Trials",
]

STATUS_NEW = "new"
STATUS_RUNNING = "running"
STATUS_SUSPENDED = "suspended"
STATUS_OK = "ok"
STATUS_FAIL = "fail"
STATUS_STRINGS = (STATUS_NEW, STATUS_RUNNING, STATUS_SUSPENDED, STATUS_OK, STATUS_FAIL)


JOB_STATE_NEW, JOB_STATE_RUNNING, JOB_STATE_DONE, JOB_STATE_ERROR, JOB_STATE_CANCEL = range(5)
JOB_STATES = [JOB_STATE_NEW, JOB_STATE_RUNNING, JOB_STATE_DONE, JOB_STATE_ERROR, JOB_STATE_CANCEL]


@dataclass
class Trial:
    """One evaluation of the objective."""

    tid: int
    params: dict[str, Any]
    state: TrialState = TrialState.RUNNING
    result: dict[str, Any] = field(default_factory=lambda: {"status": STATUS_RUNNING})
    book_time: float = field(default_factory=time.time)
    refresh_time: float | None = None
    start_time: float | None = None  # when the objective started (executor clock)
    end_time: float | None = None
    error: str | None = None  # traceback or reason of an ERROR/CANCELLED trial
    host: str | None = None
    worker: str | None = None  # "host:pid" of the Python worker that ran it
    stdout: str = ""
    stderr: str = ""
    attempts: int = 1
    attachments: MutableMapping[str, Any] = field(default_factory=dict)  # a stored trial's are read lazily
    intermediate: dict[int, float] = field(default_factory=dict)  # step -> value the objective reported

    @property
    def loss(self) -> float | None:
        """The loss of an ok trial, else None."""
        if self.state == TrialState.DONE and self.result.get("status") == STATUS_OK:
            return self.result.get("loss")
        return None

    @property
    def duration(self) -> float | None:
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time

    def as_hyperopt_doc(self, labels: tuple[str, ...]) -> dict[str, Any]:
        """The trial document hyperopt produced, with ``misc.vals`` / ``misc.idxs``."""
        vals = {k: ([self.params[k]] if k in self.params else []) for k in labels}
        idxs = {k: ([self.tid] if k in self.params else []) for k in labels}
        misc: dict[str, Any] = {
            "tid": self.tid,
            "cmd": ("domain_attachment", "FMinIter_Domain"),
            "workdir": None,
            "idxs": idxs,
            "vals": vals,
        }
        if self.error is not None:
            misc["error"] = (self.result.get("error_type", "Error"), self.error)
        return {
            "state": int(_HYPEROPT_STATE.get(self.state, self.state)),
            "tid": self.tid,
            "spec": None,
            "result": self.result,
            "misc": misc,
            "exp_key": None,
            "owner": None,
            "version": 0,
            "book_time": _datetime(self.book_time),
            "refresh_time": _datetime(self.refresh_time),
        }


# hyperopt has no pruned or interrupted jobs: a pruned trial is done (with status fail),
# an interrupted one was cancelled.
_HYPEROPT_STATE = {TrialState.PRUNED: TrialState.DONE, TrialState.INTERRUPTED: TrialState.CANCELLED}


def _pandas(what: str) -> Any:
    try:
        import pandas as pd
    except ImportError as e:  # pragma: no cover - pandas ships with pyspark users
        raise ImportError(f"Trials.{what}() needs pandas: pip install pandas") from e
    return pd


def _finished_state(outcome: Outcome) -> TrialState:
    if outcome.get("errored"):
        return TrialState.ERROR
    return TrialState.PRUNED if outcome.get("pruned") else TrialState.DONE


def _datetime(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


class Trials:
    """All trials of an experiment, in memory (and in a store when one is attached).

    hyperopt's views (``trials.trials``, ``results``, ``losses()``, ``statuses()``,
    ``best_trial``, ``argmin``, ``vals``, ``idxs``, ``tids``, ``len()``) are kept;
    ``best_params`` and ``to_dataframe()`` are new.
    """

    asynchronous = False
    timeout: float | None = None  # a run-time limit of the trials object (SparkTrials has one)
    loss_threshold: float | None = None

    def __init__(self, exp_key: str | None = None, refresh: bool = True):
        self._records: dict[int, Trial] = {}
        self._rows: dict[int, int] = {}
        self._tid_of_row: list[int] = []
        self._columns = Columns()
        self._next_tid = 0
        self._docs: dict[int, dict[str, Any]] = {}
        self._docs_list: tuple[int, list[dict[str, Any]]] | None = None
        self._version = 0
        self.attachments: dict[str, Any] = {}
        self.exp_key = exp_key
        self.space: CompiledSpace | None = None
        self.store: TrialStore | None = None  # set by attach_store: every change is written through
        self.last_finished: Trial | None = None  # the trial most recently told

    # ---- persistence -------------------------------------------------------------------

    def attach_store(self, store: TrialStore) -> None:
        """Write every trial through to `store` from now on (held trials are written first).

        A store that already holds trials is loaded with `load_records` instead; mixing
        both would merge two experiments, so it is refused.
        """
        if self.store is store:
            return
        if self.store is not None:
            self.store.close()
            self.store = None
        for trial in self._records.values():
            store.save(trial)
        self.store = store

    def detach_store(self) -> None:
        """Stop writing through (the store is closed); the trials stay in memory."""
        if self.store is not None:
            self.store.close()
            self.store = None

    def load_records(self, records: Iterable[Trial]) -> None:
        """Put existing records (read from a store) in memory, in tid order."""
        for trial in records:
            if trial.tid in self._records:
                raise StoreError(f"trial {trial.tid} is loaded twice; a tid is unique within an experiment")
            self._add(trial)

    @classmethod
    def from_points(cls, points: Iterable[Any], space: Any) -> Trials:
        """Trials holding known results, recorded without running anything (warm start).

        `points` is ``[(params, loss_or_result), ...]``: `params` flat ``{label: value}``
        (a choice as its index, as ``fmin`` returns it), the second item a loss or a
        result dict (``{"loss": ..., "status": "ok"}``, or ``{"status": "fail"}``).
        ``fmin(..., trials=Trials.from_points(known, space))`` continues from them: TPE
        learns from them and ``max_evals`` counts them.
        """
        from parzen.migrate import records_from_points

        trials = cls()
        trials.load_records(records_from_points(points, trials.attach_space(space)))
        return trials

    # ---- hyperopt's trial documents in (see parzen.migrate) ------------------------------

    def insert_trial_docs(self, docs: Iterable[Mapping[str, Any]]) -> list[int]:
        """Add hyperopt trial documents, validated (`InvalidTrial`) and visible at once (no refresh needed)."""
        from parzen.migrate import records_from_docs

        records = records_from_docs(docs)
        clash = [r.tid for r in records if r.tid in self._records]
        if clash:
            raise StoreError(f"trials {clash} already exist; a tid is unique within an experiment")
        for trial in records:
            if self.store is not None:
                self.store.save(trial, new=True)
            self._add(trial)
        return [r.tid for r in records]

    def insert_trial_doc(self, doc: Mapping[str, Any]) -> int:
        """Add one hyperopt trial document (see `insert_trial_docs`)."""
        return self.insert_trial_docs([doc])[0]

    def new_trial_ids(self, n: int) -> list[int]:
        """Reserve `n` fresh tids (hyperopt's API, for code that builds trial documents)."""
        start = self._next_tid
        self._next_tid += n
        return list(range(start, start + n))

    def new_trial_docs(self, tids: list, specs: list, results: list, miscs: list) -> list[dict[str, Any]]:
        """NEW trial documents as hyperopt built them, for `insert_trial_docs`."""
        if not len(tids) == len(specs) == len(results) == len(miscs):
            raise InvalidArgument("new_trial_docs needs tids, specs, results and miscs of the same length")
        return [
            {
                "state": int(TrialState.NEW),
                "tid": tid,
                "spec": spec,
                "result": result,
                "misc": misc,
                "exp_key": self.exp_key,
                "owner": None,
                "version": 0,
                "book_time": None,
                "refresh_time": None,
            }
            for tid, spec, result, misc in zip(tids, specs, results, miscs)
        ]

    # ---- recording (driver thread only) -----------------------------------------

    def new(self, params: Mapping[str, Any], state: TrialState = TrialState.RUNNING) -> Trial:
        """Record a new trial with flat `params` and return it (persisted first)."""
        trial = Trial(tid=self._next_tid, params=dict(params), state=state, refresh_time=time.time())
        if self.store is not None:  # on disk first: a failed write leaves no phantom trial
            self.store.save(trial, new=True)
        self._add(trial)
        return trial

    def _add(self, trial: Trial) -> None:
        """Put a record in memory and in the history columns."""
        self._records[trial.tid] = trial
        row = self._rows[trial.tid] = self._columns.append(trial.params, trial.state)
        for step, value in sorted(trial.intermediate.items()):
            self._columns.report(row, step, value)
        self._tid_of_row.append(trial.tid)
        if trial.state != TrialState.RUNNING:  # loaded from a store
            self._columns.update(row, trial.loss, trial.state)
        self._next_tid = max(self._next_tid, trial.tid + 1)
        self._changed(trial.tid)

    def start(self, tid: int) -> Trial:
        """A NEW trial (a point queued by `generate_trials_to_calculate`) starts running."""
        trial = self.record(tid)
        if trial.state != TrialState.NEW:
            raise UnknownTrial(f"trial {tid} is {trial.state.name.lower()}; only a new trial can start")
        trial.state = TrialState.RUNNING
        trial.result = {"status": STATUS_RUNNING}
        self._settle(trial)
        return trial

    def finish(self, tid: int, outcome: Outcome) -> Trial:
        """Record what the executor reported for running trial `tid`."""
        trial = self._running(tid)
        result = dict(outcome.get("result") or {})
        trial.attachments.update(result.pop("attachments", None) or {})
        trial.error = outcome.get("error")
        trial.state = _finished_state(outcome)
        trial.result = result
        trial.start_time = outcome.get("start_time")
        trial.end_time = outcome.get("end_time")
        trial.host = outcome.get("host")
        pid = outcome.get("pid")
        trial.worker = f"{trial.host}:{pid}" if pid is not None else None
        trial.stdout = outcome.get("stdout", "")
        trial.stderr = outcome.get("stderr", "")
        trial.attempts = outcome.get("attempts", trial.attempts)
        self.last_finished = trial
        self._settle(trial)
        return trial

    def report(self, tid: int, step: int, value: float) -> bool:
        """Record a running trial's intermediate `value` at `step`; False if that step was reported already.

        The first value reported at a step is kept (a repeated report is ignored),
        in memory, in the history columns and in the store.
        """
        trial = self._running(tid)
        if step in trial.intermediate:
            return False
        trial.intermediate[step] = value
        self._columns.report(self._rows[tid], step, value)
        if self.store is not None:
            self.store.save_intermediate(tid, step, value)
        return True

    def cancel(self, tid: int, reason: str, state: TrialState = TrialState.CANCELLED) -> Trial:
        """Mark a running trial cancelled (or interrupted); it does not count as finished."""
        trial = self._running(tid)
        trial.state = state
        trial.error = reason
        trial.result = {"status": STATUS_FAIL, "error": reason}
        self._settle(trial)
        return trial

    def _running(self, tid: int) -> Trial:
        trial = self._records.get(tid)
        if trial is None:
            raise UnknownTrial(f"no trial with tid {tid!r}; known tids are 0..{self._next_tid - 1}")
        if trial.state != TrialState.RUNNING:
            raise UnknownTrial(f"trial {tid} is already {trial.state.name.lower()}; a trial is told once")
        return trial

    def _settle(self, trial: Trial) -> None:
        """A trial changed: memory first (never lost), then the store."""
        trial.refresh_time = time.time()
        self._columns.update(self._rows[trial.tid], trial.loss, trial.state)
        self._changed(trial.tid)
        if self.store is not None:
            self.store.save(trial)

    def _changed(self, tid: int | None = None) -> None:
        """Invalidate the cached hyperopt document of `tid` (of all trials if None)."""
        self._version += 1
        if tid is None:
            self._docs.clear()
        else:
            self._docs.pop(tid, None)

    # ---- what algorithms and the loop read -------------------------------------

    def history(self) -> History:
        """Columnar snapshot of every trial, running ones included."""
        return self._columns.view()

    def get(self, tid: int) -> Trial | None:
        """The record of trial `tid`, or None if there is none."""
        return self._records.get(tid)

    def record(self, tid: int) -> Trial:
        try:
            return self._records[tid]
        except KeyError:
            raise UnknownTrial(f"no trial with tid {tid!r}") from None

    @property
    def records(self) -> list[Trial]:
        """The `Trial` records in creation order."""
        return list(self._records.values())

    def count(self, *states: TrialState) -> int:
        """How many trials are in one of `states`."""
        return self._columns.count(*states)

    @property
    def n_finished(self) -> int:
        """Trials that count towards ``max_evals`` (done, errored or pruned)."""
        return self.count(*FINISHED_STATES)

    @property
    def n_running(self) -> int:
        return self.count(TrialState.RUNNING)

    @property
    def n_failed(self) -> int:
        finished = self.n_finished
        ok = int(np.count_nonzero(~np.isnan(self._columns.losses())))
        return finished - ok - self.count(TrialState.PRUNED)

    @property
    def best_loss(self) -> float | None:
        losses = self._columns.losses()
        return None if np.isnan(losses).all() else float(np.nanmin(losses))

    # ---- hyperopt's views ---------------------------------------------------------

    def _labels(self) -> tuple[str, ...]:
        if self.space is not None:
            return self.space.labels
        return tuple(self._columns.columns)

    @property
    def trials(self) -> list[dict[str, Any]]:
        """hyperopt-style trial documents (rebuilt only after a change)."""
        if self._docs_list is None or self._docs_list[0] != self._version:
            labels = self._labels()
            docs = self._docs
            for tid, t in self._records.items():
                if tid not in docs:
                    docs[tid] = t.as_hyperopt_doc(labels)
            self._docs_list = (self._version, list(docs[tid] for tid in self._records))
        return self._docs_list[1]

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.trials)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.trials[index]

    @property
    def tids(self) -> list[int]:
        return list(self._records)

    @property
    def results(self) -> list[dict[str, Any]]:
        return [t.result for t in self._records.values()]

    @property
    def miscs(self) -> list[dict[str, Any]]:
        return [doc["misc"] for doc in self.trials]

    @property
    def specs(self) -> list[None]:
        return [None] * len(self._records)

    def losses(self, bandit: Any = None) -> list[float | None]:
        return [t.result.get("loss") for t in self._records.values()]

    def statuses(self, bandit: Any = None) -> list[str | None]:
        return [t.result.get("status") for t in self._records.values()]

    @property
    def vals(self) -> dict[str, list]:
        out: dict[str, list] = {k: [] for k in self._labels()}
        for t in self._records.values():
            for k, v in t.params.items():
                out.setdefault(k, []).append(v)
        return out

    @property
    def idxs(self) -> dict[str, list[int]]:
        out: dict[str, list] = {k: [] for k in self._labels()}
        for t in self._records.values():
            for k in t.params:
                out.setdefault(k, []).append(t.tid)
        return out

    @property
    def idxs_vals(self) -> tuple[dict[str, list[int]], dict[str, list]]:
        """``(idxs, vals)`` together, as hyperopt's property."""
        return self.idxs, self.vals

    def _best_record(self) -> Trial:
        losses = self._columns.losses()
        if np.isnan(losses).all():
            raise AllTrialsFailed(self._all_failed_message())
        return self._records[self._tid_of_row[int(np.nanargmin(losses))]]

    def _all_failed_message(self) -> str:
        finished = [t for t in self._records.values() if t.state.finished]
        if not finished:
            return "there are no finished trials, so there is no best trial"
        first = finished[0]
        why = first.error or first.result.get("error") or f"result {first.result!r}"
        return (
            f"all {len(finished)} finished trials failed; none has status 'ok' with a finite loss. "
            f"The first failure (trial {first.tid}):\n{why}"
        )

    @property
    def best_trial(self) -> dict[str, Any]:
        """The document of the ok trial with the lowest loss (`AllTrialsFailed` if none)."""
        best = self._best_record()
        self.trials  # noqa: B018 - fills the document cache
        return self._docs[best.tid]

    @property
    def argmin(self) -> dict[str, Any]:
        """Flat parameters of the best trial; a choice is given as its index (hyperopt)."""
        return dict(self._best_record().params)

    @property
    def best_params(self) -> Any:
        """The best point as the objective received it: choices as values, not indices."""
        if self.space is None:
            raise InvalidArgument("best_params needs the search space: run fmin with these trials first")
        return self.space.eval(self.argmin)

    def average_best_error(self, bandit: Any = None) -> float:
        """Loss of the best ok trial (hyperopt's helper, without its true_loss averaging; `bandit` is ignored)."""
        loss = self._best_record().loss
        assert loss is not None  # the best record is an ok trial
        return loss

    def trial_attachments(self, trial: Mapping[str, Any] | Trial) -> MutableMapping[str, Any]:
        """Attachments returned by a trial's objective (``result['attachments']``); a stored trial's
        are read from the store when asked for."""
        tid = trial.tid if isinstance(trial, Trial) else trial["tid"]
        return self.record(tid).attachments

    def count_by_state_unsynced(self, arg: int | list[int]) -> int:
        states = [arg] if isinstance(arg, int) else list(arg)
        return self.count(*[TrialState(s) for s in states])

    count_by_state_synced = count_by_state_unsynced

    def refresh(self) -> None:
        """Kept for hyperopt compatibility: parzen's views are always current."""

    def to_dataframe(self) -> Any:
        """One row per trial: tid, state, status, loss, times, error and ``params_<label>``.

        A choice column holds the chosen option when it is a plain value (``"gini"``),
        else its index. ``steps`` and ``last_value`` say how far a trial that reported
        intermediate values got (see `intermediate_dataframe` for the curves).
        """
        return _pandas("to_dataframe").DataFrame([self._frame_row(t) for t in self._records.values()])

    def intermediate_dataframe(self) -> Any:
        """Every intermediate value reported (``parzen.report``): one row per tid, step, value, state."""
        rows = [
            {"tid": t.tid, "step": step, "value": value, "state": t.state.name.lower()}
            for t in self._records.values()
            for step, value in sorted(t.intermediate.items())
        ]
        return _pandas("intermediate_dataframe").DataFrame(rows, columns=["tid", "step", "value", "state"])

    def _frame_row(self, trial: Trial) -> dict[str, Any]:
        row: dict[str, Any] = {
            "tid": trial.tid,
            "state": trial.state.name.lower(),
            "status": trial.result.get("status"),
            "loss": trial.result.get("loss", math.nan),
            "book_time": _datetime(trial.book_time),
            "duration": trial.duration,
            "error": trial.error,
            "steps": len(trial.intermediate),
            "last_value": trial.intermediate[max(trial.intermediate)] if trial.intermediate else math.nan,
        }
        for label in self._labels():
            row[f"params_{label}"] = self._display_value(label, trial.params.get(label))
        return row

    def _display_value(self, label: str, value: Any) -> Any:
        param = self.space.params.get(label) if self.space is not None else None
        if isinstance(param, Categorical) and value is not None:
            option = param.options[int(value)]
            if option is None or isinstance(option, (str, int, float, bool)):
                return option
        return value

    # ---- fmin hooks -------------------------------------------------------------------

    def attach_space(self, space: Any) -> CompiledSpace:
        """Remember the space of the experiment (for views and best_params)."""
        self.space = compile_space(space)
        self._changed()
        return self.space

    def make_executor(
        self, fn: Any, max_queue_len: int, catch_eval_exceptions: bool, max_evals: int | None = None
    ) -> Executor:
        """The executor `fmin` runs trials on: in-process for plain `Trials`."""
        from parzen.executors.serial import SerialExecutor

        return SerialExecutor(fn, capacity=max_queue_len, catch_exceptions=catch_eval_exceptions)

    def fmin(self, fn, space, **kwargs):
        """``trials.fmin(fn, space, ...)`` as in hyperopt: `fmin` with these trials."""
        from parzen.fmin import fmin

        return fmin(fn, space, trials=self, allow_trials_fmin=False, **kwargs)

    def delete_all(self) -> None:
        """Forget every trial (refused when a store keeps them: delete the file instead)."""
        if self.store is not None:
            raise InvalidArgument("delete_all() is refused on a Trials backed by a store; delete the store file")
        Trials.__init__(self, exp_key=self.exp_key)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__}: {len(self)} trials, {self.n_finished} finished, "
            f"{self.n_failed} failed, best loss {self.best_loss}>"
        )
