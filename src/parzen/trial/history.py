"""What algorithms read: trial states and columnar parameters and losses.

Algorithms never walk trial records. They get a `History`: one float array per label
(NaN where the label was inactive), the loss of every trial (NaN unless it finished
with status ok) and its `TrialState`, running and failed trials included, so a
suggestion made while others run can take them into account.

This module depends on numpy only: ``parzen.algorithms`` import ``parzen.space`` and
``parzen.trial.history``, nothing of the trial records, the store or the executors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from parzen.trial import pareto
from parzen.trial.state import TrialState

if TYPE_CHECKING:
    from parzen.trial.record import Trial


class History:
    """Columns of all trials for algorithms: one float array per label, NaN when inactive.

    ``loss`` is NaN unless the trial finished with status ok; ``state`` holds `TrialState` codes, so running trials
    are visible (``state == RUNNING``). Arrays are read-only views.

    Several objectives: ``losses`` is the ``(n, k)`` array of every trial's losses (NaN
    rows unless ok) and ``loss`` each ok trial's non-dominated rank (0 for the Pareto
    set; with constraints, feasible trials' fronts first), a "lower is better" summary
    for algorithms that read one number. Constraints: ``constraints`` is ``(n, c)``
    (feasible when every value is <= 0). Both are None in a run with one objective and
    no constraints. An algorithm that splits good from bad trials orders them with
    `parzen.trial.pareto.goodness_order(losses, constraints, n_below)`.
    """

    def __init__(
        self,
        columns: dict[str, np.ndarray],
        loss: np.ndarray,
        state: np.ndarray,
        rows: list[dict[str, Any]],
        last_step: np.ndarray | None = None,
        last_value: np.ndarray | None = None,
        losses: np.ndarray | None = None,
        constraints: np.ndarray | None = None,
    ):
        self._columns = columns
        self.loss = loss
        self.state = state
        self.losses = losses
        self.constraints = constraints
        self._rows = rows
        # The last intermediate value each trial reported and its step (NaN / -1: none):
        # how far a pruned trial got and how good it looked then.
        self.last_step = last_step if last_step is not None else np.full(len(state), -1, dtype=np.int64)
        self.last_value = last_value if last_value is not None else np.full(len(state), np.nan)

    @property
    def rows(self) -> list[dict[str, Any]]:
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
        """Boolean mask of the trials still running."""
        return self.state == TrialState.RUNNING

    @property
    def n_objectives(self) -> int:
        """How many losses each trial has (1 unless the run has several objectives)."""
        return 1 if self.losses is None else self.losses.shape[1]

    @property
    def ranked(self) -> bool:
        """Whether good trials are told apart by more than one loss (several objectives or constraints)."""
        return self.losses is not None or self.constraints is not None


class Columns:
    """Growable columnar storage behind `History` (amortised O(1) append).

    Owned by one `Trials`; only its driver thread appends and updates. The losses of a
    run with several objectives and the constraints, when trials return them, are kept
    as matrices that appear with the first such trial.
    """

    def __init__(self) -> None:
        self.n = 0
        self.capacity = 16
        self.loss = np.full(self.capacity, np.nan)
        self.state = np.zeros(self.capacity, dtype=np.int8)
        self.last_step = np.full(self.capacity, -1, dtype=np.int64)
        self.last_value = np.full(self.capacity, np.nan)
        self.columns: dict[str, np.ndarray] = {}
        self.rows: list[dict[str, Any]] = []
        self.vectors: np.ndarray | None = None  # (capacity, k): the losses of a run with several objectives
        self.constraints: np.ndarray | None = None  # (capacity, c)
        self._ranks: np.ndarray | None = None  # the non-dominated ranks of `vectors`, until a trial changes

    def _grow(self) -> None:
        self.capacity *= 2
        self.loss = _resized(self.loss, self.capacity, np.nan)
        self.state = _resized(self.state, self.capacity, 0)
        self.last_step = _resized(self.last_step, self.capacity, -1)
        self.last_value = _resized(self.last_value, self.capacity, np.nan)
        self.columns = {k: _resized(v, self.capacity, np.nan) for k, v in self.columns.items()}
        if self.vectors is not None:
            self.vectors = _resized(self.vectors, self.capacity, np.nan)
        if self.constraints is not None:
            self.constraints = _resized(self.constraints, self.capacity, np.nan)

    def append(self, params: Mapping[str, Any], state: TrialState) -> int:
        """Add a trial's row; returns its row number."""
        if self.n == self.capacity:
            self._grow()
        row = self.n
        for label, value in params.items():
            column = self.columns.get(label)
            if column is None:
                column = self.columns[label] = np.full(self.capacity, np.nan)
            column[row] = value
        self.state[row] = state
        self.rows.append(params)  # type: ignore[arg-type]  # the trial's own dict: no copy
        self.n += 1
        return row

    def update(self, row: int, trial: Trial) -> None:
        """The row of `trial` after its record changed (its state, its losses and constraints)."""
        losses = trial.losses
        if losses is not None and len(losses) > 1:
            self.vectors = self._matrix(self.vectors, len(losses))
            self.vectors[row] = losses
            self._ranks = None
            self.loss[row] = 0.0  # a placeholder: `view` puts the rank
        else:
            self.loss[row] = np.nan if trial.loss is None else trial.loss
            if self.vectors is not None:
                self.vectors[row] = np.nan
                self._ranks = None
        constraints = trial.constraints
        if constraints and losses is not None:
            self.constraints = self._matrix(self.constraints, len(constraints))
            self.constraints[row] = constraints
            self._ranks = None
        self.state[row] = trial.state

    def set_loss(self, row: int, loss: float | None, state: TrialState) -> None:
        """One loss and a state for `row` (for histories built from another framework's trials)."""
        self.loss[row] = np.nan if loss is None else loss
        self.state[row] = state

    def _matrix(self, matrix: np.ndarray | None, width: int) -> np.ndarray:
        """`matrix`, created (NaN) on first use; a width the run does not have is refused by `Trials` first."""
        if matrix is None:
            return np.full((self.capacity, width), np.nan)
        return matrix

    def report(self, row: int, step: int, value: float | tuple[float, ...]) -> None:
        """A trial reported `value` at `step` (kept if it is its latest step).

        A report of several values keeps its step and NaN as its value: pruned trials are
        then ranked by how far they got (one number cannot order vectors)."""
        if step >= self.last_step[row]:
            self.last_step[row] = step
            self.last_value[row] = np.nan if isinstance(value, tuple) else value

    def count(self, *states: TrialState) -> int:
        return int(np.isin(self.state[: self.n], [int(s) for s in states]).sum())

    def losses(self) -> np.ndarray:
        """The loss column of the trials recorded so far (a view; ranks, see `History`, with several objectives)."""
        if self.vectors is not None or self.constraints is not None:
            self.loss[: self.n] = self._rank_column()
        return self.loss[: self.n]

    def _rank_column(self) -> np.ndarray:
        """Each ok trial's non-dominated rank (feasible trials' fronts first), NaN elsewhere; cached."""
        n = self.n
        if self._ranks is not None and len(self._ranks) == n:
            return self._ranks
        ranks = np.full(n, np.nan)
        if self.vectors is None:  # one objective with constraints: the loss itself (feasibility is in `constraints`)
            return self.loss[:n]
        vectors = self.vectors[:n]
        ok = ~np.isnan(vectors).any(axis=1)
        if ok.any():
            cons = None if self.constraints is None else np.nan_to_num(self.constraints[:n][ok], nan=0.0)
            ranks[ok] = pareto.constrained_ranks(vectors[ok], cons)
        self._ranks = ranks
        return ranks

    def view(self) -> History:
        n = self.n
        columns = {k: _readonly(v[:n]) for k, v in self.columns.items()}
        loss = self.losses()
        return History(
            columns,
            _readonly(loss.copy() if self.vectors is not None else loss),
            _readonly(self.state[:n]),
            self.rows,
            _readonly(self.last_step[:n]),
            _readonly(self.last_value[:n]),
            None if self.vectors is None else _readonly(self.vectors[:n]),
            None if self.constraints is None else _readonly(self.constraints[:n]),
        )


def _resized(a: np.ndarray, size: int, fill: Any) -> np.ndarray:
    out = np.full((size, *a.shape[1:]), fill, dtype=a.dtype)
    out[: len(a)] = a
    return out


def _readonly(a: np.ndarray) -> np.ndarray:
    a = a.view()
    a.setflags(write=False)
    return a
