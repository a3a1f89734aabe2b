"""Exceptions a user can cause, each named for what went wrong.

hyperopt raised bare ``Exception``/``ValueError``/``AssertionError`` for most of these;
parzen raises specific types (still subclasses of the builtin a hyperopt user would
have caught) whose messages name the label or value at fault and what would be valid.
"""

from typing import Any

# Defined where trials run (standard library only, shipped to executors), raised here too: one class each.
from parzen._remote.outcome import InvalidResult, ParzenError


class InvalidSpace(ParzenError, ValueError):
    """A search space that cannot be sampled: bad bounds, empty choice, bad label..."""


class DuplicateLabel(InvalidSpace):
    """Two different hyperparameters share one label."""


class MissingParameter(ParzenError, KeyError):
    """`space_eval` was given a point that lacks an active hyperparameter."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class InvalidParameterValue(ParzenError, ValueError):
    """A point holds a value outside a hyperparameter's domain (e.g. a bad choice index)."""


class InvalidArgument(ParzenError, ValueError):
    """An argument of `fmin`, `Trials` or `SparkTrials` is out of its valid range."""


class InvalidAnnotatedParameter(InvalidArgument):
    """``space="annotated"`` with an argument of the objective not annotated by an ``hp.*`` expression."""


class InvalidAlgorithm(ParzenError, TypeError):
    """The `algo` passed to `fmin` is not a parzen suggest function."""


class InvalidTrial(ParzenError, ValueError):
    """A hyperopt trial document that cannot become a parzen trial (missing key, bad tid, bad state...).

    Raised by `trials_from_docs`, `Trials.insert_trial_docs` and `from_hyperopt`; the
    message names the document's tid and the key at fault.

    Args:
        msg: the message.
        obj: the document at fault (kept as ``.obj``).
    """

    def __init__(self, msg: str, obj: object = None):
        super().__init__(msg)
        self.obj = obj


class NotProvided(ParzenError, ImportError):
    """A hyperopt module or name parzen deliberately does not provide; the message says what to use instead."""


class AllTrialsFailed(ParzenError):
    """No trial finished with status ``ok``; the message quotes the first failure."""


class NoFeasibleTrial(AllTrialsFailed):
    """Trials returned constraints and none satisfied them all; the message lists the least violating trials."""


class SingleObjectiveView(ParzenError, TypeError):
    """A view that needs one loss (``best_loss``, ``argmin``, ``best_trial``...) asked of a run with several objectives.

    The message names the view to use instead (``trials.best_trials``, the Pareto set).
    """


class UnknownTrial(ParzenError, KeyError):
    """A trial id that this `Trials` never issued (or that already finished)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ObjectiveNotSerializable(ParzenError, TypeError):
    """The objective (or the space) cannot be pickled to be shipped to executors."""


class StoreError(ParzenError, OSError):
    """The trial store cannot be opened, written, or does not match this experiment.

    When `fmin` raises it with trials that could not be written (a full disk), ``trials``
    is the `Trials` object that still holds them.
    """

    trials: Any = None


class StoreWarning(UserWarning):
    """The store did something the user should know of: damaged rows skipped, trials held in
    memory while the disk is full, an old store's objects matched by name only."""


class SpaceMismatch(StoreError, ValueError):
    """Resuming a store with a search space different from the one it was created with."""


# hyperopt's names for the same errors, so `from hyperopt.exceptions import ...` keeps working.
BadSearchSpace = InvalidSpace
InvalidLoss = InvalidResult
InvalidResultStatus = InvalidResult


class ExecutorLost(ParzenError, RuntimeError):
    """The executor itself is gone (the Spark session was stopped, the cluster lost).

    Not a trial's fault: the trials that were running are recorded as interrupted
    (their budget is run again on resume), never as failed.

    Args:
        reason: what happened to the executor (kept as ``.reason``).
        tids: the trials that were running (kept as ``.tids``).
    """

    def __init__(self, reason: str, tids: list[int] | None = None):
        self.reason = reason
        self.tids = list(tids or [])
        super().__init__(reason)

    def __str__(self) -> str:
        running = f"; trials {self.tids} were running and are recorded as interrupted" if self.tids else ""
        return (
            f"trials cannot run any more: {self.reason}{running}. Nothing finished is lost: with "
            "trials_save_file, run the script again with a live session to resume"
        )
