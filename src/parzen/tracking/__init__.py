"""Automatic experiment tracking for `fmin` (MLflow, optional extra ``parzen[mlflow]``).

Databricks' build of hyperopt logged every `fmin` to MLflow without a line of user
code; parzen does the same wherever a user would expect it, and stays silent
elsewhere, so that a laptop without a tracking server never fills ``./mlruns``.

Tracking is on when mlflow is importable and a destination is configured: an active
MLflow run in the calling thread, ``MLFLOW_TRACKING_URI`` or ``mlflow.set_tracking_uri``,
or a Databricks runtime. One switch turns it off (or forces it on), checked in this
order: ``fmin(..., mlflow_tracking=False|True)``, the environment variable
``PARZEN_MLFLOW_TRACKING=false|true``, then Databricks' Spark setting
``spark.databricks.mlflow.trackHyperopt.enabled`` (honoured as hyperopt did).
This module imports nothing of mlflow until tracking is known to be wanted.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import sys
from typing import Any

from parzen.driver.observers import Observer
from parzen.exceptions import InvalidArgument

logger = logging.getLogger("parzen")

SWITCH_ENV = "PARZEN_MLFLOW_TRACKING"
"""The environment variable that turns MLflow tracking on or off (``true``/``false``) when `fmin` is not told."""
DATABRICKS_CONF = "spark.databricks.mlflow.trackHyperopt.enabled"
"""The Spark setting Databricks uses to switch hyperopt's MLflow tracking; parzen honours it too."""
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

__all__ = ["DATABRICKS_CONF", "SWITCH_ENV", "tracking_observers", "tracking_wanted"]


def _parse_switch(value: str, where: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidArgument(f"{where} is {value!r}; valid values are {list(_TRUE)} (track) or {list(_FALSE)} (do not)")


def _databricks_switch(trials: Any) -> bool | None:
    """Databricks' own switch, read from the Spark session at hand (None when unset or no session)."""
    session = getattr(trials, "spark", None)
    if session is None and "pyspark" in sys.modules:
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession()
    if session is None:
        return None
    try:
        value = session.conf.get(DATABRICKS_CONF, None)
    except Exception:  # a stopped or unreachable session says nothing about tracking
        return None
    return None if value is None else _parse_switch(str(value), f"the Spark setting {DATABRICKS_CONF}")


def _destination_configured() -> bool:
    """An active run, a tracking URI set by the user, or a Databricks runtime: somewhere users look."""
    if os.environ.get("MLFLOW_TRACKING_URI") or os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        return True
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:  # never imported: no active run and no set_tracking_uri
        return False
    try:
        return mlflow.active_run() is not None or bool(mlflow.tracking.is_tracking_uri_set())
    except Exception:
        return False


def _mlflow_installed() -> bool:
    """Whether mlflow can be imported: imported already, or found on sys.path (searched once per process)."""
    if "mlflow" in sys.modules:
        return sys.modules["mlflow"] is not None
    return _mlflow_on_path()


@functools.cache
def _mlflow_on_path() -> bool:
    return importlib.util.find_spec("mlflow") is not None


def tracking_wanted(mlflow_tracking: bool | None, trials: Any = None) -> bool:
    """Whether this `fmin` call logs to MLflow (see the module docstring for the rules).

    Args:
        mlflow_tracking: `fmin`'s argument: True, False, or None (decide from the environment).
        trials: the run's trials; a `SparkTrials`' session is asked for Databricks' setting.

    Raises:
        InvalidArgument: `mlflow_tracking` is not a bool or None, or tracking is forced on without mlflow.
    """
    if mlflow_tracking is not None and not isinstance(mlflow_tracking, bool):
        raise InvalidArgument(f"mlflow_tracking must be True, False or None (automatic), got {mlflow_tracking!r}")
    wanted = mlflow_tracking
    if wanted is None and os.environ.get(SWITCH_ENV, "").strip():
        wanted = _parse_switch(os.environ[SWITCH_ENV], f"the environment variable {SWITCH_ENV}")
    if wanted is False:
        return False
    installed = _mlflow_installed()
    if wanted is True and not installed:
        raise InvalidArgument(
            "MLflow tracking was asked for (mlflow_tracking=True or PARZEN_MLFLOW_TRACKING=true) but mlflow "
            "is not installed: pip install 'parzen[mlflow]'"
        )
    if wanted is True:
        return True
    if not installed or not _destination_configured():
        return False
    return _databricks_switch(trials) is not False


def tracking_observers(mlflow_tracking: bool | None, trials: Any = None) -> list[Observer]:
    """The tracking observers of one `fmin` call: an `MlflowObserver` when tracking is wanted.

    Args:
        mlflow_tracking: `fmin`'s argument: True, False, or None (decide from the environment).
        trials: the run's trials; a `SparkTrials`' session is asked for Databricks' setting.
    """
    if not tracking_wanted(mlflow_tracking, trials):
        return []
    try:
        from parzen.tracking.mlflow_observer import MlflowObserver

        return [MlflowObserver()]
    except Exception:
        if mlflow_tracking:
            raise
        logger.warning("MLflow tracking is switched off for this run: mlflow could not be set up", exc_info=True)
        return []
