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
from typing import Any

import numpy as np

from parzen.trial.state import TrialState


class History:
    """Columns of all trials for algorithms: one float array per label, NaN when inactive.

    ``loss`` is NaN unless the trial finished with status ok; ``state`` holds `TrialState` codes, so running trials
    are visible (``state == RUNNING``). Arrays are read-only views.
    """

    def __init__(
        self,
        columns: dict[str, np.ndarray],
        loss: np.ndarray,
        state: np.ndarray,
        rows: list[dict[str, Any]],
        last_step: np.ndarray | None = None,
        last_value: np.ndarray | None = None,
    ):
        self._columns = columns
        self.loss = loss
        self.state = state
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


class Columns:
    """Growable columnar storage behind `History` (amortised O(1) append).

    Owned by one `Trials`; only its driver thread appends and updates.
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

    def _grow(self) -> None:
        self.capacity *= 2
        self.loss = _resized(self.loss, self.capacity, np.nan)
        self.state = _resized(self.state, self.capacity, 0)
        self.last_step = _resized(self.last_step, self.capacity, -1)
        self.last_value = _resized(self.last_value, self.capacity, np.nan)
        self.columns = {k: _resized(v, self.capacity, np.nan) for k, v in self.columns.items()}

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

    def update(self, row: int, loss: float | None, state: TrialState) -> None:
        self.loss[row] = np.nan if loss is None else loss
        self.state[row] = state

    def report(self, row: int, step: int, value: float) -> None:
        """A trial reported `value` at `step` (kept if it is its latest step)."""
        if step >= self.last_step[row]:
            self.last_step[row] = step
            self.last_value[row] = value

    def count(self, *states: TrialState) -> int:
        return int(np.isin(self.state[: self.n], [int(s) for s in states]).sum())

    def losses(self) -> np.ndarray:
        """The loss column of the trials recorded so far (a view)."""
        return self.loss[: self.n]

    def view(self) -> History:
        n = self.n
        columns = {k: _readonly(v[:n]) for k, v in self.columns.items()}
        return History(
            columns,
            _readonly(self.loss[:n]),
            _readonly(self.state[:n]),
            self.rows,
            _readonly(self.last_step[:n]),
            _readonly(self.last_value[:n]),
        )


def _resized(a: np.ndarray, size: int, fill: Any) -> np.ndarray:
    out = np.full(size, fill, dtype=a.dtype)
    out[: len(a)] = a
    return out


def _readonly(a: np.ndarray) -> np.ndarray:
    a = a.view()
    a.setflags(write=False)
    return a
