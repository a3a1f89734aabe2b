"""Helpers for tests that need a Spark standalone cluster on 127.0.0.1 built from pip's pyspark (master + workers),
optionally with fake GPUs: a worker's discovery script prints addresses, which is all
Spark needs to schedule tasks by GPU."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {limit}s")


def gpu_discovery_script(folder: Path, addresses: list[str]) -> Path:
    """A resource discovery script announcing fake GPUs with these addresses."""
    script = folder / "discover-gpus.sh"
    script.write_text("#!/bin/sh\necho '" + json.dumps({"name": "gpu", "addresses": addresses}) + "'\n")
    script.chmod(0o755)
    return script


@contextlib.contextmanager
def standalone_cluster(
    folder: Path, workers: int = 1, cores: int = 2, gpus: int = 0, memory: str = "1G"
) -> Iterator[dict[str, str]]:
    """A master and `workers` workers of `cores` cores (and `gpus` fake GPUs each) on 127.0.0.1.

    Yields the Spark conf an application needs: the master URL plus, with GPUs, the
    matching ``spark.executor.resource.gpu.*`` settings.
    """
    import pyspark

    spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
    port = _free_port()
    env = dict(os.environ, SPARK_WORKER_DIR=str(folder / "work"), SPARK_LOCAL_IP="127.0.0.1")
    env.pop("SPARK_REMOTE", None)
    conf = {"spark.master": f"spark://127.0.0.1:{port}"}
    if gpus:
        script = gpu_discovery_script(folder, [str(i) for i in range(gpus)])
        env["SPARK_WORKER_OPTS"] = (
            f"-Dspark.worker.resource.gpu.amount={gpus} -Dspark.worker.resource.gpu.discoveryScript={script}"
        )
        conf |= {
            "spark.executor.resource.gpu.amount": str(gpus),
            "spark.executor.resource.gpu.discoveryScript": str(script),
        }
    log = open(folder / "cluster.log", "wb")  # noqa: SIM115 (closed below)
    master = ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port)]
    procs = [_spark_process(spark_class, master + ["--webui-port", str(_free_port())], env, log)]
    try:
        _wait_for_port(port)
        for _ in range(workers):
            worker = ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", str(cores)]
            worker += ["--memory", memory, "--webui-port", str(_free_port()), conf["spark.master"]]
            procs.append(_spark_process(spark_class, worker, env, log))
        yield conf
    finally:
        for p in procs:
            os.killpg(p.pid, 15)
        for p in procs:
            p.wait(timeout=30)
        log.close()


def _spark_process(spark_class: Path, args: list[str], env: dict[str, str], log) -> subprocess.Popen:
    return subprocess.Popen(
        [str(spark_class), *args], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def run_driver(script: str, folder: Path, conf: dict[str, str], executor_python: Path | str | None = None) -> dict:
    """Run `script` as a driver program (its own process: one SparkContext each) and return
    what it printed on its ``RESULT {json}`` line. The script gets ``conf`` (JSON) as argv[1]."""
    path = folder / "driver.py"
    path.write_text(script)
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=str(executor_python or sys.executable))
    env.pop("SPARK_REMOTE", None)
    if executor_python:
        conf = conf | {"spark.pyspark.python": str(executor_python)}
    result = subprocess.run(
        [sys.executable, str(path), json.dumps(conf)], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :]) | {"stdout": result.stdout, "stderr": result.stderr}
