"""The report: one self-contained HTML file (plotly.js inlined, no network), and its parts.

A run becomes a list of sections (a summary, the best trial's parameters, the figures,
the top trials, failures grouped by message, the settings). The same list, as JSON,
is what the live dashboard sends its page, and the same script draws it in both, so
the report and the dashboard always show the same things.
"""

from __future__ import annotations

import html
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.io as pio
from plotly.offline import get_plotlyjs

from parzen._output import check_output, write_text
from parzen.plotting._figures import (
    importances_of,
    plot_contour,
    plot_intermediate_values,
    plot_optimization_history,
    plot_parallel_coordinate,
    plot_param_importances,
    plot_slice,
    plot_timeline,
)
from parzen.plotting._pareto import plot_constraints, plot_hypervolume_history, plot_pareto_front, reference_point
from parzen.trial.pareto import hypervolume
from parzen.view import ParamInfo, Row, RunView, load_view

TOP_TRIALS = 10
TRACEBACK_CHARS = 4000
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass
class Section:
    """A titled part of the page: a figure (plotly JSON) or a block of HTML."""

    id: str
    title: str
    figure: dict | None = None
    html: str | None = None

    def as_json(self) -> dict:
        return {"id": self.id, "title": self.title, "figure": self.figure, "html": self.html}


def param_importances(trials: Any, *, seed: int = 0, normalize: bool = True) -> dict[str, float]:
    """label -> importance, most important first (fANOVA over a random forest; see `_importance`).

    With `normalize` the values sum to 1 (as optuna's); without, each is the share of
    the loss variance that the parameter's main effect explains on its own.

    Args:
        trials: a `Trials`/`SparkTrials`, the path of a store (``trials_save_file``), or a `parzen.view.RunView`.
        seed: the random forest's seed.
        normalize: scale the importances to sum to 1.

    Returns:
        ``{label: importance}``, empty with too few ok trials.
    """
    found = importances_of(load_view(trials), seed)
    total = sum(i.fraction for i in found)
    scale = 1.0 / total if normalize and total > 0 else 1.0
    return {i.label: i.fraction * scale for i in found}


def sections(view: RunView) -> list[Section]:
    """Everything the report and the dashboard show, in order."""
    if view.multi_objective:
        return _several_objectives(view)
    figures = [
        ("history", "Did it converge?", plot_optimization_history),
        ("timeline", "Were the executors busy?", plot_timeline),
        ("importance", "Which parameters mattered?", plot_param_importances),
        ("contour", "Where is the good region?", plot_contour),
        ("slice", "Loss against each parameter", plot_slice),
        ("parallel", "All parameters at once", plot_parallel_coordinate),
    ]
    if any(r.intermediate for r in view.rows):
        figures.append(("intermediate", "Values reported while trials ran", plot_intermediate_values))
    if view.constrained:
        figures.append(("constraints", "Which trials met the constraints?", plot_constraints))
    out = [Section("summary", "Summary", html=_summary(view)), Section("best", "Best trial", html=_best(view))]
    out += [Section(key, title, figure=_figure_json(make(view))) for key, title, make in figures]
    out += [
        Section("top", f"Top {TOP_TRIALS} trials", html=_top(view)),
        Section("failures", "Failures, grouped by error message", html=_failures(view)),
        Section("settings", "Settings of the run", html=_settings(view)),
    ]
    return out


def _several_objectives(view: RunView) -> list[Section]:
    """The sections of a run with several objectives: the front, its hypervolume, the Pareto set's table."""
    figures = [
        ("pareto", "Which trade-offs were found?", plot_pareto_front),
        ("hypervolume", "Did the front keep improving?", plot_hypervolume_history),
        ("timeline", "Were the executors busy?", plot_timeline),
    ]
    if view.constrained:
        figures.append(("constraints", "Which trials met the constraints?", plot_constraints))
    if any(r.intermediate for r in view.rows):
        figures.append(("intermediate", "Values reported while trials ran", plot_intermediate_values))
    out = [Section("summary", "Summary", html=_summary(view)), Section("best", "Pareto set", html=_pareto_table(view))]
    out += [Section(key, title, figure=_figure_json(make(view))) for key, title, make in figures]
    out += [
        Section("failures", "Failures, grouped by error message", html=_failures(view)),
        Section("settings", "Settings of the run", html=_settings(view)),
    ]
    return out


def _pareto_table(view: RunView) -> str:
    """The feasible Pareto-optimal trials: their losses and parameters, by the first objective."""
    front = sorted(view.pareto(), key=lambda r: (r.losses or (), r.tid))
    if not front:
        if view.constrained and view.ok_vectors:
            least = sorted(view.ok_vectors, key=lambda r: (r.violation, r.tid))[:3]
            listed = ", ".join(f"trial {r.tid} (violation {r.violation:.3g})" for r in least)
            return f"<p>No trial met every constraint. The least violating: {e(listed)}.</p>"
        return "<p>No trial has finished with status ok yet.</p>"
    names, labels = view.objective_names, list(view.params)
    header = ["trial", *map(e, names), *map(e, labels)]
    rows = [
        [str(r.tid), *(_value(v) for v in r.losses or ())]
        + [_param_value(view.params[k], r, k) if k in r.raw else '<span class="inactive">—</span>' for k in labels]
        for r in front
    ]
    note = f"<p>{len(front)} feasible trials no other trial beats on every objective (all minimised).</p>"
    return note + _table(header, rows, "top-trials")


def _figure_json(fig: Any) -> dict:
    return json.loads(pio.to_json(fig, validate=False))


# ---- HTML blocks ------------------------------------------------------------------------------

e = html.escape


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return e(value if isinstance(value, str) else repr(value))


def _table(header: list[str], rows: list[list[str]], css: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _summary(view: RunView) -> str:
    counts = ", ".join(f"{n} {state}" for state, n in view.counts().items()) or "none yet"
    status = "a running fmin is writing it" if view.live else "no fmin is writing it"
    items = [
        f'<li><b id="trial-count">{len(view.rows)}</b> trials: {e(counts)}</li>',
        _headline(view),
        f"<li>source: <code>{e(view.source)}</code>"
        + (f"; {e(status)}</li>" if view.settings.get("store") == view.source else "</li>"),
    ]
    if "algorithm choice" in view.settings:  # parzen.auto's decisions (meta "algorithm")
        items.append(f'<li>algorithm: <span id="algorithm-choice">{e(view.settings["algorithm choice"])}</span></li>')
    return f'<ul class="summary">{"".join(items)}</ul>'


def _headline(view: RunView) -> str:
    """The best loss, or for several objectives the Pareto set's size and hypervolume."""
    if view.multi_objective:
        front = view.pareto()
        volume = hypervolume([list(r.losses or ()) for r in front], reference_point(view)) if front else 0.0
        names = ", ".join(view.objective_names)
        return (
            f'<li>Pareto set: <b id="pareto-size">{len(front)}</b> trials over {e(names)}; hypervolume '
            f'<b id="hypervolume-value">{_value(volume)}</b> (to the worst seen + 10%)</li>'
        )
    best = view.best
    feasible = " feasible" if view.constrained else ""
    return (
        f'<li>best{feasible} loss: <b id="best-loss">{_value(best.loss) if best else "none yet"}</b>'
        + (f" (trial {best.tid})" if best else "")
        + "</li>"
    )


def _param_value(param: ParamInfo | None, row: Row, label: str) -> str:
    """A parameter's value as received by the objective; a choice's option index alongside."""
    shown = _value(row.values[label])
    if param is not None and param.is_choice:
        shown += f' <span class="index">(option {row.raw[label]})</span>'
    return shown


def _best(view: RunView) -> str:
    best = view.best
    if best is None:
        return "<p>No trial has finished with status ok yet.</p>"
    rows = [[e(k), _param_value(view.params.get(k), best, k)] for k in best.values]
    note = f"<p>Trial {best.tid}, loss {_value(best.loss)}. Values as the objective received them.</p>"
    return note + _table(["parameter", "value"], rows, "best-params")


def _top(view: RunView) -> str:
    top = view.top(TOP_TRIALS)
    if not top:
        return "<p>No trial has finished with status ok yet.</p>"
    labels = list(view.params)
    header = ["rank", "trial", "loss", "seconds", *map(e, labels)]
    rows = [
        [str(i + 1), str(r.tid), _value(r.loss), _value(r.duration) if r.duration is not None else ""]
        + [_param_value(view.params[k], r, k) if k in r.raw else '<span class="inactive">—</span>' for k in labels]
        for i, r in enumerate(top)
    ]
    return _table(header, rows, "top-trials")


def _failures(view: RunView) -> str:
    groups = view.failures()
    if not groups:
        return "<p>No trial failed.</p>"
    parts = []
    for message, rows in groups:
        tids = ", ".join(str(r.tid) for r in rows[:30]) + (" …" if len(rows) > 30 else "")
        trace = (rows[0].error or "")[-TRACEBACK_CHARS:]
        details = f"<details><summary>traceback of trial {rows[0].tid}</summary><pre>{e(trace)}</pre></details>"
        parts.append(
            f'<div class="failure"><p><b>{len(rows)}×</b> <code>{e(message)}</code><br>'
            f"trials {tids}</p>{details if trace else ''}</div>"
        )
    return "".join(parts)


def _settings(view: RunView) -> str:
    rows = [[e(str(k)), _value(v)] for k, v in view.settings.items()]
    space = [[e(p.label), e(describe_param(p))] for p in view.params.values()]
    return (
        _table(["setting", "value"], rows, "settings")
        + "<h3>Search space</h3>"
        + _table(["parameter", "distribution"], space, "space")
    )


def describe_param(p: ParamInfo) -> str:
    """hp.loguniform('lr', -7, 0) as a person reads it: 'loguniform from 0.000912 to 1'."""
    where = " (conditional)" if p.conditional else ""
    if p.is_choice:
        return f"{p.kind} of {', '.join(_label(o) for o in p.choices)}{where}"
    if p.kind == "unknown":
        return "not recorded (trials without a space)"
    scale = (lambda x: f"{2.718281828459045**x:.4g}") if p.log else (lambda x: f"{x:.4g}")
    if p.low is not None and p.high is not None:
        text = f"{p.kind} from {scale(p.low)} to {scale(p.high)}"
    else:
        text = f"{p.kind} with mu {p.mu:.4g}, sigma {p.sigma:.4g}" + (" (of the log)" if p.log else "")
    return text + (f", step {p.q:g}" if p.q else "") + where


def _label(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


# ---- the page -----------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #222; }
header { background: #1f2937; color: white; padding: 14px 24px; }
header h1 { margin: 0; font-size: 20px; } header .sub { color: #cbd5e1; font-size: 13px; }
main { padding: 8px 24px 40px; max-width: 1300px; }
section { margin: 18px 0; } h2 { font-size: 17px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
table { border-collapse: collapse; font-size: 13px; } td, th { border: 1px solid #ddd; padding: 3px 8px; }
th { background: #f3f4f6; text-align: left; } .index { color: #888; font-size: 11px; } .inactive { color: #aaa; }
pre { background: #f8f8f8; padding: 8px; overflow-x: auto; font-size: 12px; max-height: 300px; }
.failure { border-left: 3px solid #d62728; padding-left: 10px; margin: 8px 0; } code { font-size: 12px; }
#live { font-size: 13px; }
"""

RENDER = """
const PLOTLY_CONFIG = %s;
function render(data) {
  document.title = data.title;
  document.getElementById("title").textContent = data.title;
  document.getElementById("subtitle").textContent = data.subtitle;
  const main = document.getElementById("sections");
  for (const s of data.sections) {
    let el = document.getElementById(s.id);
    if (!el) {
      el = document.createElement("section");
      el.id = s.id;
      el.innerHTML = "<h2></h2><div class='body'></div>";
      main.appendChild(el);
    }
    el.querySelector("h2").textContent = s.title;
    const body = el.querySelector(".body");
    if (s.figure) { Plotly.react(body, s.figure.data, s.figure.layout, PLOTLY_CONFIG); }
    else { body.innerHTML = s.html; }
  }
}
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>parzen report</title>
<style>{style}</style>
{plotly}
</head><body>
<header><h1 id="title">parzen report</h1>
<div class="sub"><span id="subtitle"></span> <span id="live"></span></div></header>
<main id="sections"></main>
<script>{render}</script>
<script>{boot}</script>
</body></html>
"""


def payload(view: RunView) -> dict:
    """The JSON the page draws: title, subtitle and the sections."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    return {
        "title": f"parzen: {Path(view.source).name if os.sep in view.source else view.source}",
        "subtitle": f"{len(view.rows)} trials · as of {stamp}",
        "trials": len(view.rows),
        "sections": [s.as_json() for s in sections(view)],
    }


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(data).replace("</", "<\\/").replace("<!--", "<\\!--")


def page(boot: str, plotly_tag: str) -> str:
    return PAGE.format(style=STYLE, plotly=plotly_tag, render=RENDER % json.dumps(PLOTLY_CONFIG), boot=boot)


def report_html(trials: Any) -> str:
    """The report of `trials` (a Trials, a store path or a RunView) as one HTML document.

    Args:
        trials: a `Trials`/`SparkTrials`, the path of a store (``trials_save_file``), or a `parzen.view.RunView`.

    Returns:
        The page, self-contained (plotly.js inlined): it opens offline.
    """
    data = payload(load_view(trials))
    return page(f"render({_script_json(data)});", f"<script>{get_plotlyjs()}</script>")


def write_report(trials: Any, path: str | os.PathLike) -> Path:
    """Write the report to `path`; returns the absolute path.

    Args:
        trials: a `Trials`/`SparkTrials`, the path of a store (``trials_save_file``), or a `parzen.view.RunView`.
        path: the HTML file to write; its folder must exist, and it may not be the store itself.

    Returns:
        The absolute path written.
    """
    path = Path(path)
    check_output_path(path, trials)
    text = report_html(trials)
    write_text(path, text)  # complete or not at all (a full disk keeps a previous report whole)
    return path.resolve()


def check_output_path(path: Path, source: Any) -> None:
    """Refuse what would fail late or destroy data: a missing folder, any file of the store (see `_output`)."""
    check_output(path, store_path_of(source), "the report")


def store_path_of(source: Any) -> str | None:
    """The trial store behind `source` (a path, a Trials saving to a store, a view of a store), if any."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    store = getattr(source, "store", None)
    if store is not None and getattr(store, "path", None) is not None:
        return os.fspath(store.path)
    if isinstance(source, RunView):
        return source.settings.get("store")
    return None
