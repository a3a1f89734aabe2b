"""`SparkTrials`: a `Trials` that runs every trial as a Spark job.

    from parzen import fmin, tpe, SparkTrials
    best = fmin(objective, space, algo=tpe.suggest, max_evals=200, trials=SparkTrials(parallelism=24))

It brings a Spark executor to `fmin` and nothing else: the loop, the stop rules and
the algorithm are the same as for in-process `Trials`. Keyword arguments are
hyperopt's (``parallelism``, ``timeout``, ``loss_threshold``, ``spark_session``) plus
``trial_timeout`` (seconds per trial) and ``max_retries`` (re-runs of a trial whose
executor or Python worker died).

Resources per trial (``cpus_per_trial``, ``gpus_per_trial``, or a pyspark
``resource_profile``) go on each trial's job through Spark's stage-level scheduling;
the default ``parallelism`` is then what the cluster can run at once under them.
``run_trials_on="driver"`` runs trials in threads of the driver instead, for
objectives that are themselves Spark programs (they use the `SparkSession`).
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import replace
from typing import Any

from parzen._hyperopt.trials import Trials
from parzen._validation import integer_at_least, is_integer, is_number, is_real, require
from parzen.exceptions import InvalidArgument
from parzen.executors.base import Executor
from parzen.executors.spark import profiles
from parzen.executors.spark.profiles import TrialProfile
from parzen.executors.spark.session import get_or_create_session, is_connect_session, task_slots
from parzen.trial import TrialState

logger = logging.getLogger("parzen")


def _positive(name: str, value: Any) -> Any:
    """A positive number of seconds, or None."""
    valid = value is None or (is_real(value) and value > 0)
    require(valid, f"SparkTrials: {name}", "a positive number of seconds (or None)", value)
    return value


RUN_TRIALS_ON = ("executors", "driver")


def _requested_parallelism(parallelism: Any) -> int | None:
    """hyperopt's rule: None, 0 or a negative number mean the cluster's task slots (the latter with a warning).

    There is no upper cap (hyperopt capped at 128): parzen keeps exactly `parallelism`
    jobs in flight and warns when that is more than the cluster's task slots.
    """
    ok = parallelism is None or is_integer(parallelism)
    require(ok, "SparkTrials: parallelism", "an integer (or None for the cluster's task slots)", parallelism)
    if parallelism is not None and parallelism <= 0:
        warnings.warn(
            f"SparkTrials: parallelism={parallelism} is not positive; using the cluster's task slots instead "
            "(as hyperopt did). Set a positive parallelism to choose it.",
            stacklevel=3,
        )
        return None
    return None if parallelism is None else int(parallelism)


def _where(run_trials_on: Any) -> str:
    if run_trials_on not in RUN_TRIALS_ON:
        raise InvalidArgument(
            f'SparkTrials: run_trials_on must be one of {list(RUN_TRIALS_ON)} ("driver": trials that use the '
            f"SparkSession run in driver threads), got {run_trials_on!r}"
        )
    return str(run_trials_on)


class SparkTrials(Trials):
    """Trials evaluated on Spark, `parallelism` at a time: each trial is a single-task Spark job.

    ``fmin(fn, space, trials=SparkTrials(parallelism=8), max_evals=200)``. The objective is
    pickled once and runs on the executors (which need pyspark, not parzen); results
    stream back and the next suggestion is made as soon as one finishes. Outside a
    cluster it creates a local-mode session (``local[*]``); under ``spark-submit`` or in a
    notebook it uses the active session. ``count_successful_trials()`` and friends count
    trials by state, as hyperopt's did (Databricks' MLflow logging reads them).

    Args:
        parallelism: trials in flight at once. None (default): what the cluster can run at
            once (its task slots, or what fits under `cpus_per_trial` / `gpus_per_trial`);
            0 or negative: the same, with a warning (hyperopt's rule). No upper cap: more than
            the cluster's slots only queues in Spark (with a warning).
        timeout: seconds after which the run stops starting trials and cancels running
            ones (as ``fmin(timeout=...)``; the tighter of the two wins).
        loss_threshold: stop once a trial reaches this loss (as ``fmin(loss_threshold=...)``).
        spark_session: the `SparkSession` to use (classic or Spark Connect); default: the
            active one, else a new local-mode one.
        trial_timeout: seconds a trial's objective may run before it is cancelled and
            recorded as failed (the clock starts when the objective does, on the executor).
        max_retries: re-runs of a trial whose executor or Python worker died (not of one
            whose objective raised: that is a result, recorded as failed).
        cpus_per_trial: CPUs each trial's task holds (Spark's stage-level scheduling), so a
            trial may use them (``n_jobs=parzen.trial_resources()["cpus"]``).
        gpus_per_trial: GPUs each trial's task holds (a fraction shares one GPU between
            trials); ``CUDA_VISIBLE_DEVICES`` names them while the objective runs.
        resource_profile: a pyspark ``ResourceProfile`` for each trial's job, instead of
            `cpus_per_trial` / `gpus_per_trial`.
        run_trials_on: ``"executors"`` (default) or ``"driver"``: trials run in driver
            threads, for objectives that are themselves Spark programs (they use the
            session); each trial's Spark jobs are cancelled with it.

    Raises:
        InvalidArgument: an argument out of its domain, naming it and what is valid.
    """

    asynchronous = True

    def __init__(
        self,
        parallelism: int | None = None,
        timeout: float | None = None,
        loss_threshold: float | None = None,
        spark_session: Any = None,
        trial_timeout: float | None = None,
        max_retries: int = 0,
        *,
        cpus_per_trial: int | None = None,
        gpus_per_trial: float | None = None,
        resource_profile: Any = None,
        run_trials_on: str = "executors",
    ):
        super().__init__()
        parallelism = _requested_parallelism(parallelism)
        self.timeout = _positive("timeout", timeout)
        self.trial_timeout = _positive("trial_timeout", trial_timeout)
        ok = loss_threshold is None or is_number(loss_threshold)
        require(ok, "SparkTrials: loss_threshold", "a number (or None)", loss_threshold)
        self.loss_threshold = loss_threshold
        self.max_retries: int = integer_at_least("SparkTrials: max_retries", max_retries, 0)
        self.run_trials_on: str = _where(run_trials_on)
        self.trial_profile: TrialProfile | None = profiles.build(cpus_per_trial, gpus_per_trial, resource_profile)
        if self.trial_profile is not None and self.run_trials_on == "driver":
            raise InvalidArgument(
                "SparkTrials: cpus_per_trial, gpus_per_trial and resource_profile apply to trials run on executors; "
                'with run_trials_on="driver" a trial\'s own Spark jobs ask the cluster for resources'
            )
        self._spark: Any = get_or_create_session(spark_session)
        self.slots: int = self._concurrent_trials()
        self.parallelism: int = parallelism if parallelism is not None else self.slots
        if self.parallelism > self.slots and self.run_trials_on == "executors":
            warnings.warn(
                f"SparkTrials: parallelism={self.parallelism} is more than {self._capacity_text()}", stacklevel=2
            )

    def _concurrent_trials(self) -> int:
        """How many trials the cluster runs at once: task slots, or what fits under the profile.

        Where Spark cannot honour the profile, say so once and run plain tasks, still
        `cpus_per_trial` apart so trials do not share cores.
        """
        slots = task_slots(self._spark)
        if self.run_trials_on == "driver":
            return max(1, min(slots, os.cpu_count() or 1))  # each trial's own Python runs in the driver
        tp = self.trial_profile
        if tp is None:
            return slots
        connect = is_connect_session(self._spark)
        spark = self._spark if connect else self._spark.sparkContext
        reason = profiles.connect_unsupported(spark) if connect else profiles.classic_unsupported(spark)
        if reason is not None:
            return self._without_profile(tp, slots, reason)
        found = (
            profiles.connect_slots(spark, slots, tp.requests) if connect else profiles.classic_slots(spark, tp.requests)
        )
        if found:
            return found
        warnings.warn(
            f"SparkTrials: no executor registered within {profiles.EXECUTOR_WAIT_SECONDS:g} s, so the trials "
            f"that fit under the profile are unknown; parallelism defaults to the task slots ÷ {tp.cpus} CPUs "
            "per trial (pass parallelism=... to choose)",
            stacklevel=3,
        )
        return max(1, slots // tp.cpus)

    def _without_profile(self, tp: TrialProfile, slots: int, reason: str) -> int:
        """Spark cannot honour the profile: say why once; trials run as plain tasks, `cpus` apart."""
        self.trial_profile = replace(tp, unsupported=reason)
        fallback = max(1, slots // tp.cpus)
        gpus = "; GPUs are not assigned (no CUDA_VISIBLE_DEVICES)" if len(tp.requests) > 1 else ""
        warnings.warn(
            f"SparkTrials: the per-trial resources ({profiles.describe(tp.requests)}) cannot be given to trials: "
            f"{reason}. Instead each trial runs as one plain task and parallelism defaults to {fallback} "
            f"({slots} task slots ÷ {tp.cpus} CPUs per trial){gpus}",
            stacklevel=4,
        )
        return fallback

    def _capacity_text(self) -> str:
        """What `parallelism` exceeds, and what happens to the trials beyond it."""
        tp, queue = self.trial_profile, f"trials beyond {self.slots} wait in Spark's queue and do not finish sooner"
        if tp is None:
            return f"the {self.slots} task slots of this cluster; {queue}"
        if tp.unsupported:
            return (
                f"the {self.slots} trials of {tp.cpus} CPUs that fit in the task slots; Spark cannot hold CPUs "
                "for trials here (see the warning above), so trials beyond that share cores"
            )
        per_trial = profiles.describe(tp.requests)
        return f"the {self.slots} trials this cluster can run at once ({per_trial} per trial); {queue}"

    @property
    def spark(self) -> Any:
        """The Spark session trials run on (classic or Spark Connect)."""
        return self._spark

    def count_successful_trials(self) -> int:
        """Trials whose objective returned (status ok or fail), hyperopt's ``JOB_STATE_DONE``."""
        return self.count(TrialState.DONE)

    def count_failed_trials(self) -> int:
        """Trials whose objective raised, returned garbage, timed out or whose worker died."""
        return self.count(TrialState.ERROR)

    def count_cancelled_trials(self) -> int:
        """Trials stopped before they finished (timeouts, stop rules, a lost session, a pruner)."""
        return self.count(TrialState.CANCELLED, TrialState.INTERRUPTED, TrialState.PRUNED)

    def count_total_trials(self) -> int:
        """Successful, failed and cancelled trials together (running ones are not counted)."""
        return self.count_successful_trials() + self.count_failed_trials() + self.count_cancelled_trials()

    def executor(self, fn: Any, max_evals: int | None = None) -> Executor:
        """A Spark executor for one `fmin` call: `parallelism` trials in flight (at most `max_evals`).

        Args:
            fn: the objective.
            max_evals: the run's budget (a warning when `parallelism` exceeds it).
        """
        parallelism = self.parallelism
        if max_evals is not None and parallelism > max_evals:
            warnings.warn(
                f"SparkTrials: parallelism={parallelism} is more than max_evals={max_evals}; "
                f"at most {max_evals} trials can run at once",
                stacklevel=3,
            )
        if self.run_trials_on == "driver":
            from parzen.executors.spark.driver_threads import SparkThreadExecutor

            return SparkThreadExecutor(self._spark, fn, parallelism, self.trial_timeout, self.max_retries)
        tp = self.trial_profile
        profile = None if tp is None or tp.unsupported else tp.profile
        cpus = None if tp is None else tp.cpus
        if is_connect_session(self._spark):
            from parzen.executors.spark.connect import SparkConnectExecutor

            return SparkConnectExecutor(
                self._spark, fn, parallelism, self.trial_timeout, self.max_retries, profile=profile, cpus=cpus
            )
        from parzen.executors.spark.classic import SparkExecutor

        return SparkExecutor(
            self._spark, fn, parallelism, self.trial_timeout, self.max_retries, profile=profile, cpus=cpus
        )

    def __getstate__(self):
        raise TypeError("SparkTrials holds a Spark session and cannot be pickled; use trials_save_file to keep trials")
