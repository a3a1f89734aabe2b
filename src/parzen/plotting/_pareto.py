"""Figures of a run with several objectives or constraints: the Pareto front, its hypervolume, the violations.

Each ``plot_*`` takes a `Trials`, a store path or a `RunView`, as the other figures do.
The front is drawn in 2-D for two objectives and 3-D for three (the first three of
more); feasible non-dominated trials are highlighted and joined, dominated ones are
drawn faint, infeasible ones marked with a cross.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from parzen.plotting._figures import _empty, _figure
from parzen.trial.pareto import hypervolume
from parzen.view import Row, RunView, load_view

FRONT_COLOR = "#d62728"
DOMINATED_COLOR = "#9ab7d3"
INFEASIBLE_COLOR = "#7f7f7f"


def reference_point(view: RunView) -> np.ndarray:
    """The worst value of each objective among ok trials plus a tenth of its range (where hypervolume is measured)."""
    every = np.array([r.losses for r in view.ok_vectors])
    low, high = every.min(axis=0), every.max(axis=0)
    return high + np.where(high > low, 0.1 * (high - low), 1.0)


def plot_pareto_front(trials: Any, objectives: tuple[int, ...] | None = None) -> go.Figure:
    """Every ok trial in objective space, the feasible Pareto set highlighted (2-D, or 3-D for three objectives).

    Args:
        trials: a `Trials`/`SparkTrials`, the path of a store (``trials_save_file``), or a `parzen.view.RunView`.
        objectives: the indices of the objectives on the axes (default: the first two, or three when the run has
            three or more).

    Returns:
        A plotly figure (an empty one says why when there is nothing to draw).
    """
    view = load_view(trials)
    if not view.multi_objective:
        return _empty("Pareto front", "this run has one objective: see plot_optimization_history")
    names = view.objective_names
    axes = objectives or tuple(range(min(3, len(names))))
    front = {r.tid for r in view.pareto()}
    title = f"Pareto front: {len(front)} of {len(view.ok_vectors)} ok trials"
    groups = {
        "Pareto-optimal": [r for r in view.ok_vectors if r.tid in front],
        "dominated": [r for r in view.ok_vectors if r.tid not in front and r.feasible],
        "infeasible": [r for r in view.ok_vectors if not r.feasible],
    }
    style = {
        "Pareto-optimal": {"color": FRONT_COLOR, "size": 9, "symbol": "circle"},
        "dominated": {"color": DOMINATED_COLOR, "size": 6, "symbol": "circle"},
        "infeasible": {"color": INFEASIBLE_COLOR, "size": 6, "symbol": "x"},
    }
    fig = _figure(title, height=520)
    for name, rows in groups.items():
        if rows:
            fig.add_trace(_points(rows, axes, name, style[name], names))
    if len(axes) == 2 and groups["Pareto-optimal"]:
        fig.add_trace(_staircase(groups["Pareto-optimal"], axes))
    if len(axes) == 3:
        fig.update_layout(scene={f"{a}axis_title": names[i] for a, i in zip("xyz", axes)})
    else:
        fig.update_xaxes(title_text=names[axes[0]])
        fig.update_yaxes(title_text=names[axes[1]])
    return fig


def _points(rows: list[Row], axes: tuple[int, ...], name: str, marker: dict, names: tuple[str, ...]) -> Any:
    coords = [[r.losses[i] for r in rows] for i in axes]  # type: ignore[index]
    text = [
        f"trial {r.tid}<br>"
        + "<br>".join(f"{n}: {v:.6g}" for n, v in zip(names, r.losses or ()))
        + (f"<br>violation {r.violation:.3g}" if r.constraints and not r.feasible else "")
        for r in rows
    ]
    common = {"mode": "markers", "name": name, "text": text, "hoverinfo": "text", "marker": marker}
    if len(axes) == 3:
        return go.Scatter3d(x=coords[0], y=coords[1], z=coords[2], **common)
    return go.Scatter(x=coords[0], y=coords[1], **common)


def _staircase(rows: list[Row], axes: tuple[int, ...]) -> go.Scatter:
    """The 2-D front joined as the boundary of what it dominates."""
    pts = sorted((r.losses[axes[0]], r.losses[axes[1]]) for r in rows)  # type: ignore[index]
    xs, ys = [pts[0][0]], [pts[0][1]]
    for x, y in pts[1:]:
        xs += [x, x]
        ys += [ys[-1], y]
    return go.Scatter(
        x=xs, y=ys, mode="lines", line={"color": FRONT_COLOR, "width": 1}, showlegend=False, hoverinfo="skip"
    )


def plot_hypervolume_history(trials: Any, reference: Any = None) -> go.Figure:
    """The hypervolume of the feasible Pareto set after each trial finished.

    Args:
        trials: a `Trials`/`SparkTrials`, the path of a store (``trials_save_file``), or a `parzen.view.RunView`.
        reference: the reference point (one value per objective, worse than any trial of interest); default:
            the worst value seen of each objective plus a tenth of its range.

    Returns:
        A plotly figure.
    """
    view = load_view(trials)
    if not view.multi_objective:
        return _empty("Hypervolume", "this run has one objective: see plot_optimization_history")
    ref = reference_point(view) if reference is None else np.asarray(reference, dtype=float)
    feasible: list[tuple[float, ...]] = []
    xs: list[int] = []
    ys: list[float] = []
    for r in sorted(view.ok_vectors, key=lambda r: (r.end_time or r.book_time or 0.0, r.tid)):
        if r.feasible and np.all(np.asarray(r.losses) < ref):
            feasible.append(r.losses)  # type: ignore[arg-type]
        xs.append(len(xs) + 1)
        ys.append(hypervolume(np.array(feasible), ref) if feasible else 0.0)
    fig = _figure("Hypervolume of the feasible Pareto set", height=380)
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"shape": "hv", "color": FRONT_COLOR}, name="hypervolume"))
    fig.update_xaxes(title_text="ok trials finished")
    fig.update_yaxes(title_text=f"hypervolume (reference {np.round(ref, 4).tolist()})")
    return fig


def plot_constraints(trials: Any) -> go.Figure:
    """Each ok trial's total constraint violation (the sum of the positive parts; 0 is feasible), in trial order.

    Args:
        trials: a `Trials`/`SparkTrials`, the path of a store (``trials_save_file``), or a `parzen.view.RunView`.

    Returns:
        A plotly figure (an empty one says why when trials return no constraints).
    """
    view = load_view(trials)
    rows = [r for r in view.rows if r.constraints]
    if not rows:
        return _empty("Constraints", "no trial returned constraints")
    feasible = sum(r.feasible for r in rows)
    fig = _figure(f"Constraint violation: {feasible} of {len(rows)} trials feasible", height=380)
    colors = [DOMINATED_COLOR if r.feasible else FRONT_COLOR for r in rows]
    hover = [f"trial {r.tid}: {list(r.constraints)}" for r in rows]
    bars = go.Bar(x=[r.tid for r in rows], y=[r.violation for r in rows], marker={"color": colors}, hovertext=hover)
    fig.add_trace(bars)
    fig.update_xaxes(title_text="trial")
    fig.update_yaxes(title_text="total violation (0: feasible)")
    return fig
