"""Stopping trials early: the pruners, the report server, and what objectives call.

An objective reports how it is doing with ``parzen.report(step, value)`` and raises
``parzen.TrialPruned`` when told to stop. The driver thread records each report and asks
the run's pruner (`pruners`: median, successive halving / ASHA, Hyperband, with optuna's
decisions; successive halving on several objectives, MO-ASHA); from Spark executors
reports arrive through `server`. The driver's side of a run is `parzen.driver.reports`.
"""

from parzen._remote.report import TrialPruned, report
from parzen.pruning.pruners import (
    ASHAPruner,
    HyperbandPruner,
    MedianPruner,
    MOASHAPruner,
    MOSuccessiveHalvingPruner,
    NopPruner,
    Pruner,
    SuccessiveHalvingPruner,
)

__all__ = [
    "ASHAPruner",
    "HyperbandPruner",
    "MedianPruner",
    "MOASHAPruner",
    "MOSuccessiveHalvingPruner",
    "NopPruner",
    "Pruner",
    "SuccessiveHalvingPruner",
    "TrialPruned",
    "report",
]
