"""The Spark session trials run on: finding or creating it, what kind it is, how many task slots it has.

Shared by the classic, Connect and driver-thread executors and by `SparkTrials`.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from parzen.exceptions import InvalidArgument

# What parzen sets when it has to create the Spark session itself.
LOCAL_SESSION_CONF = {
    "spark.ui.showConsoleProgress": "false",
    "spark.python.worker.reuse": "true",
    "spark.python.task.killTimeout": "200ms",  # a cancelled trial's Python worker dies fast
    "spark.python.worker.faulthandler.enabled": "true",  # tracebacks of segfaulting trials
}


def is_connect_session(session: Any) -> bool:
    """True for a Spark Connect session (Databricks serverless / shared clusters)."""
    return type(session).__module__.startswith("pyspark.sql.connect")


def get_or_create_session(spark_session: Any = None) -> Any:
    """The session to use: the given one, the active one, or a new local-mode one.

    A session parzen creates itself runs executors on the driver's own interpreter
    (unless PYSPARK_PYTHON says otherwise) and keeps a master set by ``spark-submit``.
    """
    if spark_session is not None:
        return _checked_session(spark_session)
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ImportError("SparkTrials needs pyspark: pip install 'parzen[spark]'") from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if os.environ.get("SPARK_REMOTE"):
        return SparkSession.builder.getOrCreate()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if _starts_a_local_jvm():
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # the driver and its UI listen on loopback only
    from pyspark import SparkConf

    builder = SparkSession.builder.appName("parzen")
    if not SparkConf().contains("spark.master"):
        builder = builder.master("local[*]")
    for key, value in LOCAL_SESSION_CONF.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _checked_session(session: Any) -> Any:
    """A SparkSession (classic or Connect), or `InvalidArgument` saying what was passed instead."""
    if hasattr(session, "sparkContext") or is_connect_session(session):
        return session
    if type(session).__name__ == "SparkContext":
        raise InvalidArgument(
            "SparkTrials: spark_session must be a SparkSession, got a SparkContext: pass the session "
            "(in a notebook `spark`, not `sc`; elsewhere SparkSession.builder.getOrCreate())"
        )
    raise InvalidArgument(
        f"SparkTrials: spark_session must be a SparkSession (or None for the active one), "
        f"got {type(session).__module__}.{type(session).__name__}"
    )


def _starts_a_local_jvm() -> bool:
    """True when parzen is about to launch Spark's JVM for a local-mode session.

    Not under spark-submit (whose JVM already runs), and no cluster master asked for in
    PYSPARK_SUBMIT_ARGS or spark-defaults.conf: then nothing but this machine talks to
    the driver, so it (and the Spark UI, which would otherwise listen on every
    interface) can bind to 127.0.0.1.
    """
    if os.environ.get("PYSPARK_GATEWAY_PORT"):
        return False
    submit_args = os.environ.get("PYSPARK_SUBMIT_ARGS", "")
    if "--master" in submit_args and "--master local" not in submit_args:
        return False
    spark_home = os.environ.get("SPARK_HOME")
    defaults = os.path.join(spark_home, "conf", "spark-defaults.conf") if spark_home else ""
    if defaults and os.path.exists(defaults):
        with open(defaults) as f:
            masters = [ln.split()[1:2] for ln in f if ln.strip().startswith("spark.master")]
        if any(m and not m[0].startswith("local") for m in masters):
            return False
    return True


def task_slots(session: Any) -> int:
    """Concurrent task slots of the cluster, from public APIs of pyspark 3.5 and 4.x."""
    if is_connect_session(session):
        value = session.conf.get("spark.default.parallelism", None)
        return int(value) if value else os.cpu_count() or 1
    sc = session.sparkContext
    cpus_per_task = int(sc.getConf().get("spark.task.cpus", "1"))
    return max(1, sc.defaultParallelism // max(1, cpus_per_task))


# Spark's startup and scheduling are not charged to a trial: the objective's own run is
# timed on the executor; the driver cancels a trial stuck in native code this much later.
STARTUP_GRACE_SECONDS = 30.0


def session_gone_reason(exc: BaseException, markers: tuple[str, ...]) -> str | None:
    """A one-line reason when `exc` says the Spark session is gone, else None."""
    text = f"{type(exc).__name__}: {exc}"
    for marker in markers:
        if marker in text:
            return f"the Spark session is no longer usable ({marker})"
    return None
