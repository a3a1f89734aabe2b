"""`fmin`: the one driver loop, with hyperopt's parameters and meaning.

The loop keeps the executor full (``capacity`` trials in flight), records every
outcome the moment it arrives, and applies the stop rules after each one. It never
sleeps on a clock: it blocks in ``executor.completed(timeout)`` until a trial finishes
or the run's time budget ends.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from parzen._hyperopt.migrate import generate_trials_to_calculate
from parzen._hyperopt.trials import Trials
from parzen._remote.outcome import Outcome
from parzen._validation import integer_at_least, is_integer, is_number, require
from parzen.driver.algorithm_record import algorithm_observers
from parzen.driver.observers import Observer, Observers, RunInfo
from parzen.driver.progress import ProgressObserver
from parzen.driver.reports import Pruning
from parzen.driver.tuner import Tuner
from parzen.exceptions import ExecutorLost, InvalidAnnotatedParameter, InvalidArgument, StoreError
from parzen.executors.base import Executor
from parzen.executors.serial import SerialExecutor
from parzen.pruning.pruners import NopPruner, Pruner
from parzen.space import CompiledSpace, Node, compile_space, space_eval
from parzen.tracking import tracking_observers
from parzen.trial import Trials as CoreTrials
from parzen.trial import TrialState

logger = logging.getLogger("parzen")

__all__ = ["fmin", "space_eval", "partial", "generate_trials_to_calculate"]

partial = functools.partial  # hyperopt exported its own `partial`; scripts import it from here


def _check_budget(max_evals: Any, timeout: Any, loss_threshold: Any, max_queue_len: Any) -> int:
    positive = max_evals is None or (is_integer(max_evals) and max_evals > 0)
    require(positive, "max_evals", "a positive integer (or None for no limit)", max_evals)
    seconds = timeout is None or (is_number(timeout) and timeout > 0)
    require(seconds, "timeout", "a positive number of seconds (or None)", timeout)
    require(loss_threshold is None or is_number(loss_threshold), "loss_threshold", "a number (or None)", loss_threshold)
    integer_at_least("max_queue_len", max_queue_len, 1)
    return sys.maxsize if max_evals is None else int(max_evals)


def _annotated_space(fn: Callable[..., Any]) -> tuple[Callable[..., Any], dict[str, Any]]:
    """hyperopt's ``space="annotated"``: read the space from fn's annotations."""
    space = dict(inspect.getfullargspec(fn).annotations)
    space.pop("return", None)
    bad = [k for k, v in space.items() if not isinstance(v, Node)]
    if bad or not space:
        raise InvalidAnnotatedParameter(
            f'space="annotated" needs every argument of {fn.__name__} annotated with an hp.* '
            f"expression; these are not: {bad or 'no annotations found'}"
        )
    return (lambda kwargs: fn(**kwargs)), space


class _Run:
    """One `fmin` call: the loop, its stop rules, and the events observers follow."""

    def __init__(
        self,
        tuner: Tuner,
        executor: Executor,
        run: RunInfo,
        early_stop_fn: Callable[..., Any] | None,
        observers: Observers,
        pruning: Pruning,
    ):
        self.tuner = tuner
        self.trials: Trials = tuner.trials
        self.executor = executor
        self.run = run
        self.max_evals: int = sys.maxsize if run.max_evals is None else run.max_evals
        self.deadline: float | None = None if run.timeout is None else time.monotonic() + run.timeout
        self.early_stop_fn = early_stop_fn
        self.early_stop_args: list[Any] = []
        self.observers = observers
        self.pruning = pruning
        self.stop_reason: str | None = None
        self.pending_error: BaseException | None = None

    def loop(self) -> None:
        """Run until a stop rule, the budget or an error ends it; observers see it all."""
        self.observers.run_started(self.run)
        error: BaseException | None = None
        try:
            self._loop()
        except ExecutorLost as exc:
            error = exc
            self._interrupt_running(exc.reason)
            raise
        except BaseException as exc:
            error = exc
            self._cancel_running(f"fmin stopped by {type(exc).__name__}")
            raise
        finally:
            self.run.stop_reason = self.stop_reason or self._natural_end(error)
            self.observers.run_ended(self.run, error or self.pending_error)
        if self.pending_error is not None:
            raise self.pending_error

    def _loop(self) -> None:
        while True:
            if self.stop_reason is None:
                self._fill()
            if not self.executor.running:
                return
            for tid, outcome in self.executor.completed(timeout=self._time_left()):
                self.pruning.drain()  # reports made before this outcome are recorded first
                self._record(tid, outcome)
                if self.stop_reason is not None:
                    break
            self.pruning.drain()
            if self._out_of_time():
                self._stop(f"timeout of {self.run.timeout} s reached")
            if self.stop_reason is not None:
                self._drain_finished()
                self._cancel_running(self.stop_reason)
                return

    def _natural_end(self, error: BaseException | None) -> str:
        """Why a run that no stop rule stopped is over."""
        if error is not None:
            return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if self.tuner.exhausted:
            return "the algorithm has no more points to suggest (search space exhausted)"
        return f"max_evals={self.max_evals} finished trials reached"

    def _fill(self) -> None:
        """Submit suggestions until the executor is full or the budget is planned out.

        Free slots are filled together: ``tuner.ask_many`` makes them from one model fit
        when the algorithm has a batch form (many slots free at once on a big cluster).
        """
        while self.executor.capacity > 0 and not self.tuner.exhausted:
            room = min(self.executor.capacity, self.max_evals - self.trials.n_finished - len(self.executor.running))
            if room <= 0:
                return
            if self._out_of_time():
                self._stop(f"timeout of {self.run.timeout} s reached")
                return
            suggestions = self.tuner.ask_many(room)
            if not suggestions:
                logger.info("the algorithm has no more points to suggest (search space exhausted)")
                return
            for suggestion in suggestions:
                trial = self.trials.record(suggestion.tid)
                context = self.observers.trial_context(self.run, trial)
                self.observers.trial_started(self.run, trial)
                self.executor.submit(suggestion.tid, suggestion.args, context)

    def _time_left(self) -> float | None:
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _record(self, tid: int, outcome: Outcome, apply_stop_rules: bool = True) -> None:
        trial = self.tuner.record(tid, outcome)
        if trial.state == TrialState.ERROR:
            logger.warning("trial %d failed: %s", tid, trial.result.get("error"))
        elif trial.state == TrialState.PRUNED:
            logger.info("trial %d pruned at step %s", tid, max(trial.intermediate, default=None))
        self.observers.trial_ended(self.run, trial)
        exception = outcome.get("exception")
        if exception is not None and self.pending_error is None:  # in-process, catch_eval_exceptions=False
            self.pending_error = exception
            self._stop(f"the objective raised {type(exception).__name__}")
        elif apply_stop_rules:
            self._check_stop_rules()

    def _check_stop_rules(self) -> None:
        best = None if self.trials.multi_objective else self.trials.best_loss
        threshold = self.run.loss_threshold
        if threshold is not None and best is not None and best <= threshold:
            self._stop(f"loss_threshold reached (best loss {best} <= {threshold})")
        elif self.early_stop_fn is not None:
            stop, self.early_stop_args = self.early_stop_fn(self.trials, *self.early_stop_args)
            if stop:
                self._stop("early_stop_fn asked to stop")

    def _stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
            logger.info("stopping: %s", reason)

    def _drain_finished(self) -> None:
        """Record trials that finished just before the stop, so nothing finished is lost."""
        for tid, outcome in self.executor.completed(timeout=0):
            self._record(tid, outcome, apply_stop_rules=False)

    def _cancel_running(self, reason: str) -> None:
        for tid in self.executor.cancel_all():
            if self.trials.record(tid).state == TrialState.RUNNING:
                self.observers.trial_ended(self.run, self.tuner.cancel(tid, f"cancelled: {reason}"))

    def _interrupt_running(self, reason: str) -> None:
        """The executor is gone: running trials are not charged, their budget is run again."""
        for tid in self.executor.cancel_all():
            if self.trials.record(tid).state == TrialState.RUNNING:
                trial = self.trials.cancel(tid, f"interrupted: {reason}", state=TrialState.INTERRUPTED)
                self.observers.trial_ended(self.run, trial)


def fmin(
    fn: Callable[..., Any],
    space: Any,
    algo: Callable[..., Any] | None = None,
    max_evals: int | None = None,
    timeout: float | None = None,
    loss_threshold: float | None = None,
    trials: Trials | None = None,
    rstate: Any = None,
    allow_trials_fmin: bool = True,
    pass_expr_memo_ctrl: Any = None,
    catch_eval_exceptions: bool = False,
    verbose: bool = True,
    return_argmin: bool = True,
    points_to_evaluate: list[dict[str, Any]] | None = None,
    max_queue_len: int = 1,
    show_progressbar: Any = True,
    early_stop_fn: Callable[..., Any] | None = None,
    trials_save_file: str | os.PathLike[str] = "",
    observers: Sequence[Observer] = (),
    pruner: Pruner | None = None,
    mlflow_tracking: bool | None = None,
    executor: Callable[[Callable[..., Any]], Executor] | None = None,
    objectives: Sequence[str] | None = None,
) -> Any:
    """Minimise `fn` over `space`, as hyperopt's ``fmin`` does.

    Calling again with the same `trials` continues up to `max_evals` finished trials in
    total (and a run resumed from `trials_save_file` continues where it stopped).

    Args:
        fn: the objective: called with a point of `space` (choices as their values); returns a
            loss (a number) or a dict with ``"loss"`` and ``"status"`` (``STATUS_OK`` or
            ``STATUS_FAIL``) plus any keys of its own. Exceptions fail that trial only.
        space: the search space: ``hp.*`` expressions nested in dicts, lists and tuples (or
            ``"annotated"``: read from `fn`'s annotations).
        algo: the algorithm, ``tpe.suggest`` (the default), ``rand.suggest``, ``anneal.suggest``,
            ``grid.suggest``, ``mix.suggest`` or your own (see `parzen.algorithms.base`).
        max_evals: how many trials to finish (done, failed or pruned), counting those `trials`
            already holds; None runs until `timeout`, `loss_threshold`, `early_stop_fn` or Ctrl-C.
        timeout: seconds after which no trial starts and running ones are cancelled.
        loss_threshold: stop once a trial reaches a loss at or below it.
        trials: where trials are kept and where they run: `Trials()` (in this process, one at a
            time), `SparkTrials(parallelism=...)` (Spark), or one loaded with `load_trials`.
        rstate: a seed (int) or ``numpy.random.default_rng(seed)``, for reproducible suggestions.
        allow_trials_fmin: hyperopt's switch for ``trials.fmin``; ignored.
        pass_expr_memo_ctrl: hyperopt's pyll hook; refused (parzen has no pyll expressions).
        catch_eval_exceptions: in process, record an objective's exception as a failed trial and
            go on (True) or record it and raise it (False, hyperopt's default).
        verbose: log a summary at the end, and show the progress bar when `show_progressbar` allows.
        return_argmin: return the best trial's flat parameters (a choice as its index, as hyperopt
            did); False returns the best point of the space itself (``space_eval`` of them).
        points_to_evaluate: points (``{label: value}``) evaluated first, before the algorithm.
        max_queue_len: in process, how many suggestions are made ahead of evaluation.
        show_progressbar: a progress bar (True), none (False), or a tqdm-like class to use.
        early_stop_fn: ``fn(trials, *state) -> (stop, state)`` called after every trial
            (``parzen.early_stop.no_progress_loss(10)`` is one).
        trials_save_file: a SQLite file every trial is written to as it happens; a run killed
            and started again with the same file resumes (see ``docs/store.md``).
        observers: `parzen.driver.observers.Observer` objects that follow the run's events.
        pruner: stops trials early from what they report with ``parzen.report(step, value)``:
            ``parzen.MedianPruner()``, ``ASHAPruner()``... None (default): every trial runs to its
            end (reports are still recorded). Pruned trials count towards `max_evals`.
        mlflow_tracking: log to MLflow: None when a destination is configured (an active run,
            ``MLFLOW_TRACKING_URI``, Databricks), False never, True always (`parzen.tracking`).
        executor: where trials run, when not where `trials` puts them: a function of the
            objective returning a `parzen.executors.base.Executor` (developer API; its
            contract is in that class's docstring, `parzen.testing.executors` checks it).
        objectives: names of the losses when the objective returns several
            (``{"loss": [error, latency], ...}``, all minimised: negate one to maximise it);
            optional, they label tables, plots and MLflow and fix how many losses a trial
            returns. A result may also carry ``"constraints": [c1, ...]`` (feasible when
            every one is <= 0), with one objective or several.

    Returns:
        The best trial's flat parameters (or with ``return_argmin=False`` the best point).
        With several objectives, a list of them: one per feasible Pareto-optimal trial
        (``trials.best_trials`` holds their records and losses).

    Raises:
        AllTrialsFailed: no trial finished with status ok (the message quotes the first failure).
        NoFeasibleTrial: trials returned constraints and none met them all (the message lists the
            least violating; every trial is in `trials` and the store).
        InvalidArgument: an argument is out of its domain (the message names it and what is valid).
    """
    budget = _check_budget(max_evals, timeout, loss_threshold, max_queue_len)
    _check_trials(trials)
    if budget == sys.maxsize and timeout is None and loss_threshold is None and early_stop_fn is None:
        _warn_unbounded(trials)
    if not callable(fn):
        raise InvalidArgument(f"fn must be a callable objective, got {type(fn).__name__}")
    if pass_expr_memo_ctrl:
        raise InvalidArgument("pass_expr_memo_ctrl is not supported: parzen has no pyll expressions or memo")
    if early_stop_fn is not None and not callable(early_stop_fn):
        raise InvalidArgument(f"early_stop_fn must be callable, got {early_stop_fn!r}")
    if pruner is not None and not isinstance(pruner, Pruner):
        raise InvalidArgument(
            "pruner must be a parzen.pruners.Pruner such as parzen.MedianPruner() or parzen.ASHAPruner(), "
            f"got {pruner!r}"
        )
    if isinstance(space, str) and space == "annotated":
        fn, space = _annotated_space(fn)
    compiled = compile_space(space)
    tracking = tracking_observers(mlflow_tracking, trials)
    trials = _resolve_trials(trials, trials_save_file, compiled)
    try:
        if objectives is not None:
            trials.name_objectives(objectives)
        if trials.multi_objective and loss_threshold is not None:
            raise InvalidArgument(
                f"loss_threshold needs one loss; this run has {trials.n_objectives} objectives: "
                "use early_stop_fn (it receives the trials) to stop on them"
            )
        tuner = Tuner(compiled, algo, trials, rstate, points_to_evaluate)
        runner = _executor(executor, fn, trials, max_queue_len, catch_eval_exceptions, budget)
        run = RunInfo(
            trials=trials,
            space=compiled,
            algo=tuner.algo,
            max_evals=None if budget == sys.maxsize else budget,
            timeout=_tighter(timeout, trials.timeout, min),
            loss_threshold=_tighter(loss_threshold, trials.loss_threshold, max),
            max_queue_len=max_queue_len,
            parallelism=getattr(trials, "parallelism", None),
            actual_parallelism=min(runner.capacity, budget),
            store_path=None if trials.store is None else str(trials.store.path),
        )
        progress = ProgressObserver(show_progressbar if verbose else False, budget)
        with runner:
            pruning = Pruning(pruner or NopPruner(), trials, runner, check_reach=pruner is not None)
            everyone = Observers([progress, pruning, *algorithm_observers(tuner.algo), *tracking, *observers])
            _Run(tuner, runner, run, early_stop_fn, everyone, pruning).loop()
    except BaseException:
        _end_store_run(trials, failing=True)
        raise
    _end_store_run(trials, failing=False)
    if verbose:
        _log_summary(trials)
    return _answer(trials, return_argmin)


def _executor(
    factory: Callable[[Callable[..., Any]], Executor] | None,
    fn: Callable[..., Any],
    trials: Trials,
    max_queue_len: int,
    catch_eval_exceptions: bool,
    budget: int,
) -> Executor:
    """Where this run's trials run: the given factory's, else the trials' own, else the driver thread."""
    if factory is not None:
        made = factory(fn)
        if not isinstance(made, Executor):
            raise InvalidArgument(
                f"executor must be a function of the objective returning a parzen.executors.base.Executor, "
                f"got {made!r} from {factory!r}"
            )
        return made
    own = trials.executor(fn, None if budget == sys.maxsize else budget)
    return (
        own if own is not None else SerialExecutor(fn, capacity=max_queue_len, catch_exceptions=catch_eval_exceptions)
    )


def _tighter(a: float | None, b: float | None, pick: Callable[[float, float], float]) -> float | None:
    """Combine a limit given to fmin with the same limit given to SparkTrials."""
    if a is None or b is None:
        return a if b is None else b
    return pick(a, b)


def _check_trials(trials: Any) -> None:
    """`trials` must be a parzen Trials object (the class itself, or hyperopt's, is a common slip)."""
    if trials is None or isinstance(trials, CoreTrials):
        return
    if isinstance(trials, type) and issubclass(trials, CoreTrials):
        raise InvalidArgument(
            f"trials must be a Trials object, got the class {trials.__name__} itself: "
            f"write trials={trials.__name__}() (with parentheses)"
        )
    hint = " (a hyperopt Trials? use parzen.Trials, or convert it with parzen.from_hyperopt)"
    hint = hint if "hyperopt" in type(trials).__module__ else ""
    raise InvalidArgument(
        f"trials must be a parzen Trials object such as Trials(), SparkTrials(...) or load_trials(path), "
        f"got {type(trials).__module__}.{type(trials).__name__}{hint}"
    )


def _warn_unbounded(trials: Trials | None) -> None:
    """Nothing would end the run: say so once, at the start, instead of running silently forever."""
    if trials is not None and (trials.timeout is not None or trials.loss_threshold is not None):
        return  # SparkTrials(timeout=...) bounds it
    warnings.warn(
        "fmin has no max_evals, timeout, loss_threshold or early_stop_fn: it runs until interrupted (Ctrl-C). "
        "Pass max_evals=... to set a budget.",
        UserWarning,
        stacklevel=3,
    )


def _resolve_trials(trials: Trials | None, trials_save_file: str | os.PathLike[str], space: CompiledSpace) -> Trials:
    if trials_save_file:
        from parzen.storage.store import attach_store

        return attach_store(trials, trials_save_file, space)
    return trials if trials is not None else Trials()


def _end_store_run(trials: Trials, failing: bool) -> None:
    """Write what a full disk held back and release the store's lease.

    Trials still only in memory raise `StoreError` (naming them; ``.trials`` holds them),
    unless fmin is already failing: then they are logged, so the user sees the first error.
    """
    if trials.store is None:
        return
    try:
        trials.store.end_run()
    except StoreError as exc:
        exc.trials = trials
        if not failing:
            raise
        logger.error("%s", exc)


def _answer(trials: Trials, return_argmin: bool) -> Any:
    """hyperopt's answer: the best flat point, or with ``return_argmin=False`` the best point of the space.

    Without an ok trial, ``return_argmin=False`` still raises `AllTrialsFailed` when some
    objective call returned (status fail), and returns None when none did (every trial
    raised or was cancelled), as hyperopt did. With several objectives: the same for each
    feasible Pareto-optimal trial, a list in tid order.
    """
    if trials.multi_objective:
        front = trials.best_trials
        return [dict(t.params) if return_argmin else trials.space.eval(t.params) for t in front]  # type: ignore[union-attr]
    if return_argmin or trials.best_loss is not None:
        return trials.argmin if return_argmin else trials.best_params
    if trials.count(TrialState.DONE):
        return trials.argmin  # raises AllTrialsFailed, quoting the first failure
    return None


def _log_summary(trials: Trials) -> None:
    ok = trials.n_finished - trials.n_failed - trials.count(TrialState.PRUNED)
    logger.info(
        "%d trials: %d succeeded, %d failed, %d pruned, %d cancelled",
        len(trials),
        ok,
        trials.n_failed,
        trials.count(TrialState.PRUNED),
        trials.count(TrialState.CANCELLED, TrialState.INTERRUPTED),
    )
