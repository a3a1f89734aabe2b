"""Trial records and `Trials`, with hyperopt's views on top.

A `Trial` is a plain record: its flat parameters (active labels only, a choice as its
index), its state, and the objective's result. `Trials` keeps them in order, keeps a
columnar copy of parameters and losses for the algorithms (`History`), and offers the
views hyperopt users know (``trials.trials``, ``losses()``, ``argmin``...) plus
``best_params`` and ``to_dataframe()``.

Only the driver thread mutates a `Trials`; executors hand results back to it.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from parzen.exceptions import AllTrialsFailed, InvalidArgument, UnknownTrial
from parzen.space import Categorical, CompiledSpace, compile_space

STATUS_NEW = "new"
STATUS_RUNNING = "running"
STATUS_SUSPENDED = "suspended"
STATUS_OK = "ok"
STATUS_FAIL = "fail"
STATUS_STRINGS = (STATUS_NEW, STATUS_RUNNING, STATUS_SUSPENDED, STATUS_OK, STATUS_FAIL)


class TrialState(enum.IntEnum):
    """Where a trial is in its life. Values 0-4 are hyperopt's ``JOB_STATE_*`` codes."""

    NEW = 0
    RUNNING = 1
    DONE = 2  # the objective returned (status ok or fail)
    ERROR = 3  # the objective raised, its worker died, or it returned garbage
    CANCELLED = 4  # stopped by a stop rule, a trial timeout or Ctrl-C
    INTERRUPTED = 5  # was running when the driver died; its budget is run again

    @property
    def finished(self) -> bool:
        """Finished trials count towards ``max_evals``; cancelled ones do not."""
        return self in (TrialState.DONE, TrialState.ERROR)


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
    stdout: str = ""
    stderr: str = ""
    attempts: int = 1
    attachments: dict[str, Any] = field(default_factory=dict)

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
            "state": int(min(self.state, TrialState.CANCELLED)),
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


def _datetime(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


class History:
    """Columns of all trials for algorithms: one float array per label, NaN when inactive.

    ``loss`` is NaN unless the trial finished with status ok; ``state`` holds
    `TrialState` codes, so running trials are visible (``state == RUNNING``).
    Arrays are read-only views; algorithms must treat them as such.
    """

    def __init__(self, columns: dict[str, np.ndarray], loss: np.ndarray, state: np.ndarray, rows: list[dict]):
        self._columns = columns
        self.loss = loss
        self.state = state
        self._rows = rows

    @property
    def rows(self) -> list[dict]:
        """The flat parameters of each trial, as dicts (only grid search needs them)."""
        return self._rows[: len(self.state)]

    def __len__(self) -> int:
        return len(self.state)

    def values(self, label: str) -> np.ndarray:
        """Values of `label` across trials (NaN where inactive or never seen)."""
        column = self._columns.get(label)
        if column is None:
            return np.full(len(self.state), np.nan)
        return column

    @property
    def running(self) -> np.ndarray:
        return self.state == TrialState.RUNNING


class _Columns:
    """Growable columnar storage behind `History` (amortised O(1) append)."""

    def __init__(self) -> None:
        self.n = 0
        self.capacity = 16
        self.loss = np.full(self.capacity, np.nan)
        self.state = np.zeros(self.capacity, dtype=np.int8)
        self.columns: dict[str, np.ndarray] = {}
        self.rows: list[dict] = []

    def _grow(self) -> None:
        self.capacity *= 2
        self.loss = _resized(self.loss, self.capacity, np.nan)
        self.state = _resized(self.state, self.capacity, 0)
        self.columns = {k: _resized(v, self.capacity, np.nan) for k, v in self.columns.items()}

    def append(self, params: Mapping[str, Any], state: TrialState) -> int:
        if self.n == self.capacity:
            self._grow()
        row = self.n
        for label, value in params.items():
            column = self.columns.get(label)
            if column is None:
                column = self.columns[label] = np.full(self.capacity, np.nan)
            column[row] = value
        self.state[row] = state
        self.rows.append(params)  # the trial's own dict, not a copy
        self.n += 1
        return row

    def update(self, row: int, loss: float | None, state: TrialState) -> None:
        self.loss[row] = np.nan if loss is None else loss
        self.state[row] = state

    def view(self) -> History:
        n = self.n
        columns = {k: _readonly(v[:n]) for k, v in self.columns.items()}
        return History(columns, _readonly(self.loss[:n]), _readonly(self.state[:n]), self.rows)


def _resized(a: np.ndarray, size: int, fill: Any) -> np.ndarray:
    out = np.full(size, fill, dtype=a.dtype)
    out[: len(a)] = a
    return out


def _readonly(a: np.ndarray) -> np.ndarray:
    a = a.view()
    a.setflags(write=False)
    return a


class Trials:
    """All trials of an experiment, in memory (and in a store when one is attached).

    hyperopt's views (``trials.trials``, ``results``, ``losses()``, ``statuses()``,
    ``best_trial``, ``argmin``, ``vals``, ``idxs``, ``tids``, ``len()``) are kept;
    ``best_params`` and ``to_dataframe()`` are new.
    """

    asynchronous = False

    def __init__(self, exp_key: str | None = None, refresh: bool = True):
        self._records: dict[int, Trial] = {}
        self._rows: dict[int, int] = {}
        self._tid_of_row: list[int] = []
        self._columns = _Columns()
        self._next_tid = 0
        self._docs: dict[int, dict] = {}
        self._docs_list: tuple[int, list[dict]] | None = None
        self._version = 0
        self.attachments: dict[str, Any] = {}
        self.exp_key = exp_key
        self.space: CompiledSpace | None = None
        self.store = None  # a parzen.store.TrialStore once persistence is on
        self.last_finished: Trial | None = None  # the trial most recently told

    # ---- recording (driver thread only) -----------------------------------------

    def new(self, params: Mapping[str, Any], state: TrialState = TrialState.RUNNING) -> Trial:
        """Record a new trial with flat `params` and return it (persisted first)."""
        trial = Trial(tid=self._next_tid, params=dict(params), state=state, refresh_time=time.time())
        if self.store is not None:  # on disk first: a failed write leaves no phantom trial
            self.store.save(trial)
        self._add(trial)
        return trial

    def _add(self, trial: Trial) -> None:
        """Put an existing record (new, or loaded from a store) in memory."""
        self._records[trial.tid] = trial
        row = self._rows[trial.tid] = self._columns.append(trial.params, trial.state)
        self._tid_of_row.append(trial.tid)
        if trial.loss is not None:  # loaded from a store
            self._columns.update(row, trial.loss, trial.state)
        self._next_tid = max(self._next_tid, trial.tid + 1)
        self._changed(trial.tid)

    def finish(self, tid: int, outcome: Mapping[str, Any]) -> Trial:
        """Record what the executor reported for trial `tid` (see ``executors._task``)."""
        trial = self._running(tid)
        result = dict(outcome.get("result") or {})
        trial.attachments.update(result.pop("attachments", None) or {})
        trial.error = outcome.get("error")
        trial.state = TrialState.ERROR if outcome.get("errored") else TrialState.DONE
        trial.result = result
        trial.start_time = outcome.get("start_time")
        trial.end_time = outcome.get("end_time")
        trial.host = outcome.get("host")
        trial.stdout = outcome.get("stdout", "")
        trial.stderr = outcome.get("stderr", "")
        trial.attempts = outcome.get("attempts", trial.attempts)
        self._settle(trial)
        self.last_finished = trial
        return trial

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
        return int(np.isin(self._columns.state[: self._columns.n], [int(s) for s in states]).sum())

    @property
    def n_finished(self) -> int:
        return self.count(TrialState.DONE, TrialState.ERROR)

    @property
    def n_running(self) -> int:
        return self.count(TrialState.RUNNING)

    @property
    def n_failed(self) -> int:
        finished = self.n_finished
        ok = int(np.count_nonzero(~np.isnan(self._columns.loss[: self._columns.n])))
        return finished - ok

    @property
    def best_loss(self) -> float | None:
        losses = self._columns.loss[: self._columns.n]
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

    def _best_record(self) -> Trial:
        losses = self._columns.loss[: self._columns.n]
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

    def average_best_error(self) -> float:
        """Loss of the best ok trial (hyperopt's helper, without true_loss averaging)."""
        return float(self._best_record().loss)

    def trial_attachments(self, trial: Mapping[str, Any] | Trial) -> dict[str, Any]:
        """Attachments returned by a trial's objective (``result['attachments']``)."""
        tid = trial.tid if isinstance(trial, Trial) else trial["tid"]
        return self.record(tid).attachments

    def count_by_state_unsynced(self, arg: int | list[int]) -> int:
        states = [arg] if isinstance(arg, int) else list(arg)
        return self.count(*[TrialState(s) for s in states])

    count_by_state_synced = count_by_state_unsynced

    def refresh(self) -> None:
        """Kept for hyperopt compatibility: parzen's views are always current."""

    def to_dataframe(self):
        """One row per trial: tid, state, status, loss, times, error and ``params_<label>``.

        A choice column holds the chosen option when it is a plain value (``"gini"``),
        else its index.
        """
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover - pandas ships with pyspark users
            raise ImportError("Trials.to_dataframe() needs pandas: pip install pandas") from e
        rows = [self._frame_row(t) for t in self._records.values()]
        return pd.DataFrame(rows)

    def _frame_row(self, trial: Trial) -> dict[str, Any]:
        row: dict[str, Any] = {
            "tid": trial.tid,
            "state": trial.state.name.lower(),
            "status": trial.result.get("status"),
            "loss": trial.result.get("loss", math.nan),
            "book_time": _datetime(trial.book_time),
            "duration": trial.duration,
            "error": trial.error,
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

    def make_executor(self, fn: Any, max_queue_len: int, catch_eval_exceptions: bool, max_evals: int | None = None):
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
