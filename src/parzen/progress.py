"""The progress bar of `fmin` (trials finished, best loss, failures), as an observer."""

from __future__ import annotations

from typing import Any

from parzen.observers import Observer, RunInfo
from parzen.trials import Trial, Trials

_NO_TOTAL = 2**62


class ProgressObserver(Observer):
    """Moves a progress display to the number of finished trials and shows the best loss.

    `show` is a bool (a tqdm bar or nothing) or, as in hyperopt, a callable
    ``show(initial=..., total=...)`` returning a context manager whose object has
    ``update(n)`` and a ``postfix`` attribute.
    """

    def __init__(self, show: Any, total: int | None):
        self.show = show
        self.total = total if total is not None and total < _NO_TOTAL else None
        self.context: Any = None
        self.display: Any = None
        self.shown = 0

    def run_started(self, run: RunInfo) -> None:
        self.shown = run.trials.n_finished
        if callable(self.show):
            self.context = self.show(initial=self.shown, total=self.total)
            self.display = self.context.__enter__()
        elif self.show:
            from tqdm.auto import tqdm

            self.display = tqdm(total=self.total, initial=self.shown, unit="trial", dynamic_ncols=True)

    def trial_ended(self, run: RunInfo, trial: Trial) -> None:
        if self.display is None:
            return
        done = run.trials.n_finished
        if done > self.shown:
            self.display.update(done - self.shown)
            self.shown = done
        self._show_best(run.trials)

    def _show_best(self, trials: Trials) -> None:
        best = trials.best_loss
        if self.context is not None:  # hyperopt's protocol
            if best is not None:
                self.display.postfix = f"best loss: {best}"
            return
        self.display.set_postfix_str(f"best loss: {'-' if best is None else f'{best:.6g}'}, failed: {trials.n_failed}")

    def run_ended(self, run: RunInfo, error: BaseException | None) -> None:
        if self.context is not None:
            self.context.__exit__(None, None, None)
        elif self.display is not None:
            self.display.close()
        self.display = self.context = None
