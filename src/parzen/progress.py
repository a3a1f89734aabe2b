"""The progress bar of `fmin`: trials finished, best loss and failures (tqdm)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class _Silent:
    def update(self, trials: Any) -> None:
        pass


class _Bar:
    """Moves a tqdm bar to the number of finished trials and shows best loss / failures."""

    def __init__(self, bar: Any, trials: Any):
        self.bar = bar
        self.shown = trials.n_finished

    def update(self, trials: Any) -> None:
        done = trials.n_finished
        if done > self.shown:
            self.bar.update(done - self.shown)
            self.shown = done
        best = trials.best_loss
        self.bar.set_postfix_str(f"best loss: {'-' if best is None else f'{best:.6g}'}, failed: {trials.n_failed}")


@contextlib.contextmanager
def progress_bar(trials: Any, total: int, enabled: bool) -> Iterator[Any]:
    """Yield an object whose ``update(trials)`` refreshes the bar (a no-op if disabled)."""
    if not enabled:
        yield _Silent()
        return
    from tqdm.auto import tqdm

    with tqdm(
        total=None if total >= 2**62 else total, initial=trials.n_finished, unit="trial", dynamic_ncols=True
    ) as bar:
        yield _Bar(bar, trials)
