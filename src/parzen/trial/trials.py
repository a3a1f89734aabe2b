"""`Trials` (the core): all trials of an experiment, their state machine, history columns and store write-through.

Only the driver thread changes a `Trials`; executors hand `Outcome`s back to it. Each
change replaces the trial's frozen `Trial` record, updates the columns algorithms read
(`History`) and, when a store is attached, writes the record through (memory first,
so a failing disk never loses a finished trial; see `parzen.storage`).

hyperopt's views of the same trials (``trials.trials``, ``losses()``, ``vals``...) are
added by `parzen.Trials`, the class users create (`parzen._hyperopt.trials`).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from parzen._remote.outcome import Outcome
from parzen._validation import require
from parzen.exceptions import (
    AllTrialsFailed,
    InvalidArgument,
    NoFeasibleTrial,
    SingleObjectiveView,
    StoreError,
    StoreWarning,
    UnknownTrial,
)
from parzen.space import Categorical, CompiledSpace, compile_space
from parzen.trial import pareto
from parzen.trial.history import Columns, History
from parzen.trial.record import Trial
from parzen.trial.state import FINISHED_STATES, TrialState

if TYPE_CHECKING:
    from parzen.executors.base import Executor
    from parzen.storage.store import TrialStore


class Trials:
    """All trials of an experiment, in memory (and in a store when one is attached).

    The core that fmin, the algorithms' history, the store and the observers use;
    `parzen.Trials` adds hyperopt's views to it.

    Args:
        exp_key: hyperopt's experiment key, kept for scripts that set it (unused).
        refresh: accepted for hyperopt compatibility (parzen's views are always current).
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
        self._version = 0
        self.exp_key = exp_key
        self.space: CompiledSpace | None = None
        self.store: TrialStore | None = None  # set by attach_store: every change is written through
        self.stored_choices: dict[str, tuple[Any, ...]] | None = None  # set by load_trials: decodable choices
        # several objectives: how many losses and constraints each trial returns, fixed by the first ok trial
        # (or by fmin(objectives=...)); a trial returning another count fails
        self.objectives: tuple[str, ...] | None = None
        self.n_constraints: int | None = None
        self.last_finished: Trial | None = None  # the trial most recently told

    # ---- where trials run (a plug-in point) ----------------------------------------------

    def executor(self, fn: Any, max_evals: int | None = None) -> Executor | None:
        """The executor `fmin` runs this experiment's trials on; None (here) means in the driver thread.

        Subclasses that run trials elsewhere override it (`parzen.SparkTrials`); a one-off
        executor is better passed to ``fmin(..., executor=...)``.

        Args:
            fn: the objective.
            max_evals: the run's budget, when it has one (an executor may warn when it
                holds more trials at once than the run will ever have).
        """
        return None

    # ---- persistence -------------------------------------------------------------------

    def attach_store(self, store: TrialStore) -> None:
        """Write every trial through to `store` from now on (held trials are written first).

        A store that already holds trials is loaded with `load_records` instead; mixing
        both would merge two experiments, so it is refused.

        Args:
            store: an open store of this experiment, holding no trials.
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
        """Put existing records (read from a store) in memory, in tid order.

        Args:
            records: the records, each with a tid this `Trials` does not hold yet.
        """
        for trial in records:
            if trial.tid in self._records:
                raise StoreError(f"trial {trial.tid} is loaded twice; a tid is unique within an experiment")
            self._add(trial)

    def insert_records(self, records: Iterable[Trial]) -> list[int]:
        """Add new records made elsewhere (hyperopt documents, known results), written through; their tids.

        Args:
            records: records whose tids were reserved with `reserve_tids`.
        """
        records = list(records)
        clash = [r.tid for r in records if r.tid in self._records]
        if clash:
            raise StoreError(f"trials {clash} already exist; a tid is unique within an experiment")
        for trial in records:
            if self.store is not None:
                self.store.save(trial, new=True)
            self._add(trial)
        return [r.tid for r in records]

    def reserve_tids(self, n: int) -> list[int]:
        """Reserve `n` fresh tids (for records made outside, such as hyperopt documents).

        Args:
            n: how many.
        """
        start = self._next_tid
        self._next_tid += n
        return list(range(start, start + n))

    # ---- recording (driver thread only) -----------------------------------------

    def new(self, params: Mapping[str, Any], state: TrialState = TrialState.RUNNING) -> Trial:
        """Record a new trial with flat `params` and return it (persisted first).

        Args:
            params: the point, ``{label: value}`` (a choice as its index).
            state: RUNNING (about to be submitted) or NEW (queued to run first).
        """
        trial = Trial(tid=self._next_tid, params=dict(params), state=state, refresh_time=time.time())
        if self.store is not None:  # on disk first: a failed write leaves no phantom trial
            self.store.save(trial, new=True)
        self._add(trial)
        return trial

    # ---- several objectives and constraints ------------------------------------------------

    def name_objectives(self, names: Sequence[str]) -> None:
        """Name the run's objectives (and so fix their number) before any trial finishes.

        Args:
            names: one name per objective, as tables, plots and MLflow show them.
        """
        names = tuple(names)
        require(
            len(names) >= 1 and all(isinstance(n, str) and n for n in names) and len(set(names)) == len(names),
            "objectives",
            "a list of distinct, non-empty names (one per loss the objective returns)",
            names,
        )
        if self.objectives is not None and len(self.objectives) != len(names):
            raise InvalidArgument(
                f"objectives: these trials have {len(self.objectives)} objectives {list(self.objectives)}, "
                f"got {len(names)} names {list(names)}"
            )
        self.objectives = names
        if self.store is not None:  # a resumed run, `parzen show` and the report know them by name
            self.store.set_meta("objectives", json.dumps(list(names)))

    @property
    def n_objectives(self) -> int:
        """How many losses each trial returns (1 until a trial returned several)."""
        return 1 if self.objectives is None else len(self.objectives)

    @property
    def multi_objective(self) -> bool:
        """Whether this run has several objectives."""
        return self.n_objectives > 1

    def _fitted(self, trial: Trial) -> Trial:
        """`trial`, or its failed record when its losses or constraints are not as many as the run's."""
        losses = trial.losses
        if losses is None:
            return trial
        if self.objectives is None:
            self.objectives = tuple(f"loss {i}" for i in range(len(losses))) if len(losses) > 1 else ("loss",)
        if len(losses) != len(self.objectives):
            return trial.refused(
                f"the objective returned {len(losses)} loss{'es' if len(losses) != 1 else ''}; this run has "
                f"{len(self.objectives)} objective{'s' if len(self.objectives) != 1 else ''} {list(self.objectives)} "
                "(every trial returns as many losses, in the same order)"
            )
        c = len(trial.constraints)
        if self.n_constraints is None and (c or losses is not None):
            self.n_constraints = c
        if c != self.n_constraints:
            return trial.refused(
                f"the objective returned {c} constraint values; this run's trials return {self.n_constraints} "
                "(every trial returns the same constraints, in the same order)"
            )
        return trial

    def _add(self, trial: Trial) -> None:
        """Put a record in memory and in the history columns."""
        self._fitted(trial)  # a stored run's first ok trial fixes its number of objectives
        self._records[trial.tid] = trial
        row = self._rows[trial.tid] = self._columns.append(trial.params, trial.state)
        for step, value in sorted(trial.intermediate.items()):
            self._columns.report(row, step, value)
        self._tid_of_row.append(trial.tid)
        if trial.state != TrialState.RUNNING:  # loaded from a store
            self._columns.update(row, trial)
        self._next_tid = max(self._next_tid, trial.tid + 1)
        self._changed(trial.tid)

    def start(self, tid: int) -> Trial:
        """A NEW trial (a point queued by `generate_trials_to_calculate`) starts running.

        Args:
            tid: the NEW trial's id.
        """
        trial = self.record(tid)
        if trial.state != TrialState.NEW:
            raise UnknownTrial(f"trial {tid} is {trial.state.name.lower()}; only a new trial can start")
        return self._settle(trial.started())

    def finish(self, tid: int, outcome: Outcome) -> Trial:
        """Record what the executor reported for running trial `tid`.

        Args:
            tid: the running trial's id.
            outcome: what happened, as the executor reported it.

        Returns:
            The trial's final record.
        """
        trial = self._settle(self._fitted(self._running(tid).finished_with(outcome)))
        self.last_finished = trial
        for key in outcome.get("sent_as_repr", ()):
            warnings.warn(
                f"result key {key!r} of trial {tid} could not be pickled on the executor as it is (too deep, or an "
                "object pickle refuses); it was sent cut, and the store keeps its repr",
                StoreWarning,
                2,
            )
        return trial

    def report(self, tid: int, step: int, value: float | tuple[float, ...]) -> bool:
        """Record a running trial's intermediate `value` at `step`; False if that step was reported already.

        The first value reported at a step is kept (a repeated report is ignored),
        in memory, in the history columns and in the store.

        Args:
            tid: the running trial's id.
            step: the step (an int >= 0).
            value: the reported value, or a tuple of them (several objectives).
        """
        trial = self._running(tid)
        if step in trial.intermediate:
            return False
        self._records[tid] = trial.reported(step, value)
        self._columns.report(self._rows[tid], step, value)
        if self.store is not None:
            self.store.save_intermediate(tid, step, value)
        return True

    def report_width(self) -> int | None:
        """How many values the reports of this run carry (1, or a tuple's length); None before any report."""
        for trial in reversed(self._records.values()):
            for value in trial.intermediate.values():
                return len(value) if isinstance(value, tuple) else 1
        return None

    def cancel(self, tid: int, reason: str, state: TrialState = TrialState.CANCELLED) -> Trial:
        """Mark a running trial cancelled (or interrupted); it does not count as finished.

        Args:
            tid: the running trial's id.
            reason: why, kept as the trial's error text.
            state: CANCELLED (by a stop rule) or INTERRUPTED (its executor was lost: runs again on resume).
        """
        return self._settle(self._running(tid).stopped(reason, state))

    def _running(self, tid: int) -> Trial:
        trial = self._records.get(tid)
        if trial is None:
            raise UnknownTrial(f"no trial with tid {tid!r}; known tids are 0..{self._next_tid - 1}")
        if trial.state != TrialState.RUNNING:
            raise UnknownTrial(f"trial {tid} is already {trial.state.name.lower()}; a trial is told once")
        return trial

    def _settle(self, trial: Trial) -> Trial:
        """A trial's new record: memory first (never lost), then the store."""
        self._records[trial.tid] = trial
        self._columns.update(self._rows[trial.tid], trial)
        self._changed(trial.tid)
        if self.store is not None:
            self.store.save(trial)
        return trial

    def _changed(self, tid: int | None = None) -> None:
        """Something changed (views that cache derived data compare this version)."""
        self._version += 1

    # ---- what algorithms and the loop read -------------------------------------

    def history(self) -> History:
        """Columnar snapshot of every trial, running ones included."""
        return self._columns.view()

    def get(self, tid: int) -> Trial | None:
        """The record of trial `tid`, or None if there is none.

        Args:
            tid: a trial id.
        """
        return self._records.get(tid)

    def record(self, tid: int) -> Trial:
        """The record of trial `tid` (`UnknownTrial` if there is none).

        Args:
            tid: a trial id.
        """
        try:
            return self._records[tid]
        except KeyError:
            raise UnknownTrial(f"no trial with tid {tid!r}") from None

    @property
    def records(self) -> list[Trial]:
        """The `Trial` records in creation order."""
        return list(self._records.values())

    def count(self, *states: TrialState) -> int:
        """How many trials are in one of `states`.

        Args:
            *states: the states to count.
        """
        return self._columns.count(*states)

    @property
    def n_finished(self) -> int:
        """Trials that count towards ``max_evals`` (done, errored or pruned)."""
        return self.count(*FINISHED_STATES)

    @property
    def n_running(self) -> int:
        """Trials running now."""
        return self.count(TrialState.RUNNING)

    @property
    def n_failed(self) -> int:
        """Finished trials without an ok loss that were not pruned (errors and status fail)."""
        ok = int(np.count_nonzero(~np.isnan(self._columns.losses())))
        return self.n_finished - ok - self.count(TrialState.PRUNED)

    @property
    def best_loss(self) -> float | None:
        """The lowest loss of an ok (and feasible) trial, or None; refused with several objectives."""
        self._single_objective("best_loss")
        losses = self._feasible_losses()
        return None if np.isnan(losses).all() else float(np.nanmin(losses))

    def best_record(self) -> Trial:
        """The ok trial with the lowest loss, feasible when trials return constraints.

        Raises `AllTrialsFailed` (quoting the first failure) if no trial is ok,
        `NoFeasibleTrial` (listing the least violating) if none is feasible, and
        `SingleObjectiveView` in a run with several objectives (see `best_trials`).
        """
        self._single_objective("the best trial")
        losses = self._feasible_losses()
        if np.isnan(losses).all():
            if not np.isnan(self._columns.losses()).all():
                raise NoFeasibleTrial(self._no_feasible_message())
            raise AllTrialsFailed(self._all_failed_message())
        return self._records[self._tid_of_row[int(np.nanargmin(losses))]]

    def _feasible_losses(self) -> np.ndarray:
        """The loss column with the infeasible trials' losses NaN."""
        losses = self._columns.losses()
        if self._columns.constraints is None:
            return losses
        feasible = (np.nan_to_num(self._columns.constraints[: self._columns.n], nan=0.0) <= 0).all(axis=1)
        return np.where(feasible, losses, np.nan)

    @property
    def best_trials(self) -> list[Trial]:
        """The feasible Pareto-optimal trials (several objectives), or the best trial (one), in tid order.

        Their losses are as the objective returned them (``trial.losses``). Raises
        `NoFeasibleTrial` when trials returned constraints and none met them all.
        """
        if not self.multi_objective:
            return [self.best_record()]
        ok = [t for t in self._records.values() if t.losses is not None]
        if not ok:
            raise AllTrialsFailed(self._all_failed_message())
        feasible = [t for t in ok if t.feasible]
        if not feasible:
            raise NoFeasibleTrial(self._no_feasible_message())
        front = pareto.pareto_mask(np.array([t.losses for t in feasible]))
        return [t for t, on in zip(feasible, front) if on]

    def _single_objective(self, view: str) -> None:
        if self.multi_objective:
            raise SingleObjectiveView(
                f"{view} needs one loss; this run has {self.n_objectives} objectives {list(self.objectives or ())}: "
                "use trials.best_trials (the feasible Pareto-optimal trials) or trials.to_dataframe()"
            )

    def _no_feasible_message(self) -> str:
        ok = [t for t in self._records.values() if t.losses is not None]
        worst = sorted(ok, key=lambda t: (sum(max(0.0, c) for c in t.constraints), t.tid))[:3]
        listed = "; ".join(f"trial {t.tid}: constraints {list(t.constraints)}" for t in worst)
        return (
            f"none of the {len(ok)} ok trials met every constraint (feasible: each value <= 0). "
            f"The least violating: {listed}"
        )

    def _all_failed_message(self) -> str:
        finished = [t for t in self._records.values() if t.state.finished]
        if not finished:
            return "there are no finished trials, so there is no best trial"
        first = finished[0]
        why = first.error or first.result.get("error") or f"result {dict(first.result)!r}"
        return (
            f"all {len(finished)} finished trials failed; none has status 'ok' with a finite loss. "
            f"The first failure (trial {first.tid}):\n{why}"
        )

    @property
    def argmin(self) -> dict[str, Any]:
        """Flat parameters of the best trial; a choice is given as its index (hyperopt)."""
        return dict(self.best_record().params)

    @property
    def best_params(self) -> Any:
        """The best point as the objective received it: choices as values, not indices.

        Trials loaded from a store without their space give the best point flat, each
        choice between plain values as its option (decoded from the stored description).
        """
        if self.space is not None:
            return self.space.eval(self.argmin)
        if self.stored_choices is not None:
            choices = self.stored_choices
            return {k: choices[k][int(v)] if k in choices else v for k, v in self.argmin.items()}
        raise InvalidArgument(
            "best_params needs the search space: run fmin with these trials first, or load_trials(path, space)"
        )

    def labels(self) -> tuple[str, ...]:
        """The space's labels (those seen in the trials when no space is attached)."""
        if self.space is not None:
            return self.space.labels
        return tuple(self._columns.columns)

    # ---- tables ---------------------------------------------------------------------

    def to_dataframe(self) -> Any:
        """One row per trial: tid, state, status, loss, times, error and ``params_<label>``.

        A choice column holds the chosen option when it is a plain value (``"gini"``),
        else its index. ``steps`` and ``last_value`` say how far a trial that reported
        intermediate values got (see `intermediate_dataframe` for the curves).
        """
        return _pandas("to_dataframe").DataFrame([self._frame_row(t) for t in self._records.values()])

    def intermediate_dataframe(self) -> Any:
        """Every intermediate value reported (``parzen.report``): one row per tid, step, value, state.

        A report of several values is one row whose value is their tuple."""
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
            **self._loss_cells(trial),
            "book_time": as_datetime(trial.book_time),
            "duration": trial.duration,
            "error": trial.error,
            "steps": len(trial.intermediate),
            "last_value": _last_report(trial),
        }
        for label in self.labels():
            row[f"params_{label}"] = self._display_value(label, trial.params.get(label))
        return row

    def _loss_cells(self, trial: Trial) -> dict[str, Any]:
        """``loss`` (one objective), or one column per objective named as the run names them; then each
        constraint (``constraint_0``...) and ``feasible`` when trials return constraints."""
        cells: dict[str, Any] = {}
        if self.multi_objective:
            losses = trial.losses or (math.nan,) * self.n_objectives
            cells |= {name: value for name, value in zip(self.objectives or (), losses)}
        else:
            loss = trial.result.get("loss", math.nan)
            cells["loss"] = loss if not isinstance(loss, (list, tuple)) else math.nan
        if self.n_constraints:
            values = trial.constraints or (math.nan,) * self.n_constraints
            cells |= {f"constraint_{i}": v for i, v in enumerate(values)}
            cells["feasible"] = trial.feasible if trial.losses is not None else None
        return cells

    def _display_value(self, label: str, value: Any) -> Any:
        param = self.space.params.get(label) if self.space is not None else None
        if isinstance(param, Categorical) and value is not None:
            option = param.options[int(value)]
            if option is None or isinstance(option, (str, int, float, bool)):
                return option
        return value

    # ---- fmin hooks -------------------------------------------------------------------

    def attach_space(self, space: Any) -> CompiledSpace:
        """Remember the space of the experiment (for views and best_params).

        Args:
            space: the search space, or an already compiled one.

        Returns:
            The compiled space.
        """
        self.space = compile_space(space)
        self._changed()
        return self.space

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__}: {len(self)} trials, {self.n_finished} finished, "
            f"{self.n_failed} failed, best loss {self.best_loss}>"
        )


def _pandas(what: str) -> Any:
    try:
        import pandas as pd
    except ImportError as e:  # pragma: no cover - pandas ships with pyspark users
        raise ImportError(f"Trials.{what}() needs pandas: pip install pandas") from e
    return pd


def as_datetime(t: float | None) -> datetime | None:
    """A timestamp as a timezone-aware datetime (None stays None)."""
    return None if t is None else datetime.fromtimestamp(t, UTC)


def _last_report(trial: Trial) -> Any:
    """The value `trial` reported at its last step (a tuple for several objectives; NaN: none)."""
    return trial.intermediate[max(trial.intermediate)] if trial.intermediate else math.nan
