"""The progress bar of `fmin`: trials finished, best loss and failures (tqdm)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class _Silent:
    def update(self, trials: Any) -> None:
        pass


class _Advancing:
    """Moves a progress display to the number of finished trials, then shows the best loss."""

    def __init__(self, display: Any, trials: Any):
        self.display = display
        self.shown = trials.n_finished

    def update(self, trials: Any) -> None:
        done = trials.n_finished
        if done > self.shown:
            self.display.update(done - self.shown)
            self.shown = done
        self.show_best(trials)

    def show_best(self, trials: Any) -> None:
        raise NotImplementedError


class _Bar(_Advancing):
    """A tqdm bar with best loss and failures."""

    def show_best(self, trials: Any) -> None:
        best = trials.best_loss
        self.display.set_postfix_str(f"best loss: {'-' if best is None else f'{best:.6g}'}, failed: {trials.n_failed}")


class _Callback(_Advancing):
    """hyperopt's custom progress protocol: a context object with ``update(n)`` and ``postfix``."""

    def show_best(self, trials: Any) -> None:
        if trials.best_loss is not None:
            self.display.postfix = f"best loss: {trials.best_loss}"


@contextlib.contextmanager
def progress_bar(trials: Any, total: int, show: Any) -> Iterator[Any]:
    """Yield an object whose ``update(trials)`` refreshes the progress display.

    `show` is a bool (a tqdm bar or nothing) or, as in hyperopt, a callable
    ``show(initial=..., total=...)`` returning a context manager of your own.
    """
    if callable(show):
        with show(initial=trials.n_finished, total=total) as context:
            yield _Callback(context, trials)
        return
    if not show:
        yield _Silent()
        return
    from tqdm.auto import tqdm

    with tqdm(
        total=None if total >= 2**62 else total, initial=trials.n_finished, unit="trial", dynamic_ncols=True
    ) as bar:
        yield _Bar(bar, trials)
