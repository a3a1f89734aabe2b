"""examples/tune_with_spark.ipynb runs end to end in a real Jupyter kernel (nbclient, ipykernel).

The notebook starts its own local[2] Spark in the kernel's process, tunes a gradient
boosting classifier with SparkTrials and draws plotly figures; this test executes every
cell as Jupyter would and reads what the cells showed. The notebook is committed with
its outputs cleared, which the second test checks.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "tune_with_spark.ipynb"
PLOTLY = "application/vnd.plotly.v1+json"


def _stream(cell: dict, name: str) -> str:
    return "".join(o["text"] for o in cell["outputs"] if o["output_type"] == "stream" and o["name"] == name)


@pytest.mark.spark
@pytest.mark.slow
def test_the_notebook_tunes_with_spark_trials_and_shows_the_bar_and_the_figures(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("plotly")
    # the kernel is started as `python -m ipykernel_launcher`: this interpreter's, with parzen and pyspark
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # a cell that raises fails the test with its traceback (CellExecutionError)

    code = [c for c in notebook.cells if c.cell_type == "code"]
    search = next(c for c in code if "fmin(" in c.source)
    bar = _stream(search, "stderr")
    assert "20/20" in bar and "best loss" in bar, bar[-2000:]  # the progress bar, in the cell's output
    assert "fmin stopped: max_evals=20" in bar  # why the run stopped, under the bar

    best = next(c for c in code if "best accuracy" in c.source)
    accuracy = float(_stream(best, "stdout").split("best accuracy:")[1].split()[0])
    assert accuracy > 0.9  # the majority class alone scores 0.63 on this dataset

    figures = [o["data"][PLOTLY] for c in code for o in c.outputs if PLOTLY in o.get("data", {})]
    assert len(figures) == 4  # history, timeline, importance, slice: shown inline
    assert all(figure["data"] for figure in figures)  # each with traces drawn from the trials


def test_the_notebook_is_committed_without_outputs():
    notebook = json.loads(NOTEBOOK.read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
