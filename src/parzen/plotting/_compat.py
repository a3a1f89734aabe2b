"""hyperopt's ``hyperopt.plotting`` functions, with its arguments, working.

``main_plot_history``, ``main_plot_histogram`` and ``main_plot_vars`` draw with
matplotlib into the current figure, as hyperopt's did, when matplotlib is installed;
without it they return the equivalent plotly figure. Differences from hyperopt, all
fixes: ``main_plot_vars`` puts log-scaled parameters on a log axis (hyperopt looked
for "log" in the label's *name*), shows a choice by its options, leaves a parameter
out of trials where it was inactive, and does not crash on a space with one
parameter or on ``colorize_best`` larger than the number of trials; failed trials
appear in the history. ``bandit`` and ``algo`` (older hyperopt) are accepted and
ignored. Each function returns its figure (hyperopt returned None).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from parzen.plotting._figures import OUTCOME_COLORS
from parzen.view import Row, RunView, load_view

DEFAULT_STATUS_COLORS = {"new": "k", "running": "g", "ok": "b", "fail": "r"}
_MPL_TO_CSS = {"k": "black", "g": "green", "b": "blue", "r": "red", "c": "cyan", "m": "magenta", "y": "gold"}


def _matplotlib() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _status(row: Row) -> str:
    if row.state == "running":
        return "running"
    if row.state == "new":
        return "new"
    return "ok" if row.loss is not None else "fail"


def main_plot_history(
    trials: Any,
    do_show: bool = True,
    status_colors: dict | None = None,
    title: str = "Loss History",
    *,
    bandit: Any = None,
    algo: Any = None,
) -> Any:
    """Loss of each trial in order, coloured by status, with the best loss as a line.

    Args:
        trials: a `Trials`/`SparkTrials`, the path of a store (``trials_save_file``), or a `parzen.view.RunView`.
        do_show: show the figure now (``plt.show()`` / ``fig.show()``), as hyperopt did.
        status_colors: colours by status (``{"ok": "k", "fail": "r"}``), over the defaults.
        title: the figure's title.
        bandit: hyperopt's argument; ignored.
        algo: hyperopt's argument; ignored.

    Returns:
        The matplotlib figure (a plotly figure when matplotlib is not installed).
    """
    view = load_view(trials)
    colors = DEFAULT_STATUS_COLORS | (status_colors or {})
    best = view.best
    floor = best.loss if best else 0.0
    points = [(r.tid, r.loss if r.loss is not None else floor, _status(r)) for r in view.rows]
    plt = _matplotlib()
    if plt is not None:
        for status in dict.fromkeys(p[2] for p in points):
            group = [p for p in points if p[2] == status]
            marker = "o" if status == "ok" else "x"
            xs, ys = [p[0] for p in group], [p[1] for p in group]
            plt.scatter(xs, ys, c=colors.get(status, "k"), marker=marker, label=status)
        if best is not None:
            plt.axhline(best.loss, c="g", label=f"best {best.loss:.4g}")
        plt.xlabel("trial number")
        plt.ylabel("loss")
        plt.title(title)
        plt.legend(loc="best", fontsize="small")
        return _finish_mpl(plt, do_show)
    import plotly.graph_objects as go

    fig = go.Figure()
    for status in dict.fromkeys(p[2] for p in points):
        group = [p for p in points if p[2] == status]
        color = colors.get(status, "k")
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in group],
                y=[p[1] for p in group],
                mode="markers",
                name=status,
                marker={"color": _MPL_TO_CSS.get(color, color), "symbol": "circle" if status == "ok" else "x"},
            )
        )
    if best is not None:
        fig.add_hline(y=best.loss, line_color="green")
    fig.update_layout(title=title, xaxis_title="trial number", yaxis_title="loss", template="plotly_white")
    return _finish_plotly(fig, do_show)


def main_plot_histogram(
    trials: Any, do_show: bool = True, title: str = "Loss Histogram", *, bandit: Any = None, algo: Any = None
) -> Any:
    """Histogram of the losses of ok trials.

    Args:
        trials: a `Trials`/`SparkTrials`, the path of a store (``trials_save_file``), or a `parzen.view.RunView`.
        do_show: show the figure now (``plt.show()`` / ``fig.show()``), as hyperopt did.
        title: the figure's title.
        bandit: hyperopt's argument; ignored.
        algo: hyperopt's argument; ignored.

    Returns:
        The matplotlib figure (a plotly figure when matplotlib is not installed).
    """
    losses = [r.loss for r in load_view(trials).ok]
    plt = _matplotlib()
    if plt is not None:
        plt.hist(losses)
        plt.xlabel("loss")
        plt.ylabel("frequency")
        plt.title(title)
        return _finish_mpl(plt, do_show)
    import plotly.graph_objects as go

    fig = go.Figure(go.Histogram(x=losses, marker={"color": OUTCOME_COLORS["ok"]}))
    fig.update_layout(title=title, xaxis_title="loss", yaxis_title="frequency", template="plotly_white")
    return _finish_plotly(fig, do_show)


def main_plot_vars(
    trials: Any,
    do_show: bool = True,
    fontsize: int = 10,
    colorize_best: int | None = None,
    columns: int = 5,
    arrange_by_loss: bool = False,
    *,
    bandit: Any = None,
    algo: Any = None,
) -> Any:
    """One panel per parameter: its value in each trial (x: trial number, or loss with
    `arrange_by_loss`), darker for lower loss; the `colorize_best` best trials in green.

    Log parameters are on a log axis and choices are shown by value (hyperopt showed indices).

    Args:
        trials: a `Trials`/`SparkTrials`, the path of a store (``trials_save_file``), or a `parzen.view.RunView`.
        do_show: show the figure now (``plt.show()`` / ``fig.show()``), as hyperopt did.
        fontsize: the panels' title size.
        colorize_best: how many of the best trials to draw in green (None: none).
        columns: panels per row.
        arrange_by_loss: x is the trial's loss instead of its number.
        bandit: hyperopt's argument; ignored.
        algo: hyperopt's argument; ignored.

    Returns:
        The matplotlib figure (a plotly figure when matplotlib is not installed).
    """
    view = load_view(trials)
    labels = sorted(k for k in view.params if any(k in r.raw for r in view.rows))
    ncols = max(1, min(columns, len(labels)))
    nrows = max(1, math.ceil(len(labels) / ncols))
    shade = _shader(view, colorize_best)
    plt = _matplotlib()
    if plt is not None:
        for i, label in enumerate(labels):
            ax = plt.subplot(nrows, ncols, i + 1)
            _vars_panel_mpl(ax, view, label, shade, arrange_by_loss, fontsize)
        plt.tight_layout()
        return _finish_mpl(plt, do_show)
    return _finish_plotly(_vars_plotly(view, labels, shade, arrange_by_loss, ncols, nrows), do_show)


Shade = Callable[[Row], tuple[float, float, float]]


def _shader(view: RunView, colorize_best: int | None) -> Shade:
    """Row -> RGB in [0, 1]: black for the best loss, light grey for the worst, green for the top N."""
    losses = sorted(r.loss_or_nan for r in view.ok)
    lo, hi = (losses[0], losses[-1]) if losses else (0.0, 1.0)
    threshold = losses[min(colorize_best, len(losses)) - 1] if colorize_best and losses else -math.inf

    def shade(row: Row) -> tuple[float, float, float]:
        if row.loss is None:
            return (0.85, 0.2, 0.2)
        loss = row.loss_or_nan
        t = 0.8 * (loss - lo) / (hi - lo) if hi > lo else 0.0
        return (0.0, 0.8 - 0.5 * t, 0.0) if loss <= threshold else (t, t, t)

    return shade


def _vars_points(view: RunView, label: str, arrange_by_loss: bool) -> list[tuple[float, Any, Row]]:
    rows = [r for r in view.rows if label in r.raw and (not arrange_by_loss or r.loss is not None)]
    return [((r.loss_or_nan if arrange_by_loss else float(r.tid)), r.raw[label], r) for r in rows]


def _vars_panel_mpl(ax: Any, view: RunView, label: str, shade: Shade, arrange_by_loss: bool, fontsize: int) -> None:
    param = view.params[label]
    points = _vars_points(view, label, arrange_by_loss)
    if points:
        ax.scatter([p[0] for p in points], [p[1] for p in points], c=[shade(p[2]) for p in points], s=14)
    ax.set_title(label, fontsize=fontsize)
    ax.set_xlabel("loss" if arrange_by_loss else "trial number", fontsize=fontsize)
    if param.is_choice:
        ax.set_yticks(np.arange(len(param.choices)), [str(o) for o in param.choices], fontsize=fontsize)
    elif param.log:
        ax.set_yscale("log")


def _vars_plotly(view: RunView, labels: list[str], shade: Shade, arrange_by_loss: bool, ncols: int, nrows: int) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=labels)
    for i, label in enumerate(labels):
        row, col = divmod(i, ncols)
        param = view.params[label]
        points = _vars_points(view, label, arrange_by_loss)
        colors = [f"rgb({','.join(str(int(255 * c)) for c in shade(p[2]))})" for p in points]
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in points],
                y=[p[1] for p in points],
                mode="markers",
                marker={"color": colors},
                showlegend=False,
            ),
            row=row + 1,
            col=col + 1,
        )
        if param.is_choice:
            ticks = {"tickvals": list(range(len(param.choices))), "ticktext": [str(o) for o in param.choices]}
            fig.update_yaxes(**ticks, row=row + 1, col=col + 1)
        elif param.log:
            fig.update_yaxes(type="log", row=row + 1, col=col + 1)
    fig.update_layout(template="plotly_white", height=260 * nrows)
    return fig


def _finish_mpl(plt: Any, do_show: bool) -> Any:
    fig = plt.gcf()
    if do_show:
        plt.show()
    return fig


def _finish_plotly(fig: Any, do_show: bool) -> Any:
    if do_show:
        fig.show()
    return fig
