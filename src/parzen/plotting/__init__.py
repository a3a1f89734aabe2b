"""See the search: figures, parameter importance, an HTML report and a live dashboard.

    from parzen import plotting
    plotting.plot_optimization_history(trials)        # any Trials, or "tuning.db"
    plotting.param_importances(trials)                # {"lr": 0.71, "depth": 0.12, ...}
    plotting.write_report(trials, "report.html")      # one self-contained file

Every function takes an in-memory `Trials` (or `SparkTrials`), the path of a store
written with ``trials_save_file``, or a `parzen.view.RunView`. Figures are plotly
figures: interactive in Jupyter and Databricks notebooks (``fig.show()`` or just
leave it last in a cell), and embeddable offline (the report inlines plotly.js).

hyperopt's ``main_plot_history``, ``main_plot_vars`` and ``main_plot_histogram`` are
here too, with hyperopt's arguments (drawn with matplotlib when it is installed).

Needs the ``plots`` extra: ``pip install 'parzen[plots]'`` (plotly, scikit-learn).
"""

from __future__ import annotations

import importlib.util

_MISSING = [name for name in ("plotly", "sklearn") if importlib.util.find_spec(name) is None]
if _MISSING:  # checked before importing anything, so the message names every missing package
    raise ImportError(
        f"parzen.plotting needs {' and '.join(_MISSING)} (missing here); install the extra: pip install 'parzen[plots]'"
    )

from parzen.plotting._compat import main_plot_histogram, main_plot_history, main_plot_vars  # noqa: E402
from parzen.plotting._dashboard import serve_dashboard  # noqa: E402
from parzen.plotting._figures import (  # noqa: E402
    plot_contour,
    plot_intermediate_values,
    plot_optimization_history,
    plot_parallel_coordinate,
    plot_param_importances,
    plot_slice,
    plot_timeline,
)
from parzen.plotting._importance import Importance  # noqa: E402
from parzen.plotting._pareto import plot_constraints, plot_hypervolume_history, plot_pareto_front  # noqa: E402
from parzen.plotting._report import param_importances, report_html, write_report  # noqa: E402

__all__ = [
    "Importance",
    "main_plot_histogram",
    "main_plot_history",
    "main_plot_vars",
    "param_importances",
    "plot_constraints",
    "plot_hypervolume_history",
    "plot_pareto_front",
    "plot_contour",
    "plot_intermediate_values",
    "plot_optimization_history",
    "plot_parallel_coordinate",
    "plot_param_importances",
    "plot_slice",
    "plot_timeline",
    "report_html",
    "serve_dashboard",
    "write_report",
]
