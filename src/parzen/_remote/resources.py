"""What a trial may use: the CPUs and resources (GPUs) Spark's stage-level scheduling gave its task.

Standard library only: this runs on Spark executors, shipped by value (see `parzen._remote`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from parzen._remote.context import _current


def trial_resources() -> dict[str, Any]:
    """What the running trial may use: ``{"cpus": 2, "gpu": ["1"]}``.

    On Spark, ``cpus`` is what the trial asked for (``cpus_per_trial``, else
    ``spark.task.cpus``), to pass to ``n_jobs``; every custom resource Spark assigned to
    the task (``gpu``, ...) maps to its addresses, which are also in
    ``pyspark.TaskContext.get().resources()``. ``CUDA_VISIBLE_DEVICES`` is set to the
    GPU addresses while the objective runs. Outside a Spark task (``Trials``, driver
    threads) it is ``{"cpus": os.cpu_count()}``.
    """
    granted = getattr(_current(), "resources", None)
    return dict(granted) if granted is not None else {"cpus": os.cpu_count() or 1}


def granted_resources(requested: dict[str, Any] | None) -> dict[str, Any] | None:
    """What Spark gave this task: CPUs (as asked, else the task's) and resource addresses."""
    try:
        from pyspark import TaskContext
    except ImportError:
        return None
    context = TaskContext.get()
    if context is None:
        return None
    cpus = (requested or {}).get("cpus") or (context.cpus() if hasattr(context, "cpus") else 1)
    granted: dict[str, Any] = {"cpus": int(cpus)}
    for name, info in (context.resources() or {}).items():
        granted[name] = list(info.addresses)
    return granted


@contextlib.contextmanager
def using_resources(granted: dict[str, Any] | None) -> Iterator[None]:
    """Make `granted` what `trial_resources()` returns, and expose its GPUs via CUDA_VISIBLE_DEVICES."""
    slot = _current()
    previous, saved_cuda = getattr(slot, "resources", None), os.environ.get("CUDA_VISIBLE_DEVICES")
    slot.resources = granted
    if granted is not None and "gpu" in granted:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(granted["gpu"])
    try:
        yield
    finally:
        slot.resources = previous
        if saved_cuda is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = saved_cuda
