"""Every executor of parzen against the public contract suite (`parzen.testing.executors`): in
process, driver threads, classic Spark (local mode), Spark Connect (a real Connect server), and
driver threads whose trials run Spark jobs under their own job group / tag (classic and Connect).

A new executor gets these tests with a class here.
"""

from __future__ import annotations

import pytest

import parzen.testing.executors
from parzen.executors.serial import SerialExecutor
from parzen.executors.threads import ThreadExecutor
from parzen.testing.executors import ExecutorContract

try:  # the serial and thread contracts run where pyspark is absent too
    from pyspark import cloudpickle
except ImportError:
    pass
else:
    cloudpickle.register_pickle_by_value(parzen.testing.executors)  # its objective reaches executors by value


class TestSerial(ExecutorContract):
    def build(self, objective, parallelism):
        return SerialExecutor(objective, capacity=parallelism, catch_exceptions=True)


class TestThreads(ExecutorContract):
    def build(self, objective, parallelism):
        return ThreadExecutor(objective, parallelism)


class WithSession(ExecutorContract):
    """An executor on the Spark session of the fixture named `session`."""

    session = "spark"

    @pytest.fixture(autouse=True)
    def _session(self, request):
        self.spark = request.getfixturevalue(self.session)


@pytest.mark.spark
class TestClassicSpark(WithSession):
    def build(self, objective, parallelism):
        from parzen.executors.spark.classic import SparkExecutor

        return SparkExecutor(self.spark, objective, parallelism, None, 0)


@pytest.mark.spark
@pytest.mark.slow
class TestSparkConnect(WithSession):
    session = "connect_spark"

    def build(self, objective, parallelism):
        from parzen.executors.spark.connect import SparkConnectExecutor

        return SparkConnectExecutor(self.spark, objective, parallelism, None, 0)


@pytest.mark.spark
class TestSparkDriverThreads(WithSession):
    def build(self, objective, parallelism):
        from parzen.executors.spark.driver_threads import SparkThreadExecutor

        return SparkThreadExecutor(self.spark, objective, parallelism)


@pytest.mark.spark
@pytest.mark.slow
class TestConnectDriverThreads(WithSession):
    session = "connect_spark"

    def build(self, objective, parallelism):
        from parzen.executors.spark.driver_threads import SparkThreadExecutor

        return SparkThreadExecutor(self.spark, objective, parallelism)
