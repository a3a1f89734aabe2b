"""The progress bar of `fmin` (trials finished, best loss, running, failed and pruned trials), as an observer.

It also says what a user would otherwise not see: that the run resumed from earlier
trials, and, when it ends, why it stopped (max_evals, timeout, loss_threshold, an
early-stop rule, Ctrl-C) in a last line under the bar, in a terminal or a notebook.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from parzen.driver.observers import Observer, RunInfo
from parzen.exceptions import AllTrialsFailed, SingleObjectiveView
from parzen.trial import Trial, Trials, TrialState, pareto

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

            desc = f"resumed from {self.shown} trials" if self.shown and run.store_path else None
            desc = desc or (f"continuing from {self.shown} trials" if self.shown else None)
            self.display = tqdm(total=self.total, initial=self.shown, unit="trial", dynamic_ncols=True, desc=desc)

    def trial_ended(self, run: RunInfo, trial: Trial) -> None:
        if self.display is None:
            return
        done = run.trials.n_finished
        if done > self.shown:
            self.display.update(done - self.shown)
            self.shown = done
        self._show_best(run.trials)

    def _show_best(self, trials: Trials) -> None:
        if trials.multi_objective:
            best_text = pareto_summary(trials)
        else:
            best = trials.best_loss
            if self.context is not None:  # hyperopt's protocol
                if best is not None:
                    self.display.postfix = f"best loss: {best}"
                return
            best_text = f"best loss: {'-' if best is None else f'{best:.6g}'}"
        if self.context is not None:
            self.display.postfix = best_text
            return
        parts = [best_text, f"running: {trials.n_running}"]
        parts.append(f"failed: {trials.n_failed}")
        pruned = trials.count(TrialState.PRUNED)
        if pruned:
            parts.append(f"pruned: {pruned}")
        self.display.set_postfix_str(", ".join(parts))

    def trial_started(self, run: RunInfo, trial: Trial) -> None:
        if self.display is not None and self.context is None:
            self._show_best(run.trials)  # the running count moves as trials start too

    def run_ended(self, run: RunInfo, error: BaseException | None) -> None:
        shown = self.display is not None
        if self.context is not None:
            self.context.__exit__(None, None, None)
        elif self.display is not None:
            self._show_best(run.trials)
            self.display.close()
        self.display = self.context = None
        if shown and run.stop_reason:
            print(f"fmin stopped: {run.stop_reason} ({_summary(run.trials)})", file=sys.stderr, flush=True)


def pareto_summary(trials: Trials) -> str:
    """``Pareto set: 7, hypervolume: 0.42``: the size of the feasible Pareto set and its hypervolume.

    The hypervolume is measured to the worst value seen of each objective plus a tenth of
    its range (the reference moves as worse trials arrive; a fixed one is the user's:
    ``parzen.hypervolume(losses, reference)``).
    """
    try:
        front = trials.best_trials
    except (AllTrialsFailed, SingleObjectiveView):
        return "Pareto set: -"
    every = np.array([t.losses for t in trials.records if t.losses is not None])
    low, high = every.min(axis=0), every.max(axis=0)
    reference = high + np.where(high > low, 0.1 * (high - low), 1.0)
    volume = pareto.hypervolume(np.array([t.losses for t in front]), reference)
    return f"Pareto set: {len(front)}, hypervolume: {volume:.4g}"


def _summary(trials: Trials) -> str:
    """``12 trials: 10 ok, 1 failed, 1 pruned``: what the run holds at its end."""
    ok = trials.n_finished - trials.n_failed - trials.count(TrialState.PRUNED)
    parts = [f"{len(trials)} trials: {ok} ok", f"{trials.n_failed} failed"]
    pruned = trials.count(TrialState.PRUNED)
    if pruned:
        parts.append(f"{pruned} pruned")
    cancelled = trials.count(TrialState.CANCELLED, TrialState.INTERRUPTED)
    if cancelled:
        parts.append(f"{cancelled} cancelled")
    return ", ".join(parts)


@contextlib.contextmanager
def tqdm_progress_callback(initial: int, total: int | None) -> Iterator[Any]:
    """hyperopt's progress bar (``fmin(show_progressbar=tqdm_progress_callback)``).

    While it is shown, what the objective prints goes through ``tqdm.write``, above the
    bar instead of through it.
    """
    from tqdm.auto import tqdm

    with _print_above_bar(), tqdm(total=total, initial=initial, unit="trial", dynamic_ncols=True) as bar:
        bar.postfix = "best loss: ?"
        yield bar


@contextlib.contextmanager
def no_progress_callback(initial: int, total: int | None) -> Iterator[Any]:
    """No progress display (hyperopt's ``no_progress_callback``)."""

    class _Silent:
        postfix = ""

        def update(self, n: int) -> None:
            """Nothing to show."""

    yield _Silent()


default_callback = tqdm_progress_callback


class _TqdmWriter(io.TextIOBase):
    """A text stream that writes through ``tqdm.write`` (so a progress bar is not broken)."""

    def __init__(self, stream: Any):
        self.stream = stream

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        from tqdm import tqdm

        if text.rstrip():
            tqdm.write(text.rstrip("\n"), file=self.stream)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


@contextlib.contextmanager
def _print_above_bar() -> Iterator[None]:
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _TqdmWriter(stdout), _TqdmWriter(stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr
