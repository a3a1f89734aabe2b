"""Shared fixtures. Spark tests start one real local-mode session for the whole run; the
Spark Connect tests share one real Connect server, a separate JVM on 127.0.0.1."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# A suite started in the background by a non-interactive shell (`.ci/run &`, nohup) inherits
# SIGINT ignored, and so would every subprocess it starts: a server the tests stop with
# Ctrl-C (`parzen dashboard`) would never stop. A handler here is reset to the default in
# children, so they get Ctrl-C as a user's terminal gives it.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def spark():
    """A real local[4] Spark session whose executors use this interpreter."""
    pytest.importorskip("pyspark")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from parzen.executors.spark.session import LOCAL_SESSION_CONF

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


@contextlib.contextmanager
def connect_server(log: Path, python: str = sys.executable, cores: int = 4) -> Iterator[str]:
    """A Spark Connect server in its own JVM on 127.0.0.1, as on Databricks; yields its URL.

    Its Python workers run `python`. pip's pyspark bundles the server from 4.0 on; on
    3.5 the caller is skipped.
    """
    pytest.importorskip("grpc", reason="Spark Connect needs pyspark[connect]")
    import pyspark

    if int(pyspark.__version__.split(".")[0]) < 4:
        pytest.skip(f"pip's pyspark {pyspark.__version__} has no Spark Connect server (it ships from 4.0)")
    spark_home = Path(pyspark.__file__).parent
    port = free_port()
    env = dict(os.environ, PYSPARK_PYTHON=str(python), SPARK_LOCAL_IP="127.0.0.1")
    env.pop("SPARK_REMOTE", None)
    settings = {
        "spark.connect.grpc.binding.port": port,
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.python.worker.reuse": "true",
    }
    command = [
        str(spark_home / "bin" / "spark-submit"),
        "--class",
        "org.apache.spark.sql.connect.service.SparkConnectServer",
    ]
    command += ["--master", f"local[{cores}]"]
    for key, value in settings.items():
        command += ["--conf", f"{key}={value}"]
    with open(log, "wb") as out:
        server = subprocess.Popen(
            command + ["spark-internal"], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for_port(port, server, log)
        yield f"sc://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


@pytest.fixture(scope="session")
def connect_url(tmp_path_factory):
    """``sc://127.0.0.1:<port>`` of the Spark Connect server (local[4]) shared by this run."""
    with connect_server(tmp_path_factory.mktemp("connect") / "server.log") as url:
        yield url


@pytest.fixture(scope="session")
def connect_spark(connect_url):
    """A Spark Connect client session on the test server (no SparkContext, as on serverless)."""
    from pyspark.sql.connect.session import SparkSession as ConnectSession  # beside the classic test session

    session = ConnectSession.builder.remote(connect_url).getOrCreate()
    yield session
    session.stop()


def python_without(folder: Path, *modules: str) -> Path:
    """A virtualenv that sees this one's packages except parzen and `modules`.

    Executors of a real cluster often lack what the driver has. The new environment's
    site-packages gets a .pth file naming a folder of links to each package of this
    one, minus the excluded ones (an editable install of parzen is a .pth file, which
    is not followed from there, so parzen is never visible).
    """
    import site
    import sysconfig

    env_dir, visible = folder / "env", folder / "visible-site"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    visible.mkdir()
    excluded = tuple(m.lower() for m in modules)
    for entry in Path(site.getsitepackages()[0]).iterdir():
        name = entry.name.lower()
        if name.endswith(".pth") or name.startswith(("__editable__", "parzen")) or name.startswith(excluded):
            continue
        (visible / entry.name).symlink_to(entry)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "visible.pth").write_text(f"{visible}\n")
    del sysconfig
    return python


class MlflowServer:
    """A real ``mlflow server`` on 127.0.0.1 (sqlite backend, artifacts in a folder); a test may kill and restart it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.folder / "server.log"
        command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--backend-store-uri", f"sqlite:///{self.folder / 'mlflow.db'}", "--workers", "1"]
        command += ["--default-artifact-root", str(self.folder / "artifacts")]
        env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                command, cwd=self.folder, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for_port(self.port, self.process, log, limit=180.0)

    def kill(self) -> None:
        """SIGKILL, as a crashed or unreachable server: nothing is flushed, the port is closed."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=30)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """One real MLflow tracking server for the whole run."""
    pytest.importorskip("mlflow")
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def mlflow_experiment(mlflow_server, monkeypatch, request):
    """Points MLflow at the test server, in a fresh experiment of its own; yields (client, experiment id).

    The client fails fast (no long retries), so parzen's own retries are what is tested.
    """
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    client = MlflowClient(mlflow_server.uri)
    experiment_id = client.create_experiment(f"{request.node.name}-{time.time_ns()}")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", experiment_id)
    return client, experiment_id
