"""Shared fixtures. Spark tests start one real local-mode session for the whole run."""

import os
import sys

import pytest


@pytest.fixture(scope="session")
def spark():
    """A real local[4] Spark session whose executors use this interpreter."""
    pytest.importorskip("pyspark")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from parzen.spark import LOCAL_SESSION_CONF

    builder = SparkSession.builder.master("local[4]").appName("parzen-tests")
    for key, value in LOCAL_SESSION_CONF.items():
        builder = builder.config(key, value)
    session = builder.config("spark.ui.enabled", "false").getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
