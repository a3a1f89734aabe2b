"""The Databricks notebook in examples/databricks runs as-is, cell by cell, with a local `spark`
(classic, and Spark Connect as on serverless / standard access mode) and `display`; `%pip` and
`%md` cells are Databricks' own and are skipped."""

from pathlib import Path

import pytest

from parzen.executors.spark.session import is_connect_session

pytest.importorskip("mlflow")
pytest.importorskip("sklearn")
pytestmark = [pytest.mark.spark, pytest.mark.slow]

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "databricks" / "parzen_on_databricks.py"


def cells(path: Path) -> list[str]:
    """The Python cells of a notebook in Databricks source format (MAGIC cells left out)."""
    text = path.read_text()
    header, separator = "# Databricks notebook source\n", "\n# COMMAND ----------\n"
    assert text.startswith(header), "not a Databricks source notebook"
    parts = text[len(header) :].split(separator)
    code = [p for p in parts if any(ln.strip() and not ln.startswith("# MAGIC") for ln in p.splitlines())]
    assert any("%pip install parzen" in p for p in parts)
    return code


def run_notebook(spark) -> tuple[dict, list]:
    shown: list = []
    namespace = {"__name__": "databricks_notebook", "spark": spark, "display": shown.append}
    for number, code in enumerate(cells(NOTEBOOK)):
        exec(compile(code, f"{NOTEBOOK.name} [cell {number}]", "exec"), namespace)
    return namespace, shown


def check(namespace: dict, shown: list) -> None:
    best = namespace["best_params"]
    assert best["criterion"] in ("gini", "entropy") and best["max_features"] in ("sqrt", 0.5, 1.0)
    assert isinstance(best["n_estimators"], int)
    assert namespace["trials"].n_finished == namespace["MAX_EVALS"]
    parent, children = shown
    assert parent.loc[0, "metrics.successful_trials_count"] == namespace["MAX_EVALS"]
    assert len(children) == namespace["MAX_EVALS"]
    assert children["metrics.cv_accuracy"].notna().all()  # logged by the objective on the executors
    assert set(children["params.criterion"]) <= {"gini", "entropy"}  # values, not indices
    assert (children["metrics.loss"] == -children["metrics.cv_accuracy"]).all()


def test_notebook_on_classic_spark(spark, mlflow_experiment):
    check(*run_notebook(spark))


def test_notebook_on_spark_connect(connect_spark, mlflow_experiment):
    assert is_connect_session(connect_spark)  # no sparkContext, as on serverless
    check(*run_notebook(connect_spark))
