"""Shared fixtures. Spark tests start one real local-mode session for the whole run; the
Spark Connect tests share one real Connect server, a separate JVM on 127.0.0.1."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, limit: float = 120.0) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {limit}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def connect_url(tmp_path_factory):
    """``sc://127.0.0.1:<port>`` of a Spark Connect server (local[4]) started for this run.

    The server is its own JVM, as on Databricks: the test process is only a Connect
    client. pip's pyspark bundles the server from 4.0 on; on 3.5 the tests skip.
    """
    pytest.importorskip("grpc", reason="Spark Connect needs pyspark[connect]")
    import pyspark

    if int(pyspark.__version__.split(".")[0]) < 4:
        pytest.skip(f"pip's pyspark {pyspark.__version__} has no Spark Connect server (it ships from 4.0)")
    spark_home = Path(pyspark.__file__).parent
    port = free_port()
    log = tmp_path_factory.mktemp("connect") / "server.log"
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    env.pop("SPARK_REMOTE", None)
    command = [
        str(spark_home / "bin" / "spark-submit"),
        "--class",
        "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--master",
        "local[4]",
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
        "--conf",
        "spark.connect.grpc.binding.address=127.0.0.1",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        "spark.python.worker.reuse=true",
        "spark-internal",
    ]
    with open(log, "wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, server, log)
        yield f"sc://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


@pytest.fixture(scope="session")
def connect_spark(connect_url):
    """A Spark Connect client session on the test server (no SparkContext, as on serverless)."""
    from pyspark.sql.connect.session import SparkSession as ConnectSession  # beside the classic test session

    session = ConnectSession.builder.remote(connect_url).getOrCreate()
    yield session
    session.stop()
