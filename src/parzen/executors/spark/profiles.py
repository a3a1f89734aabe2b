"""Resources per trial: a Spark `ResourceProfile` on each trial's job, and how many trials fit.

A trial that trains with ``n_jobs=8`` or on a GPU must hold that much of the cluster
while it runs; otherwise eight 8-thread trials share eight cores. Spark's stage-level
scheduling does exactly that: a job whose RDD (classic) or ``mapInArrow`` (Connect,
Spark 4.0+) carries a task-only profile gets tasks that hold the profile's CPUs and
GPUs, and GPUs are assigned by address. From the profile and the executors'
resources follows how many trials can run at once, which is the default
``parallelism``. Where Spark cannot honour a profile (local mode, dynamic allocation
before Spark 4.0, a Connect client without ``profile=``) trials run as plain tasks
and the reason is said once.
"""

from __future__ import annotations

import inspect
import math
import numbers
import time
from dataclasses import dataclass
from typing import Any

from parzen._validation import is_integer, require
from parzen.exceptions import InvalidArgument

EXECUTOR_WAIT_SECONDS = 60.0  # how long SparkTrials waits for a new cluster's first executor


@dataclass(frozen=True)
class TrialProfile:
    """What each trial's job asks for and whether Spark is given the profile."""

    profile: Any  # the pyspark ResourceProfile put on each trial's job; None: plain tasks
    requests: dict[str, float]  # per trial: {"cpus": 2, "gpu": 1, ...}
    unsupported: str | None = None  # why the profile is not used (None: it is)

    @property
    def cpus(self) -> int:
        return int(self.requests.get("cpus", 1))


def _whole(name: str, value: Any) -> int | None:
    if value is None:
        return None
    require(is_integer(value) and value >= 1, f"SparkTrials: {name}", "a positive integer (or None)", value)
    return int(value)


def _gpus(value: Any) -> float | None:
    """A whole number of GPUs, or a fraction 1/k of one (k trials share a GPU), as Spark allows."""
    if value is None:
        return None
    amount = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else math.nan
    if math.isfinite(amount) and amount > 0 and (amount.is_integer() or (amount < 1 and (1 / amount).is_integer())):
        return amount
    raise InvalidArgument(
        f"SparkTrials: gpus_per_trial must be a positive integer or a fraction 1/k of a GPU "
        f"(0.5, 0.25, ...), got {value!r}"
    )


def build(cpus_per_trial: Any, gpus_per_trial: Any, resource_profile: Any) -> TrialProfile | None:
    """The profile each trial asks for (None when nothing is asked), arguments checked."""
    cpus, gpus = _whole("cpus_per_trial", cpus_per_trial), _gpus(gpus_per_trial)
    if resource_profile is not None:
        if cpus is not None or gpus is not None:
            raise InvalidArgument(
                "SparkTrials: pass either resource_profile or cpus_per_trial/gpus_per_trial, not both "
                "(put the CPUs and GPUs in the profile's TaskResourceRequests)"
            )
        return TrialProfile(resource_profile, requests_of(resource_profile))
    if cpus is None and gpus is None:
        return None
    from pyspark.resource import ResourceProfileBuilder, TaskResourceRequests

    task = TaskResourceRequests().cpus(cpus or 1)
    requests: dict[str, float] = {"cpus": cpus or 1}
    if gpus is not None:
        task = task.resource("gpu", gpus)
        requests["gpu"] = gpus
    return TrialProfile(ResourceProfileBuilder().require(task).build, requests)


def requests_of(profile: Any) -> dict[str, float]:
    """A pyspark `ResourceProfile`'s task requests as {"cpus": n, name: amount}."""
    task_resources = getattr(profile, "taskResources", None)
    if task_resources is None or not hasattr(profile, "executorResources"):
        raise InvalidArgument(
            f"SparkTrials: resource_profile must be a pyspark.resource.ResourceProfile "
            f"(ResourceProfileBuilder().require(TaskResourceRequests()...).build), got {type(profile).__name__}"
        )
    requests = {name: float(request.amount) for name, request in task_resources.items()}
    requests.setdefault("cpus", 1.0)
    return requests


def fits(shape: dict[str, float], requests: dict[str, float]) -> int:
    """How many trials asking `requests` one executor of `shape` holds at once.

    A fraction of a resource (0.5 GPU) lets 1/fraction trials share each address.
    """
    counts = []
    for name, amount in requests.items():
        have = shape.get(name, 0.0)
        counts.append(int(have * round(1 / amount)) if amount < 1 else int(have // amount))
    return min(counts) if counts else 0


# ---- classic Spark -------------------------------------------------------------------------


def executor_shapes(sc: Any, wait: float = EXECUTOR_WAIT_SECONDS) -> list[dict[str, float]]:
    """Each live executor's cores and resource addresses, e.g. ``{"cpus": 4, "gpu": 2}``.

    Read from the driver's status store (what Spark's UI shows). A cluster that was just
    started may not have registered an executor yet: wait for one, at most `wait` seconds.
    """
    store = sc._jsc.sc().statusStore()
    end = time.monotonic() + wait
    while True:
        summaries = store.executorList(True)
        shapes = [s for s in (_shape(summaries.apply(i)) for i in range(summaries.size())) if s is not None]
        if shapes or time.monotonic() >= end:
            return shapes
        time.sleep(0.2)  # setup only: the executors' registration has no event to wait on


def _shape(summary: Any) -> dict[str, float] | None:
    if summary.id() == "driver":
        return None
    shape = {"cpus": float(summary.totalCores())}
    resources = summary.resources()
    names = resources.keySet().toList()
    for i in range(names.size()):
        name = names.apply(i)
        shape[name] = float(len(resources.get(name).get().addresses()))
    return shape


def classic_unsupported(sc: Any) -> str | None:
    """Why this SparkContext cannot schedule trials by profile, or None if it can."""
    master = sc.master or ""
    if master.startswith("local"):
        return (
            f"Spark local mode ({master}) cannot schedule tasks by resource profile (standalone, YARN, Kubernetes can)"
        )
    dynamic = sc.getConf().get("spark.dynamicAllocation.enabled", "false").lower() == "true"
    if dynamic and _spark_major() < 4:
        return "dynamic allocation is on, and Spark before 4.0 honours task resource profiles only without it"
    return None


def _spark_major() -> int:
    import pyspark

    return int(pyspark.__version__.split(".")[0])


def classic_slots(sc: Any, requests: dict[str, float]) -> int:
    """Trials the registered executors can run at once under `requests` (0 if none registered).

    Raises `InvalidArgument` when no executor could ever run one trial: Spark would
    otherwise wait forever for resources that will not come.
    """
    shapes = executor_shapes(sc)
    if not shapes:
        return 0
    slots = sum(fits(shape, requests) for shape in shapes)
    if slots == 0:
        raise InvalidArgument(f"SparkTrials: {describe(requests)} per trial, but {_largest(shapes, requests)}")
    return slots


def describe(requests: dict[str, float]) -> str:
    parts = [f"{requests.get('cpus', 1):g} CPUs"] + [f"{v:g} {k}" for k, v in requests.items() if k != "cpus"]
    return "asked for " + " and ".join(parts)


def _largest(shapes: list[dict[str, float]], requests: dict[str, float]) -> str:
    """Which request no executor can meet, with what the executors have (and how to fix it)."""
    for name, amount in requests.items():
        most = max(shape.get(name, 0.0) for shape in shapes)
        if fits({name: most}, {name: amount}) == 0:
            setting = "spark.executor.cores" if name == "cpus" else f"spark.executor.resource.{name}.amount"
            return (
                f"the largest of the {len(shapes)} executors has {most:g} {name} ({setting}); "
                f"valid: at most {most:g} {name} per trial, or executors with more"
            )
    return f"no executor has all of it at once (executors: {shapes})"


# ---- Spark Connect ---------------------------------------------------------------------------


def connect_unsupported(session: Any) -> str | None:
    """Why this Spark Connect session cannot take a profile on ``mapInArrow``, or None."""
    if "profile" not in inspect.signature(session.range(0).mapInArrow).parameters:
        import pyspark

        return f"pyspark {pyspark.__version__}'s Spark Connect client has no mapInArrow(profile=) (Spark 4.0+)"
    master = str(session.conf.get("spark.master", "") or "")
    if master.startswith("local"):
        return f"the Spark Connect server runs in local mode ({master}), which cannot schedule by resource profile"
    return None


def connect_slots(session: Any, task_slots: int, requests: dict[str, float]) -> int:
    """Trials a Connect cluster runs at once, from its settings (a client cannot list executors)."""
    count = _conf_number(session, "spark.executor.instances")
    cores = _conf_number(session, "spark.executor.cores")
    shape = {"cpus": cores} if cores else {}
    for name in requests:
        if name != "cpus":
            shape[name] = _conf_number(session, f"spark.executor.resource.{name}.amount") or 0.0
    if count and cores:
        return int(count) * fits(shape, requests)
    return max(1, task_slots // max(1, int(requests.get("cpus", 1))))


def _conf_number(session: Any, key: str) -> float | None:
    try:
        value = session.conf.get(key, None)
    except Exception:  # a Connect server may refuse to show a setting
        return None
    try:
        return float(value) if value else None
    except ValueError:
        return None
