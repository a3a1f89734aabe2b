"""parzen installs as the docs say: the built wheel, into a fresh virtualenv with the ``spark`` extra only,
runs a small SparkTrials example from outside the source tree (a newcomer's first minutes)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

EXAMPLE = textwrap.dedent(
    """
    import parzen
    from parzen import SparkTrials, Trials, fmin, hp, tpe

    def objective(params):
        return (params["x"] - 0.3) ** 2

    space = {"x": hp.uniform("x", 0, 1)}
    best = fmin(objective, space, algo=tpe.suggest, max_evals=12, trials=Trials(), show_progressbar=False)
    spark = fmin(objective, space, algo=tpe.suggest, max_evals=8, trials=SparkTrials(parallelism=2),
                 show_progressbar=False)
    print("RESULT", parzen.__file__, parzen.__version__, best["x"], spark["x"])
    """
)


@pytest.mark.slow
@pytest.mark.spark
def test_the_wheel_installs_with_the_spark_extra_and_runs_from_outside_the_tree(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)], check=True,
                   capture_output=True, text=True)  # fmt: skip
    (wheel,) = dist.glob("parzen-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"{wheel}[spark]"],
                             capture_output=True, text=True)  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    listed = subprocess.run([str(python), "-m", "pip", "list"], capture_output=True, text=True).stdout
    assert "pytest" not in listed and "mlflow" not in listed, "the spark extra pulls no test tools"
    script = tmp_path / "work" / "example.py"
    script.parent.mkdir()
    script.write_text(EXAMPLE)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SPARK_REMOTE")}
    env |= {"PYSPARK_PYTHON": str(python), "SPARK_LOCAL_IP": "127.0.0.1"}
    run = subprocess.run([str(python), str(script)], cwd=script.parent, capture_output=True, text=True, env=env,
                         timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("RESULT "))
    _, location, version, best, spark_best = line.split()
    assert str(env_dir) in location and str(ROOT) not in location, "the installed wheel answered, not the source"
    assert version == subprocess.check_output([sys.executable, "-c", "import parzen; print(parzen.__version__)"],
                                              text=True).strip()  # fmt: skip
    assert 0 <= float(best) <= 1 and 0 <= float(spark_best) <= 1
