"""The figures: plotly, so they are interactive in notebooks and embeddable offline.

Each ``plot_*`` takes a `Trials`, a store path or a `RunView` and returns a
``plotly.graph_objects.Figure``. Values are shown as the objective received them (a
choice by its option, not its index); a parameter inactive in a trial (its branch was
not chosen) is left out of that trial's point, never drawn as zero.
"""

from __future__ import annotations

import html
import math
import time
from dataclasses import replace
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from parzen.plotting._importance import MIN_TRIALS, Forest, Importance
from parzen.plotting._sampling import MAX_BARS, MAX_CURVES, MAX_POINTS, change_points, ok_shown, sample, titled
from parzen.view import ParamInfo, Row, RunView, load_view

TEMPLATE = "plotly_white"
OUTCOME_COLORS = {
    "ok": "#1f77b4",
    "fail": "#ff7f0e",  # the objective returned status fail
    "error": "#d62728",  # the objective raised, crashed or returned garbage
    "running": "#2ca02c",
    "pruned": "#8c564b",  # stopped early by a pruner
    "cancelled": "#7f7f7f",
    "interrupted": "#9467bd",
    "new": "#bcbd22",
}
LOSS_SCALE = "Viridis"


def outcome(row: Row) -> str:
    """ok / fail / error / running / pruned / cancelled / interrupted / new: what a colour stands for."""
    if row.loss is not None or row.losses is not None:
        return "ok"
    return "fail" if row.state == "done" else row.state


def _figure(title: str, **layout: Any) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(template=TEMPLATE, title=title, **layout)
    return fig


def _empty(title: str, why: str) -> go.Figure:
    """A figure that says why there is nothing to draw (rather than an empty axis)."""
    fig = _figure(title, height=260)
    fig.add_annotation(text=why, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5, font={"size": 14})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def several_objectives(title: str, view: RunView) -> go.Figure:
    """What a one-loss figure shows for a run with several objectives: which figures to use instead."""
    return _empty(
        title,
        f"this run has {len(view.objective_names)} objectives: see plot_pareto_front and plot_hypervolume_history",
    )


def _label(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def _categories(param: ParamInfo) -> list[str]:
    return [_label(o) for o in param.choices]


def _start(view: RunView) -> float:
    times = [r.book_time for r in view.rows if r.book_time is not None]
    return min(times) if times else 0.0


# ---- optimisation history ---------------------------------------------------------------


def plot_optimization_history(trials: Any) -> go.Figure:
    """Loss of every ok trial and the best so far, by trial number and by wall time; failures marked.

    Args:
        trials: a `Trials`/`SparkTrials`, the path of a store (``trials_save_file``), or a `parzen.view.RunView`.

    Returns:
        A plotly figure (an empty one says why when there is nothing to draw yet).
    """
    view = load_view(trials)
    if view.multi_objective:
        return several_objectives("Optimization history", view)
    if not view.ok:
        return _empty("Optimisation history", "no trial has finished with status ok yet")
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, subplot_titles=("by trial number", "by wall time"))
    t0 = _start(view)
    by_number = sorted(view.rows, key=lambda r: r.tid)
    ended = [(r.end_time - t0, r) for r in view.rows if r.end_time is not None]
    ended.sort(key=lambda pair: pair[0])
    shown, note = ok_shown(view)  # markers of a large run: the best and a sample (the best-so-far line is exact)
    keep = {r.tid for r in shown}
    _history_panel(fig, by_number, [float(r.tid) for r in by_number], col=1, keep=keep)
    _history_panel(fig, [r for _, r in ended], [x for x, _ in ended], col=2, keep=keep)
    fig.update_layout(template=TEMPLATE, title=titled("Optimisation history", note), height=420, hovermode="closest")
    fig.update_xaxes(title_text="trial number", row=1, col=1)
    fig.update_xaxes(title_text="seconds since the run started", row=1, col=2)
    fig.update_yaxes(title_text="loss", row=1, col=1)
    return fig


def _history_panel(fig: go.Figure, rows: list[Row], xs: list[float], col: int, keep: set[int]) -> None:
    every = [(x, r) for x, r in zip(xs, rows) if r.loss is not None]
    best, best_x, best_y = math.inf, [], []
    for x, r in every:
        best = min(best, r.loss_or_nan)
        best_x.append(x)
        best_y.append(best)
    ok = [(x, r) for x, r in every if r.tid in keep]
    if len(ok) < len(every):  # a large run: the same step line from its change points
        best_x, best_y = change_points(best_x, best_y)
    show = col == 1
    fig.add_trace(
        go.Scatter(
            x=[x for x, _ in ok],
            y=[r.loss for _, r in ok],
            mode="markers",
            name="trial loss",
            legendgroup="loss",
            showlegend=show,
            marker={"color": OUTCOME_COLORS["ok"], "size": 6, "opacity": 0.6},
            text=[f"trial {r.tid}" for _, r in ok],
        ),
        row=1,
        col=col,
    )
    fig.add_trace(
        go.Scatter(
            x=best_x,
            y=best_y,
            mode="lines",
            line_shape="hv",
            name="best so far",
            legendgroup="best",
            showlegend=show,
            line={"color": "#e45756", "width": 2},
        ),
        row=1,
        col=col,
    )
    _failure_marks(fig, rows, xs, best_x, best_y, col)


def _failure_marks(fig: go.Figure, rows: list[Row], xs: list, best_x: list, best_y: list, col: int) -> None:
    """Failed and cancelled trials as crosses on the best-so-far line, the error in the hover."""
    for kind in ("fail", "error", "cancelled", "interrupted"):
        every = [(x, r) for x, r in zip(xs, rows) if outcome(r) == kind]
        if not every:
            continue
        marks = sample(every, MAX_POINTS)
        name = kind if len(marks) == len(every) else f"{kind} ({len(marks):,} of {len(every):,} shown)"
        ys = [_best_at(x, best_x, best_y) for x, _ in marks]
        fig.add_trace(
            go.Scatter(
                x=[x for x, _ in marks],
                y=ys,
                mode="markers",
                name=name,
                legendgroup=kind,
                showlegend=col == 1,
                marker={"symbol": "x", "size": 9, "color": OUTCOME_COLORS[kind]},
                text=[f"trial {r.tid}: {html.escape(r.error_message)}" for _, r in marks],
                hoverinfo="text",
            ),
            row=1,
            col=col,
        )


def _best_at(x: float, best_x: list, best_y: list) -> float:
    """The best loss known at `x` (before any ok trial: the first ok loss)."""
    i = int(np.searchsorted(best_x, x, side="right")) - 1
    return best_y[max(i, 0)]


# ---- slices -----------------------------------------------------------------------------------


def plot_slice(trials: Any, params: list[str] | None = None) -> go.Figure:
    """Loss against each parameter (trials where it is active); log axes for log-scaled ones.

    Args:
        trials: a `Trials`/`SparkTrials`, the path of a store (``trials_save_file``), or a `parzen.view.RunView`.
        params: the labels to show (default: every parameter).

    Returns:
        A plotly figure (an empty one says why when there is nothing to draw yet).
    """
    view = load_view(trials)
    if view.multi_objective:
        return several_objectives("Slice", view)
    labels = [k for k in (params or view.params) if any(k in r.raw for r in view.ok)]
    if not labels:
        return _empty("Slice plot", "no trial has finished with status ok yet")
    cols = min(len(labels), 3)
    nrows = math.ceil(len(labels) / cols)
    fig = make_subplots(rows=nrows, cols=cols, shared_yaxes=True, subplot_titles=labels, vertical_spacing=0.18)
    shown, note = ok_shown(view)
    for i, label in enumerate(labels):
        row, col = divmod(i, cols)
        _slice_panel(fig, shown, view.params[label], row + 1, col + 1, show_scale=i == 0)
    title = titled("Slice plot: loss against each parameter", note)
    fig.update_layout(template=TEMPLATE, title=title, height=320 * nrows)
    for r in range(nrows):
        fig.update_yaxes(title_text="loss", row=r + 1, col=1)
    return fig


def _slice_panel(fig: go.Figure, shown: list[Row], param: ParamInfo, row: int, col: int, show_scale: bool) -> None:
    rows = [r for r in shown if param.label in r.raw]
    xs = [_label(r.values[param.label]) if param.is_choice else r.values[param.label] for r in rows]
    marker = {"color": [r.tid for r in rows], "colorscale": "Blues", "size": 7, "line": {"width": 0.5}}
    if show_scale:
        marker["colorbar"] = {"title": {"text": "trial"}, "thickness": 12}
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=[r.loss for r in rows],
            mode="markers",
            name=param.label,
            showlegend=False,
            marker=marker,
            text=[f"trial {r.tid}" for r in rows],
        ),
        row=row,
        col=col,
    )
    if param.is_choice:
        fig.update_xaxes(type="category", categoryorder="array", categoryarray=_categories(param), row=row, col=col)
    elif param.log:
        fig.update_xaxes(type="log", row=row, col=col)
    fig.update_xaxes(title_text=param.label, row=row, col=col)


# ---- parallel coordinates -------------------------------------------------------------------


def plot_parallel_coordinate(trials: Any, params: list[str] | None = None) -> go.Figure:
    """One line per ok trial through its loss and parameters; an inactive parameter sits on its own tick.

    Args:
        trials: a `Trials`/`SparkTrials`, the path of a store (``trials_save_file``), or a `parzen.view.RunView`.
        params: the labels to show (default: every parameter).

    Returns:
        A plotly figure (an empty one says why when there is nothing to draw yet).
    """
    view = load_view(trials)
    if view.multi_objective:
        return several_objectives("Parallel coordinates", view)
    rows, note = ok_shown(view)
    labels = [k for k in (params or view.params) if any(k in r.raw for r in rows)]
    if not rows:
        return _empty("Parallel coordinates", "no trial has finished with status ok yet")
    losses = [r.loss for r in rows]
    dimensions = [{"label": "loss", "values": losses}]
    dimensions += [_dimension(view.params[k], rows) for k in labels]
    fig = _figure(titled("Parallel coordinates", note), height=460)
    fig.add_trace(
        go.Parcoords(
            line={
                "color": losses,
                "colorscale": LOSS_SCALE,
                "reversescale": True,
                "showscale": True,
                "colorbar": {"title": {"text": "loss"}},
            },
            dimensions=dimensions,
        )
    )
    return fig


def _dimension(param: ParamInfo, rows: list[Row]) -> dict:
    """A parcoords axis: options as ticks, log values on a log-labelled axis, an '(inactive)' tick if needed."""
    raw = [r.raw.get(param.label) for r in rows]
    if param.is_choice:
        values = [float(v) if v is not None else None for v in raw]
        tickvals, ticktext = [float(i) for i in range(len(param.choices))], _categories(param)
    else:
        values = [(math.log10(v) if param.log and v > 0 else float(v)) if v is not None else None for v in raw]
        tickvals, ticktext = _numeric_ticks([v for v in values if v is not None], param.log)
    present = [v for v in values if v is not None]
    lo, hi = (min(present), max(present)) if present else (0.0, 1.0)
    if param.is_choice:
        lo, hi = 0.0, float(len(param.choices) - 1)
    if any(v is None for v in values):
        inactive = lo - max(hi - lo, 1.0) * 0.15
        values = [inactive if v is None else v for v in values]
        tickvals, ticktext = [inactive, *tickvals], ["(inactive)", *ticktext]
        lo = inactive
    label = f"{param.label} (log)" if param.log and not param.is_choice else param.label
    return {"label": label, "values": values, "tickvals": tickvals, "ticktext": ticktext, "range": [lo, hi]}


def _numeric_ticks(values: list[float], log: bool) -> tuple[list[float], list[str]]:
    if not values:
        return [], []
    lo, hi = min(values), max(values)
    if log:
        decades = [float(d) for d in range(math.floor(lo), math.ceil(hi) + 1)]
        ticks = [d for d in decades if lo <= d <= hi] or [lo, hi]
        return ticks, [f"{10**t:.3g}" for t in ticks]
    ticks = list(np.linspace(lo, hi, 5)) if hi > lo else [lo]
    return ticks, [f"{t:.3g}" for t in ticks]


# ---- importance and contour -------------------------------------------------------------------


def forest_of(view: RunView, seed: int = 0) -> Forest | None:
    """The fitted forest of `view` (fitted once per view, None with too few ok trials)."""
    cache = view.__dict__.setdefault("_forests", {})
    if seed not in cache:
        try:
            cache[seed] = Forest(view, seed=seed)
        except ValueError:
            cache[seed] = None
    return cache[seed]


def fitted_note(forest: Forest | None) -> str:
    """What the forest was fitted on, when it was a sample of the ok trials ('' when it saw them all)."""
    if forest is None or not forest.sampled:
        return ""
    return f"random forest fitted on a random {forest.n_fitted:,} of the {forest.n_ok:,} ok trials"


def importances_of(view: RunView, seed: int = 0) -> list[Importance]:
    forest = forest_of(view, seed)
    return forest.importances() if forest is not None else []


def plot_param_importances(trials: Any, seed: int = 0) -> go.Figure:
    """Each parameter's share of the loss variance (fANOVA main effects), with its spread over trees.

    Args:
        trials: a `Trials`/`SparkTrials`, the path of a store (``trials_save_file``), or a `parzen.view.RunView`.
        seed: the random forest's seed.

    Returns:
        A plotly figure (an empty one says why when there is nothing to draw yet).
    """
    view = load_view(trials)
    if view.multi_objective:
        return several_objectives("Parameter importance", view)
    found = importances_of(view, seed)
    if not found:
        return _empty("Parameter importance", f"importance needs at least {MIN_TRIALS} ok trials")
    found = found[::-1]  # plotly draws the first bar at the bottom
    total = sum(i.fraction for i in found)
    fig = _figure(
        titled(
            f"Parameter importance (fANOVA): main effects explain {100 * total:.0f}% of the loss variance",
            fitted_note(forest_of(view, seed)),
        ),
        height=max(260, 90 + 42 * len(found)),
    )
    fig.add_trace(
        go.Bar(
            x=[100 * i.fraction for i in found],
            y=[i.label for i in found],
            orientation="h",
            error_x={"type": "data", "array": [100 * i.std for i in found], "thickness": 1},
            marker={"color": OUTCOME_COLORS["ok"]},
            text=[f"{100 * i.fraction:.1f}%" for i in found],
            textposition="outside",
            name="importance",
        )
    )
    fig.update_xaxes(title_text="% of loss variance explained by the parameter alone (mean ± sd over 64 trees)")
    fig.update_yaxes(title_text="parameter")
    return fig


def plot_contour(trials: Any, params: list[str] | None = None, seed: int = 0) -> go.Figure:
    """The forest's predicted loss over the two most important parameters, the trials on top.

    Args:
        trials: a `Trials`/`SparkTrials`, the path of a store (``trials_save_file``), or a `parzen.view.RunView`.
        params: the two labels to plot (default: the two most important).
        seed: the random forest's seed.

    Returns:
        A plotly figure (an empty one says why when there is nothing to draw yet).
    """
    view = load_view(trials)
    if view.multi_objective:
        return several_objectives("Contour", view)
    forest = forest_of(view, seed)
    if forest is None or len(forest.labels) < 2:
        return _empty("Contour", f"a contour needs two parameters and at least {MIN_TRIALS} ok trials")
    a, b = params or [i.label for i in forest.importances()[:2]]
    pa, pb = view.params[a], view.params[b]
    xa, xb, z = forest.marginal(a, b)
    xs = _categories(pa) if pa.is_choice else list(xa)
    ys = _categories(pb) if pb.is_choice else list(xb)
    colorbar = {"title": {"text": "predicted loss"}}
    if pa.is_choice or pb.is_choice:
        surface = go.Heatmap(x=xs, y=ys, z=z, colorscale=LOSS_SCALE, reversescale=True, colorbar=colorbar)
    else:
        surface = go.Contour(x=xs, y=ys, z=z, colorscale=LOSS_SCALE, reversescale=True, colorbar=colorbar)
    _, note = ok_shown(view)
    notes = "; ".join(n for n in (fitted_note(forest), note) if n)
    fig = _figure(
        titled(f"Contour of predicted loss over {a} and {b} (random forest, other parameters averaged)", notes),
        height=520,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0.0},
    )
    fig.add_trace(surface)
    _contour_points(fig, view, pa, pb)
    for axis, p in ((fig.update_xaxes, pa), (fig.update_yaxes, pb)):
        axis(title_text=p.label, type="category" if p.is_choice else ("log" if p.log else "linear"))
    return fig


def _contour_points(fig: go.Figure, view: RunView, pa: ParamInfo, pb: ParamInfo) -> None:
    rows = [r for r in ok_shown(view)[0] if pa.label in r.raw and pb.label in r.raw]

    def coord(p: ParamInfo, r: Row) -> Any:
        return _label(r.values[p.label]) if p.is_choice else r.values[p.label]

    fig.add_trace(
        go.Scatter(
            x=[coord(pa, r) for r in rows],
            y=[coord(pb, r) for r in rows],
            mode="markers",
            name="trials",
            marker={"color": "white", "size": 6, "line": {"color": "black", "width": 1}},
            text=[f"trial {r.tid}: loss {r.loss:.4g}" for r in rows],
        )
    )
    best = view.best
    if best in rows:
        fig.add_trace(
            go.Scatter(
                x=[coord(pa, best)],
                y=[coord(pb, best)],
                mode="markers",
                name="best trial",
                marker={"symbol": "star", "color": "gold", "size": 16, "line": {"color": "black", "width": 1}},
            )
        )


# ---- intermediate values ----------------------------------------------------------------------


def plot_intermediate_values(trials: Any, objective: int = 0) -> go.Figure:
    """The values trials reported while running (for pruning), one line per trial.

    Up to `SEPARATE_CURVES` curves each trial is its own trace; beyond, the curves of one
    outcome share a trace (gaps between them), at most `MAX_CURVES` of them: the tenth
    with the lowest last value and a random sample of the others, as the title says.

    Args:
        trials: a `Trials`/`SparkTrials`, the path of a store (``trials_save_file``), or a `parzen.view.RunView`.
        objective: when reports carry several values (``report(step, [a, b])``), the index of the one drawn.

    Returns:
        A plotly figure (an empty one says why when there is nothing to draw yet).
    """
    view = load_view(trials)
    every = [_one_curve(r, objective) for r in view.rows if r.intermediate]
    if not every:
        return _empty("Intermediate values", "no trial reported intermediate values")
    rows, note = _curves_shown(every)
    title = "Intermediate values"
    if any(isinstance(v, tuple) for r in view.rows for v in r.intermediate.values()):
        names = view.objective_names
        title += f": {names[objective] if objective < len(names) else f'value {objective}'}"
    fig = _figure(titled(title, note), height=420)
    if len(rows) <= SEPARATE_CURVES:
        _curve_traces(fig, rows)
    else:
        for kind in OUTCOME_COLORS:
            group = [r for r in rows if outcome(r) == kind]
            if group:
                fig.add_trace(_joined_curves(group, kind))
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="reported value")
    return fig


def _one_curve(row: Row, objective: int) -> Row:
    """`row` with its reports as one number each: the `objective`-th of a report of several (NaN: none)."""
    if not any(isinstance(v, tuple) for v in row.intermediate.values()):
        return row
    picked: dict[int, float | tuple[float, ...]] = {
        s: (v[objective] if objective < len(v) else math.nan) if isinstance(v, tuple) else v
        for s, v in row.intermediate.items()
    }
    return replace(row, intermediate=picked)


SEPARATE_CURVES = 100  # up to this many curves, one trace each (a legend entry per outcome either way)


def _curves_shown(rows: list[Row]) -> tuple[list[Row], str]:
    if len(rows) <= MAX_CURVES:
        return rows, ""
    ranked = sorted(rows, key=lambda r: (r.intermediate[max(r.intermediate)], r.tid))
    n_best = MAX_CURVES // 10
    picked = sorted(ranked[:n_best] + sample(ranked[n_best:], MAX_CURVES - n_best), key=lambda r: r.tid)
    note = (
        f"showing {MAX_CURVES:,} of {len(rows):,} reporting trials: the {n_best:,} with the lowest last value "
        f"and a random {MAX_CURVES - n_best:,}"
    )
    return picked, note


def _curve_traces(fig: go.Figure, rows: list[Row]) -> None:
    shown: set[str] = set()
    for r in rows:
        steps = sorted(r.intermediate)
        kind = outcome(r)
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=[r.intermediate[s] for s in steps],
                mode="lines+markers",
                name=kind,
                legendgroup=kind,
                showlegend=kind not in shown,
                line={"color": OUTCOME_COLORS[kind], "width": 1},
                marker={"size": 4},
                text=[f"trial {r.tid}"] * len(steps),
            )
        )
        shown.add(kind)


def _joined_curves(rows: list[Row], kind: str) -> go.Scatter:
    """The curves of many trials as one trace, a gap (None) between trials: one object, not thousands."""
    xs: list[Any] = []
    ys: list[Any] = []
    text: list[str] = []
    for r in rows:
        steps = sorted(r.intermediate)
        xs += [*steps, None]
        ys += [*(r.intermediate[s] for s in steps), None]
        text += [f"trial {r.tid}"] * len(steps) + [""]
    return go.Scatter(
        x=xs,
        y=ys,
        mode="lines+markers",
        name=kind,
        legendgroup=kind,
        line={"color": OUTCOME_COLORS[kind], "width": 1},
        marker={"size": 3},
        text=text,
        connectgaps=False,
    )


# ---- executor timeline ------------------------------------------------------------------------


def started(r: Row) -> float | None:
    """When a trial began to occupy a slot: its start, or (running, start not reported yet) its submission."""
    if r.start_time is not None:
        return r.start_time
    return r.book_time if r.state == "running" else None


def spans(rows: list[Row], now: float) -> dict[int, tuple[float, float]]:
    """tid -> (start, end) of every trial that occupied a slot; a running one ends now."""
    out = {}
    for r in rows:
        begin = started(r)
        if begin is not None:
            out[r.tid] = (begin, r.end_time if r.end_time is not None else now)
    return out


def assign_slots(rows: list[Row]) -> dict[int, str]:
    """tid -> the row ('host · slot k', or the worker) its trial ran on.

    With ``worker`` recorded each worker is a row. Otherwise trials are packed per host
    greedily: in start order, each takes the lowest slot that is free by then, which
    uses the fewest slots any schedule could (interval partitioning). A running trial
    whose host is not reported yet goes to the run's host when there is only one.
    """
    span = spans(rows, math.inf)
    timed = sorted((r for r in rows if r.tid in span), key=lambda r: (span[r.tid][0], r.tid))
    if any(r.worker for r in timed):
        return {r.tid: r.worker or f"{r.host or 'driver'} · ?" for r in timed}
    hosts = {r.host for r in timed if r.host}
    only_host = next(iter(hosts)) if len(hosts) == 1 else None
    slots: dict[str, list[float]] = {}
    out = {}
    for r in timed:
        begin, end = span[r.tid]
        host = r.host or only_host or "driver"
        ends = slots.setdefault(host, [])
        free = next((i for i, busy_until in enumerate(ends) if busy_until <= begin + 1e-6), None)
        if free is None:
            ends.append(math.inf)
            free = len(ends) - 1
        ends[free] = end
        out[r.tid] = f"{host} · slot {free}"
    return out


def plot_timeline(trials: Any) -> go.Figure:
    """One row per executor slot, one bar per trial coloured by outcome: idle slots and stragglers show.

    Args:
        trials: a `Trials`/`SparkTrials`, the path of a store (``trials_save_file``), or a `parzen.view.RunView`.

    Returns:
        A plotly figure (an empty one says why when there is nothing to draw yet).
    """
    view = load_view(trials)
    slot_of = assign_slots(view.rows)
    if not slot_of:
        return _empty("Executor timeline", "no trial has started yet")
    t0 = _start(view)
    span = spans(view.rows, time.time())
    rows = [r for r in view.rows if r.tid in slot_of]
    slots = sorted(set(slot_of.values()), key=_slot_key)
    first, last = min(b for b, _ in span.values()), max(e for _, e in span.values())
    busy = sum(e - b for b, e in span.values())
    use = busy / (len(slots) * (last - first)) if last > first else 1.0
    note, begin = "", 0.0
    if len(rows) > MAX_BARS:  # the most recent trials; the busy share above counts them all
        rows = sorted(rows, key=lambda r: (span[r.tid][0], r.tid))[-MAX_BARS:]
        note = f"showing the last {MAX_BARS:,} of {len(slot_of):,} trials; the busy share counts them all"
        begin = span[rows[0].tid][0] - t0
    fig = _figure(
        titled(f"Executor timeline: {len(slots)} slots, busy {100 * use:.0f}% of the time", note),
        height=200 + 36 * len(slots),
        barmode="overlay",
        uniformtext={"minsize": 8, "mode": "hide"},
    )
    for kind in OUTCOME_COLORS:
        group = [r for r in rows if outcome(r) == kind]
        if group:
            fig.add_trace(_timeline_bars(group, kind, slot_of, span, t0))
    # From 0, the moment the first trial was asked for: the wait for executors shows too.
    fig.update_xaxes(title_text="seconds since the run started", range=[begin, last - t0])
    fig.update_yaxes(
        title_text="slot", categoryorder="array", categoryarray=slots[::-1], type="category", tickmode="linear"
    )
    return fig


def _slot_key(slot: str) -> tuple:
    host, _, k = slot.rpartition(" · slot ")
    return (host, int(k)) if k.isdigit() else (slot, 0)


def _timeline_bars(
    group: list[Row], kind: str, slot_of: dict[int, str], span: dict[int, tuple[float, float]], t0: float
) -> go.Bar:
    return go.Bar(
        base=[span[r.tid][0] - t0 for r in group],
        x=[max(span[r.tid][1] - span[r.tid][0], 1e-3) for r in group],
        y=[slot_of[r.tid] for r in group],
        orientation="h",
        width=0.8,
        name=kind,
        marker={"color": OUTCOME_COLORS[kind], "line": {"color": "white", "width": 1}},
        text=[str(r.tid) for r in group],
        textposition="inside",
        insidetextanchor="middle",
        hovertext=[_bar_hover(r, span[r.tid], t0) for r in group],
        hoverinfo="text",
    )


def _bar_hover(r: Row, span: tuple[float, float], t0: float) -> str:
    if r.loss is not None:
        what = f"loss {r.loss:.4g}"
    else:
        what = "running" if r.state == "running" else html.escape(r.error_message)
    begin, end = span
    waited = r.start_time - r.book_time if r.start_time is not None and r.book_time is not None else None
    wait = f", waited {waited:.2f} s" if waited is not None else ""
    return f"trial {r.tid} ({outcome(r)}): {what}<br>{end - begin:.2f} s from {begin - t0:.2f} s{wait}"
