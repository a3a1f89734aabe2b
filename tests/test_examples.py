"""Every script in examples/ runs, the Spark ones on real Spark."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))


def test_ask_tell_with_a_thread_pool():
    import ask_tell_threads

    trials = ask_tell_threads.main(max_evals=24)
    assert trials.n_finished == 24 and trials.n_running == 0
    assert trials.best_loss < 5


@pytest.mark.spark
def test_seed_example_prints_values_not_indices(spark, capsys):
    pytest.importorskip("pyspark").cloudpickle.register_pickle_by_value(__import__("seed_example"))
    import seed_example

    params = seed_example.main(max_evals=6, parallelism=2)
    assert params["criterion"] in ("gini", "entropy")
    assert params["max_features"] in ("sqrt", 10, 15)
    assert isinstance(params["n_estimators"], int) and 10 <= params["n_estimators"] <= 100
    assert "best parameters:" in capsys.readouterr().out


def _spark_env() -> dict:
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    env.pop("SPARK_REMOTE", None)
    return env


@pytest.mark.spark
@pytest.mark.slow
def test_spark_submit_local4():
    import pyspark

    spark_submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    result = subprocess.run(
        [
            str(spark_submit),
            "--master",
            "local[4]",
            "--conf",
            "spark.ui.enabled=false",
            str(EXAMPLES / "spark_submit_tuning.py"),
            "12",
        ],
        capture_output=True,
        text=True,
        env=_spark_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "master: local[4]" in out and "parallelism: 4" in out and "finished: 12" in out
    assert "'kind': 'adam'" in out or "'kind': 'sgd'" in out


@pytest.mark.spark
@pytest.mark.slow
def test_session_created_by_parzen_runs_executors_on_the_driver_interpreter(tmp_path):
    script = tmp_path / "own_session.py"
    script.write_text(
        "import sys\n"
        "from parzen import SparkTrials, fmin, hp, rand\n"
        "trials = SparkTrials(parallelism=2)\n"
        "fmin(lambda p: {'loss': p['x'], 'status': 'ok', 'exe': sys.executable}, {'x': hp.uniform('x', 0, 1)},\n"
        "     algo=rand.suggest, trials=trials, max_evals=4, show_progressbar=False)\n"
        "print('EXE', {r.result['exe'] for r in trials.records})\n"
        "print('DRIVER', sys.executable)\n"
    )
    env = _spark_env()
    env.pop("PYSPARK_PYTHON")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if line.startswith(("EXE", "DRIVER")))
    assert lines["EXE"] == repr({sys.executable})
    assert lines["DRIVER"] == sys.executable
