"""Resources per trial on a real standalone cluster with fake GPUs (a discovery script that
announces addresses "0" and "1"), and what happens where Spark cannot honour a profile.

The cluster's executors run a Python that has neither parzen nor scipy: objectives that
say ``import parzen`` / ``parzen.STATUS_OK`` / ``parzen.pyll.scope`` work there because
the driver ships its copy of parzen once per session, at the first run whose objective
or point refers to parzen (a run that does not ships nothing).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from cluster_helpers import run_driver, standalone_cluster

from conftest import python_without
from parzen import SparkTrials, fmin, hp, rand
from parzen.exceptions import InvalidArgument

pytestmark = [pytest.mark.spark]

PRELUDE = textwrap.dedent(
    """
    import importlib.util, json, os, sys, time, warnings
    from pyspark.sql import SparkSession
    import parzen
    from parzen import SparkTrials, fmin, hp, rand
    from parzen.exceptions import InvalidArgument

    builder = SparkSession.builder.appName("parzen-resources").config("spark.ui.enabled", "false")
    for key, value in json.loads(sys.argv[1]).items():
        builder = builder.config(key, value)
    spark = builder.config("spark.executor.memory", "512m").getOrCreate()
    space = {"x": hp.uniform("x", 0, 1)}

    def run(objective, max_evals=8, **options):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trials = SparkTrials(spark_session=spark, **options)
            try:
                fmin(objective, space, algo=rand.suggest, trials=trials, max_evals=max_evals, show_progressbar=False)
            except parzen.AllTrialsFailed:
                pass
        return {"parallelism": trials.parallelism, "results": [r.result for r in trials.records],
                "errors": [r.error for r in trials.records if r.error], "warnings": [str(w.message) for w in caught]}
    """
)

GPU_DRIVER = PRELUDE + textwrap.dedent(
    """
    def objective(p):
        from parzen import STATUS_OK  # executors have no parzen installed: the shipped copy answers
        from pyspark import TaskContext

        start = time.time()
        time.sleep(2)
        assigned = TaskContext.get().resources()
        return {"loss": p["x"], "status": parzen.STATUS_OK, "imported": STATUS_OK, "start": start, "end": time.time(),
                "task_gpus": list(assigned["gpu"].addresses) if "gpu" in assigned else [],
                "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"), "granted": parzen.trial_resources(),
                "scope": parzen.space_eval({"n": parzen.pyll.scope.int(2.7)}, {})["n"],
                "has_scipy": importlib.util.find_spec("scipy") is not None, "parzen_file": parzen.__file__}

    report = {"default": {
        "gpu1": SparkTrials(spark_session=spark, gpus_per_trial=1).parallelism,  # waits for the executor
        "plain": SparkTrials(spark_session=spark).parallelism,
        "cpu2": SparkTrials(spark_session=spark, cpus_per_trial=2).parallelism,
        "gpu_half": SparkTrials(spark_session=spark, gpus_per_trial=0.5).parallelism,
    }}
    def plain_objective(p):  # mentions nothing of parzen: nothing is shipped for it
        return {"loss": p["x"], "status": "ok"}

    report["unshipped"] = run(plain_objective, max_evals=4, parallelism=2)
    report["shipped_before"] = [f for f in spark.sparkContext.listFiles if "parzen-" in f]
    report["plain"] = run(objective, parallelism=4)
    report["cpu2"] = run(objective, parallelism=4, cpus_per_trial=2)
    report["gpu1"] = run(objective, parallelism=4, gpus_per_trial=1)
    report["refused"] = {}
    for name, options in {"cpus8": {"cpus_per_trial": 8}, "gpus3": {"gpus_per_trial": 3}}.items():
        try:
            SparkTrials(spark_session=spark, **options)
            report["refused"][name] = None
        except InvalidArgument as exc:
            report["refused"][name] = str(exc)
    report["shipped"] = [f for f in spark.sparkContext.listFiles if "parzen-" in f]
    print("RESULT " + json.dumps(report))
    spark.stop()
    """
)


@pytest.fixture(scope="module")
def gpu_cluster(tmp_path_factory):
    """One worker of 4 cores and 2 fake GPUs; executors run a Python without parzen or scipy."""
    folder = tmp_path_factory.mktemp("gpu-cluster")
    python = python_without(folder, "scipy")
    probe = subprocess.run([str(python), "-c", "import pyspark, numpy; import scipy"], capture_output=True, text=True)
    assert "No module named 'scipy'" in probe.stderr, probe.stderr
    with standalone_cluster(folder, workers=1, cores=4, gpus=2) as conf:
        yield conf, python, folder


def max_overlap(results: list[dict]) -> int:
    """The most trials that ran at the same moment (from their own start/end clocks)."""
    events = sorted([(r["start"], 1) for r in results] + [(r["end"], -1) for r in results])
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


def test_gpus_and_cpus_per_trial_on_a_standalone_cluster(gpu_cluster, tmp_path):
    conf, python, _ = gpu_cluster
    report = run_driver(GPU_DRIVER, tmp_path, conf, executor_python=python)

    # the default parallelism follows the profile: 4 cores, 2 GPUs on the one executor
    assert report["default"] == {"gpu1": 2, "plain": 4, "cpu2": 2, "gpu_half": 4}

    plain, cpu2, gpu1 = report["plain"], report["cpu2"], report["gpu1"]
    for run in (plain, cpu2, gpu1):
        assert run["errors"] == [] and len(run["results"]) == 8
        assert {(r["status"], r["imported"], r["scope"], r["has_scipy"]) for r in run["results"]} == {
            ("ok", "ok", 2, False)
        }
        assert all(".zip" in r["parzen_file"] for r in run["results"]), "the shipped copy of parzen answered"
    assert max_overlap(plain["results"]) >= 3  # without a profile, 4 trials share the 4 cores
    assert max_overlap(cpu2["results"]) <= 2  # Spark holds 2 cores per trial: half as many at once
    assert {r["granted"]["cpus"] for r in cpu2["results"]} == {2}
    assert any("more than the 2 trials this cluster can run at once" in w for w in cpu2["warnings"])

    # every trial held one GPU; CUDA_VISIBLE_DEVICES said which; two trials never held the same one at once
    gpu_results = gpu1["results"]
    assert max_overlap(gpu_results) <= 2
    for r in gpu_results:
        assert len(r["task_gpus"]) == 1 and r["cuda"] == r["task_gpus"][0] and r["granted"]["gpu"] == r["task_gpus"]
    for i, a in enumerate(gpu_results):
        for b in gpu_results[i + 1 :]:
            if a["start"] < b["end"] and b["start"] < a["end"]:
                assert a["task_gpus"] != b["task_gpus"], (a, b)
    assert {r["task_gpus"][0] for r in gpu_results} == {"0", "1"}
    assert all(r["cuda"] is None and "gpu" not in r["granted"] for r in plain["results"])

    # asking more than any executor has is refused at once, naming the setting
    assert "4 cpus (spark.executor.cores)" in report["refused"]["cpus8"]
    assert "2 gpu (spark.executor.resource.gpu.amount)" in report["refused"]["gpus3"]
    assert len(report["shipped"]) == 1, "parzen is shipped once per session, not once per SparkTrials"
    assert report["unshipped"]["errors"] == [] and len(report["unshipped"]["results"]) == 4
    assert report["shipped_before"] == [], "an objective that never mentions parzen ships nothing"


EXECUTOR_COPY_DRIVER = PRELUDE + textwrap.dedent(
    """
    def objective(p):
        return {"loss": p["x"], "status": parzen.STATUS_OK, "file": parzen.__file__,
                "installed_marker": hasattr(parzen, "EXECUTOR_COPY")}

    report = run(objective, max_evals=2, parallelism=2)
    print("RESULT " + json.dumps(report))
    spark.stop()
    """
)


def test_the_drivers_parzen_wins_over_one_installed_on_executors(gpu_cluster, tmp_path):
    conf, _, _ = gpu_cluster
    python = python_without(tmp_path, "scipy")
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "parzen").mkdir()
    (site / "parzen" / "__init__.py").write_text("EXECUTOR_COPY = True\nSTATUS_OK = 'installed-on-executor'\n")
    report = run_driver(EXECUTOR_COPY_DRIVER, tmp_path, conf, executor_python=python)
    assert report["errors"] == []
    assert {(r["status"], r["installed_marker"]) for r in report["results"]} == {("ok", False)}
    assert all(".zip" in r["file"] for r in report["results"])


MISMATCH_DRIVER = PRELUDE + textwrap.dedent(
    """
    import numpy as np
    data = np.arange(1000.0)  # pickled by the driver's numpy with the objective
    DRIVER_NUMPY = np.__version__

    def objective(p):
        import numpy
        if numpy.__version__ != DRIVER_NUMPY:  # code written against the driver's numpy (reached when the data loads)
            raise RuntimeError("this objective needs numpy " + DRIVER_NUMPY)
        return float(data.mean() * p["x"])

    def divides(p):
        return 1 / 0

    report = run(objective, max_evals=2, parallelism=2)
    report["errors"] += run(divides, max_evals=2, parallelism=2)["errors"]
    print("RESULT " + json.dumps(report))
    spark.stop()
    """
)


def test_a_trial_failing_on_an_executor_with_other_versions_names_both(gpu_cluster, tmp_path):
    import cloudpickle
    import numpy

    conf, _, _ = gpu_cluster
    python = python_without(tmp_path, "scipy", "numpy", "cloudpickle")
    older = tmp_path / "older"
    old_numpy = "1.26.4" if int(numpy.__version__.split(".")[0]) >= 2 else "1.24.4"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--only-binary=:all:", "--no-deps", "--target",
         str(older), f"numpy=={old_numpy}", "cloudpickle==2.2.1"],
        capture_output=True, text=True,
    )  # fmt: skip
    if install.returncode != 0:
        pytest.skip(f"cannot install older numpy/cloudpickle from the package index: {install.stderr[-500:]}")
    site = subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    )
    Path(site.strip(), "older.pth").write_text(f"{older}\n")
    report = run_driver(MISMATCH_DRIVER, tmp_path, conf, executor_python=python)
    assert len(report["errors"]) == 4
    loading, arithmetic = report["errors"][:2], report["errors"][2:]
    for error in loading:
        if int(numpy.__version__.split(".")[0]) >= 2:  # numpy 1.x cannot load what numpy 2 pickled: versions say why
            assert f"numpy {old_numpy} is installed here but has no module 'numpy._core" in error, error
            assert f"numpy {numpy.__version__} on the driver, {old_numpy} here" in error, error
            assert f"cloudpickle {cloudpickle.__version__} on the driver, 2.2.1 here" in error, error
        else:  # it loads, and the objective's own error is not a versions problem: no note about them
            assert "this objective needs numpy" in error and "versions differ" not in error, error
    for error in arithmetic:  # an objective's own bug says nothing of versions
        assert "ZeroDivisionError" in error and "versions differ" not in error, error


def test_local_mode_warns_once_and_runs_plain_tasks_cpus_apart(spark):
    with pytest.warns(UserWarning, match=r"local mode \(local\[4\]\).*parallelism defaults to 2") as caught:
        trials = SparkTrials(spark_session=spark, cpus_per_trial=2)
    assert len([w for w in caught if "cannot be given to trials" in str(w.message)]) == 1
    assert trials.parallelism == 2 and trials.trial_profile.unsupported

    def objective(p):
        import parzen

        return {"loss": p["x"], "status": "ok", "granted": parzen.trial_resources()}

    fmin(objective, {"x": hp.uniform("x", 0, 1)}, algo=rand.suggest, trials=trials, max_evals=3, show_progressbar=False)
    assert {r.result["granted"]["cpus"] for r in trials.records} == {2}
    with pytest.warns(UserWarning, match="GPUs are not assigned"):
        assert SparkTrials(spark_session=spark, gpus_per_trial=1).parallelism == 4


@pytest.mark.parametrize(
    "options, words",
    [
        ({"cpus_per_trial": 0}, "cpus_per_trial must be a positive integer"),
        ({"cpus_per_trial": 1.5}, "cpus_per_trial must be a positive integer"),
        ({"gpus_per_trial": 0.3}, "fraction 1/k of a GPU"),
        ({"gpus_per_trial": -1}, "gpus_per_trial must be a positive integer"),
        ({"resource_profile": "big"}, "resource_profile must be a pyspark.resource.ResourceProfile"),
        ({"run_trials_on": "gpu"}, "run_trials_on must be one of"),
        ({"run_trials_on": "driver", "cpus_per_trial": 2}, "apply to trials run on executors"),
    ],
)
def test_bad_resource_arguments(spark, options, words):
    with warnings.catch_warnings(), pytest.raises(InvalidArgument, match=words):
        warnings.simplefilter("ignore")
        SparkTrials(spark_session=spark, **options)


def test_a_raw_profile_and_cpus_together_are_refused(spark):
    from pyspark.resource import ResourceProfileBuilder, TaskResourceRequests

    profile = ResourceProfileBuilder().require(TaskResourceRequests().cpus(2)).build
    with pytest.raises(InvalidArgument, match="either resource_profile or cpus_per_trial"):
        SparkTrials(spark_session=spark, resource_profile=profile, cpus_per_trial=2)
    with pytest.warns(UserWarning, match="asked for 2 CPUs"):
        assert SparkTrials(spark_session=spark, resource_profile=profile).parallelism == 2
