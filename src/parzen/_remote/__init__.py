"""What runs where trials run: standard library only, shipped to Spark executors by value.

Executors need pyspark but not parzen: every module of this package imports only the
standard library (and pyspark/pyarrow inside the functions that run in a Spark task),
and `ship_by_value` makes pyspark's cloudpickle carry their functions by value instead
of by reference. The in-process executors call the same functions, so a trial means the
same thing on every backend.

* `outcome`: the `Outcome` record (the one thing that crosses back to the driver), the
  status constants and what a result may be;
* `context`: the running trial's context (per thread), with its MLflow run active;
* `run`: calling the objective (timed, output captured) and the Spark task functions;
* `bootstrap`: the few lines a classic Spark job carries, which load `run` once per worker;
* `resources`: CPUs and GPUs Spark gave the trial; `versions`: driver/executor mismatches;
* `report`: ``parzen.report`` and `TrialPruned`, what objectives call to be pruned.

Per-process state (the running trial's slot, loaded objectives and code) lives in small
modules registered in ``sys.modules``, because several by-value copies of these modules
may meet in one Python worker.
"""

from __future__ import annotations


def ship_by_value() -> None:
    """Make pyspark's cloudpickle pickle this package's functions by value (driver side, once is enough)."""
    import sys

    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
