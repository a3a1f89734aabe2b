"""A read-only view of a run, with choices as values: what the CLI, plots and reports read.

A `RunView` is built from an in-memory `Trials` (`from_trials`) or from a store file
(`from_store`), and holds every trial as a `Row` whose choices are decoded to the
option the objective received (``"gini"``, not ``0``). Decoding needs no Python space:
the store keeps the space's JSON description, and `params_from_description` reads
labels, distributions and choice options from it, so ``parzen show`` prints values for
a store written by a script that is not at hand.

Standard library only: ``parzen show`` must work without the plots extra. Reading a
store opens a short-lived read-only SQLite connection (``mode=ro``), so a reader can
never write to it, corrupt it or hold a lock a running `fmin` waits on.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

from parzen.storage.snapshot import read_store

SHORT_NAME_CHARS = 40  # a nested-space option longer than this is cut with an ellipsis
INACTIVE = None  # the value of a parameter in a trial where its branch was not chosen


@dataclass(frozen=True)
class ParamInfo:
    """One hyperparameter: its distribution and, for a choice, what each option shows as.

    ``low``/``high``/``mu``/``sigma`` are as in the space (in log space for log kinds);
    ``options`` holds plain constants as themselves and nested spaces as short names.
    ``kind`` is ``"unknown"`` when the trials came without a space description.
    """

    label: str
    kind: str
    low: float | None = None
    high: float | None = None
    mu: float | None = None
    sigma: float | None = None
    q: float | None = None
    options: tuple | None = None
    probs: tuple[float, ...] | None = None
    conditional: bool = False

    @property
    def is_choice(self) -> bool:
        return self.options is not None

    @property
    def choices(self) -> tuple:
        """The options of a choice (empty for a numeric parameter)."""
        return self.options or ()

    @property
    def log(self) -> bool:
        """True when values spread over orders of magnitude (a log axis shows them best)."""
        return "log" in self.kind

    def display(self, raw: Any) -> Any:
        """The value a person should read for the stored `raw` value (an index for a choice)."""
        if raw is None or not self.is_choice:
            return raw
        try:
            return self.choices[int(raw)]
        except (IndexError, ValueError, TypeError):
            return raw


@dataclass
class Row:
    """One trial as plots and reports read it. ``raw`` keeps a choice's index, ``values`` its value."""

    tid: int
    state: str  # TrialState name in lower case: done, error, running, cancelled, interrupted, new
    status: str | None
    loss: float | None  # finite loss of an ok trial, else None
    raw: dict[str, Any]
    values: dict[str, Any]
    book_time: float | None = None
    start_time: float | None = None
    end_time: float | None = None
    host: str | None = None
    worker: str | None = None
    error: str | None = None
    attempts: int = 1
    intermediate: dict[int, float | tuple[float, ...]] = field(default_factory=dict)  # tuples: several objectives
    result: dict[str, Any] = field(default_factory=dict)
    losses: tuple[float, ...] | None = None  # every loss of an ok trial with several objectives
    constraints: tuple[float, ...] = ()  # the constraint values an ok trial returned (feasible when <= 0)

    @property
    def feasible(self) -> bool:
        """Whether every constraint holds (True without constraints)."""
        return all(c <= 0 for c in self.constraints)

    @property
    def violation(self) -> float:
        """The sum of the constraints' positive parts (0 when feasible)."""
        return sum(max(0.0, c) for c in self.constraints)

    @property
    def loss_or_nan(self) -> float:
        """The loss as a plain float (NaN without one): for rows already known to be ok."""
        return math.nan if self.loss is None else self.loss

    @property
    def duration(self) -> float | None:
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time

    @property
    def error_message(self) -> str:
        """The last line of the traceback (what failures are grouped by)."""
        text = (self.error or self.result.get("error") or "").strip()
        return text.split("\n")[-1].strip() if text else f"status {self.status!r} without a message"


@dataclass
class RunView:
    """Every trial of one run, in tid order, plus its parameters and settings."""

    source: str
    params: dict[str, ParamInfo]
    rows: list[Row]
    settings: dict[str, Any] = field(default_factory=dict)
    live: bool = False  # a driver holds the store's lease (the run is being written)
    objectives: tuple[str, ...] = ()  # the names of a run's several objectives (empty: one)

    @property
    def multi_objective(self) -> bool:
        """Whether the run has several objectives (its rows carry `losses`, not one `loss`)."""
        return any(r.losses is not None for r in self.rows)

    @property
    def objective_names(self) -> tuple[str, ...]:
        """The objectives' names: given to fmin, else ``loss 0``, ``loss 1``..."""
        k = next((len(r.losses) for r in self.rows if r.losses is not None), 1)
        return self.objectives if len(self.objectives) == k else tuple(f"loss {i}" for i in range(k))

    @property
    def constrained(self) -> bool:
        """Whether trials returned constraints."""
        return any(r.constraints for r in self.rows)

    @property
    def ok(self) -> list[Row]:
        """Rows with a finite loss (status ok), in tid order (rows with several losses: see `ok_vectors`)."""
        return [r for r in self.rows if r.loss is not None]

    @property
    def ok_vectors(self) -> list[Row]:
        """Rows of ok trials with several losses, in tid order."""
        return [r for r in self.rows if r.losses is not None]

    @property
    def best(self) -> Row | None:
        """The ok trial with the lowest loss, feasible when trials return constraints (one objective)."""
        ok = [r for r in self.ok if r.feasible]
        return min(ok, key=lambda r: r.loss_or_nan) if ok else None

    def pareto(self) -> list[Row]:
        """The feasible Pareto-optimal rows of a run with several objectives, in tid order."""
        rows = [r for r in self.ok_vectors if r.feasible]
        if not rows:
            return []
        from parzen.trial.pareto import pareto_mask

        mask = pareto_mask([list(r.losses or ()) for r in rows])
        return [r for r, on in zip(rows, mask) if on]

    def top(self, n: int) -> list[Row]:
        """The `n` best feasible ok rows (one objective)."""
        return sorted((r for r in self.ok if r.feasible), key=lambda r: (r.loss_or_nan, r.tid))[:n]

    def failures(self) -> list[tuple[str, list[Row]]]:
        """Failed trials grouped by their error message, the largest group first."""
        groups: dict[str, list[Row]] = {}
        for row in self.rows:
            if row.state == "error" or (row.state == "done" and row.status != "ok"):
                groups.setdefault(row.error_message, []).append(row)
        return sorted(groups.items(), key=lambda item: (-len(item[1]), item[1][0].tid))

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.rows:
            out[row.state] = out.get(row.state, 0) + 1
        return dict(sorted(out.items()))


# ---- the space description -> parameters ---------------------------------------------


def option_value(description: Any) -> Any:
    """A choice option as a person reads it: a constant as itself, a nested space as a short name."""
    if description is None or isinstance(description, (bool, int, float, str)):
        return description
    return short_name(description)


def short_name(description: Any) -> str:
    """A readable one-line name for the description of a (nested) space."""
    text = _short(description)
    return text if len(text) <= SHORT_NAME_CHARS else text[: SHORT_NAME_CHARS - 1] + "…"


def _short(d: Any) -> str:
    if d is None or isinstance(d, (bool, int, float)):
        return repr(d)
    if isinstance(d, str):
        return repr(d)
    if isinstance(d, list):
        return "[" + ", ".join(_short(v) for v in d) + "]"
    if not isinstance(d, dict) or not d:
        return json.dumps(d)
    if "hp" in d:
        return d["hp"]["label"]
    if "dict" in d:
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in d["dict"].items()) + "}"
    if "list" in d or "tuple" in d:
        items = d.get("list", d.get("tuple")) or []
        return ("[" if "list" in d else "(") + ", ".join(_short(v) for v in items) + ("]" if "list" in d else ")")
    if "call" in d:
        return f"{d['call'].rsplit('.', 1)[-1]}({', '.join(_short(a) for a in d.get('args', []))})"
    if "object" in d:
        return str(d["object"]).rsplit(".", 1)[-1]
    if "const" in d:
        return str(d["const"])
    return json.dumps(d)


def params_from_description(description: Any) -> dict[str, ParamInfo]:
    """label -> `ParamInfo` for every hyperparameter of a space description (all branches)."""
    out: dict[str, ParamInfo] = {}
    _collect(description, False, out)
    return out


def _collect(d: Any, conditional: bool, out: dict[str, ParamInfo]) -> None:
    if isinstance(d, list):
        for v in d:
            _collect(v, conditional, out)
        return
    if not isinstance(d, dict):
        return
    if "hp" in d and d["hp"]["label"] not in out:
        out[d["hp"]["label"]] = _param_info(d, conditional)
    for key, value in d.items():
        if key != "hp":
            _collect(value, conditional or key == "options", out)


def _param_info(d: dict, conditional: bool) -> ParamInfo:
    hp = d["hp"]
    options = tuple(option_value(o) for o in d["options"]) if "options" in d else None
    if options is None and "n_options" in hp:
        options = tuple(range(hp["n_options"]))
    probs = tuple(hp["probs"]) if hp.get("probs") else None
    fields = {k: hp.get(k) for k in ("low", "high", "mu", "sigma", "q")}
    return ParamInfo(hp["label"], hp["kind"], options=options, probs=probs, conditional=conditional, **fields)


def _inferred_params(rows_params: list[dict[str, Any]]) -> dict[str, ParamInfo]:
    """Parameters seen in the trials, when no space description is known."""
    labels: dict[str, None] = {}
    for params in rows_params:
        labels.update(dict.fromkeys(params))
    n = len(rows_params)
    return {k: ParamInfo(k, "unknown", conditional=sum(k in p for p in rows_params) < n) for k in labels}


# ---- building a view ----------------------------------------------------------------------


def _finite_all(values: Any) -> tuple[float, ...] | None:
    """Every value as a finite float, or None when one is not (a damaged or hand-edited row)."""
    out = tuple(_finite(v) for v in values)
    return None if any(v is None for v in out) else out  # type: ignore[return-value]


def _finite(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x) if math.isfinite(x) else None


def _step_value(value: Any) -> float | tuple[float, ...]:
    """A reported value as a float, or a tuple of floats for a report of several objectives."""
    return tuple(float(v) for v in value) if isinstance(value, (tuple, list)) else float(value)


def _decode(params: dict[str, ParamInfo], raw: dict[str, Any]) -> dict[str, Any]:
    return {k: (params[k].display(v) if k in params else v) for k, v in raw.items()}


def _row(params: dict[str, ParamInfo], **fields: Any) -> Row:
    result = fields.get("result") or {}
    ok = fields["state"] == "done" and result.get("status") == "ok"
    loss = result.get("loss")
    several = ok and isinstance(loss, (list, tuple)) and len(loss) > 1
    fields["loss"] = _finite(loss) if ok and not several else None
    fields["losses"] = _finite_all(loss) if several else None
    cons = result.get("constraints") if ok else None
    fields["constraints"] = (_finite_all(cons) or ()) if isinstance(cons, list) else ()
    fields["status"] = result.get("status")
    fields["values"] = _decode(params, fields["raw"])
    fields["intermediate"] = {int(k): _step_value(v) for k, v in (fields.get("intermediate") or {}).items()}
    return Row(**fields)


def _rows_of(params: dict[str, ParamInfo], records: list[Any]) -> list[Row]:
    """`Row`s of `Trial` records (in memory, or loaded from a store)."""
    return [
        _row(
            params,
            tid=r.tid,
            state=r.state.name.lower(),
            raw=dict(r.params),
            result=dict(r.result),
            book_time=r.book_time,
            start_time=r.start_time,
            end_time=r.end_time,
            host=r.host,
            worker=getattr(r, "worker", None),
            error=r.error,
            attempts=r.attempts,
            intermediate=getattr(r, "intermediate", None) or {},
        )
        for r in records
    ]


def from_trials(trials: Any) -> RunView:
    """The view of an in-memory `Trials` (or `SparkTrials`); reads, never changes it."""
    records = trials.records
    space = getattr(trials, "space", None)
    params = params_from_description(space.describe()) if space is not None else {}
    if not params:
        params = _inferred_params([r.params for r in records])
    rows = _rows_of(params, records)
    settings = {"trials": type(trials).__name__}
    for name in ("parallelism", "timeout", "loss_threshold", "trial_timeout", "max_retries"):
        value = getattr(trials, name, None)
        if value is not None:
            settings[name] = value
    store = getattr(trials, "store", None)
    if store is not None:
        settings["store"] = str(store.path)
        _algorithm_choice(settings, store.meta("algorithm"))
    objectives = tuple(getattr(trials, "objectives", None) or ())
    return RunView(
        f"in-memory {type(trials).__name__}", params, rows, _with_observed(settings, rows), objectives=objectives
    )


def from_store(path: str | os.PathLike) -> RunView:
    """The view of a store file, read through the store's read-only path (`TrialStore`).

    That path checks the file is exactly a parzen store before reading (a view or a
    trigger planted in a foreign file is refused, never run), reads around damaged rows
    (with a `StoreWarning` listing them), restores non-finite values, and never loads
    attachments.
    """
    meta, records, lease = read_store(path)
    description = json.loads(meta["space"]) if "space" in meta else None
    params = params_from_description(description) if description is not None else {}
    if not params:
        params = _inferred_params([r.params for r in records])
    rows = _rows_of(params, records)
    settings: dict[str, Any] = {"store": str(path), "store format": meta.get("format_version")}
    if lease is not None:
        settings["driver"] = f"pid {lease[1]} on {lease[0]}, last write {time.ctime(lease[2])}"
    _algorithm_choice(settings, meta.get("algorithm"))
    objectives = _names(meta.get("objectives"))
    return RunView(
        str(path), params, rows, _with_observed(settings, rows), live=lease is not None, objectives=objectives
    )


def _algorithm_choice(settings: dict[str, Any], stored: str | None) -> None:
    """``settings["algorithm choice"]``: what `parzen.auto` chose and why (meta ``algorithm``), if it ran."""
    try:
        made = json.loads(stored) if stored else []
    except ValueError:
        return
    if isinstance(made, list) and made and all(isinstance(d, dict) for d in made):
        settings["algorithm choice"] = "; then ".join(f"{d.get('method')}: {d.get('reason')}" for d in made)


def _names(stored: str | None) -> tuple[str, ...]:
    """The objectives' names a store recorded (``meta.objectives``), or none."""
    try:
        names = json.loads(stored) if stored else []
    except ValueError:
        return ()
    return tuple(str(n) for n in names) if isinstance(names, list) else ()


def load_view(source: Any) -> RunView:
    """A `RunView` of whatever the caller has: a view, a `Trials`, or a store path."""
    if isinstance(source, RunView):
        return source
    if isinstance(source, (str, os.PathLike)):
        return from_store(source)
    if hasattr(source, "records"):
        return from_trials(source)
    raise TypeError(f"expected a Trials, a store path or a RunView, got {type(source).__name__}")


def _with_observed(settings: dict[str, Any], rows: list[Row]) -> dict[str, Any]:
    """Settings the trials themselves show: time span, hosts, the most trials that ran at once."""
    books = [r.book_time for r in rows if r.book_time is not None]
    ends = [t for t in (r.end_time or r.book_time for r in rows) if t is not None]
    if books:
        settings["first trial"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(min(books)))
        settings["wall time"] = f"{max(ends) - min(books):.1f} s"
    hosts = sorted({r.host for r in rows if r.host})
    if hosts:
        settings["hosts"] = ", ".join(hosts)
    settings["most trials running at once"] = max_concurrency(rows)
    return settings


def max_concurrency(rows: list[Row]) -> int:
    """The largest number of trials whose [start, end) intervals overlap."""
    events = []
    for r in rows:
        if r.start_time is not None:
            events += [(r.start_time, 1), (r.end_time if r.end_time is not None else math.inf, -1)]
    running = best = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        running += step
        best = max(best, running)
    return best
