"""What an algorithm may learn from and leave with a run: its budget in, its decisions out.

An algorithm that chooses per run (`parzen.algorithms.auto`) offers two attributes on its
suggest function: ``begin_run(space, max_evals, in_flight)``, called once when the run
starts (an algorithm sees only (space, history, rng) per call, so this is how it learns the
budget), and ``decisions(space) -> list[dict]``, what it decided so far. `AlgorithmRecord`
calls the first and writes the second to the store's ``meta`` table under ``algorithm``
(JSON: a resumed run's decisions follow the earlier runs'), which the report shows.
Algorithms without these attributes get no observer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from parzen.driver.observers import Observer, RunInfo
from parzen.trial import Trial

META_KEY = "algorithm"


class AlgorithmRecord(Observer):
    """Tells the algorithm the run's budget; stores its decisions when they change."""

    def __init__(self, begin: Callable[..., Any] | None, decisions: Callable[..., Any] | None):
        self.begin = begin
        self.decisions = decisions
        self.earlier: list[Any] = []
        self.stored = -1

    def run_started(self, run: RunInfo) -> None:
        """Tell the budget and capacity; keep what a resumed store already holds."""
        if self.begin is not None:
            self.begin(run.space, run.max_evals, run.actual_parallelism)
        store = run.trials.store
        if store is not None and self.decisions is not None:
            try:
                kept = json.loads(store.meta(META_KEY) or "[]")
            except ValueError:
                kept = []
            self.earlier = kept if isinstance(kept, list) else []

    def trial_started(self, run: RunInfo, trial: Trial) -> None:
        """The decision for this trial was just made: store it if it is new."""
        self._store(run)

    def run_ended(self, run: RunInfo, error: BaseException | None) -> None:
        """Store the last decisions."""
        self._store(run)

    def _store(self, run: RunInfo) -> None:
        store = run.trials.store
        if self.decisions is None or store is None or store.readonly:
            return
        made = self.decisions(run.space)
        if len(made) != self.stored:
            store.set_meta(META_KEY, json.dumps(self.earlier + made))
            self.stored = len(made)


def algorithm_observers(algo: Callable[..., Any]) -> list[Observer]:
    """An `AlgorithmRecord` for an algorithm that offers ``begin_run`` or ``decisions``, else none."""
    fn = getattr(algo, "func", algo)
    begin, decisions = getattr(fn, "begin_run", None), getattr(fn, "decisions", None)
    return [AlgorithmRecord(begin, decisions)] if begin is not None or decisions is not None else []
