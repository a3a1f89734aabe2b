"""The ``parzen`` command: look into a trial store without writing Python.

parzen show tuning.db [--top 5] [--json]  counts by state, the best trials (choices as values), the first failure
parzen export tuning.db [trials.csv]      every trial as CSV or JSON (--format), to standard output without a file
parzen report tuning.db [-o report.html]  one self-contained HTML report (needs parzen[plots])
parzen dashboard tuning.db [--port 8050]  a live page on 127.0.0.1 that follows a running tuning (needs parzen[plots])

Choices are shown as the option the objective received ("gini"), decoded from the
space description kept in the store, so the script that wrote it is not needed.

Exit codes: 0 done (also when the reader of a pipe stops early: ``parzen export x.db | head``),
1 the command could not do its work (no store at the path, a busy port, an unwritable file),
2 the command line is wrong (argparse's usage message). Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

from parzen._output import check_output, terminal_safe, write_text
from parzen.exceptions import ParzenError
from parzen.view import Row, RunView, from_store


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=repr)


def show(path: str, top: int, as_json: bool = False) -> str:
    """The summary of a store: as text for reading, or (`as_json`) one JSON object for scripts."""
    view = from_store(path)
    if as_json:
        return json.dumps(summary(view, path, top), ensure_ascii=False, default=repr, indent=1)
    lines = [f"{path}: {len(view.rows)} trials" + (" (a driver is writing it)" if view.live else "")]
    lines.append("  " + ", ".join(f"{state} {n}" for state, n in view.counts().items()))
    lines += _pareto_lines(view, top) if view.multi_objective else _best_lines(view, top)
    failures = view.failures()
    if failures:
        failed = sorted((r for _, rows in failures for r in rows), key=lambda r: (r.state != "error", r.tid))
        lines.append(f"first failure (tid {failed[0].tid}): {failed[0].error_message}")
        lines.append(f"failures by message ({len(failed)} trials):")
        lines += [f"  {len(rows):>5} x {message}" for message, rows in failures]
    return "\n".join(map(terminal_safe, lines))  # labels, values and errors come from user code


def summary(view: RunView, path: str, top: int) -> dict[str, Any]:
    """What `show` prints, as data: counts, the best trials (or the Pareto set), the failures."""
    data: dict[str, Any] = {"store": path, "trials": len(view.rows), "live": view.live, "counts": view.counts()}
    if view.multi_objective:
        front = sorted(view.pareto(), key=lambda r: (r.losses or (), r.tid))
        data["objectives"] = list(view.objective_names)
        data["pareto_size"] = len(front)
        data["pareto"] = [_trial_data(view, r) for r in _spread(front, top)]
    else:
        data["best"] = [_trial_data(view, r) for r in view.top(top)]
    failures = view.failures()
    data["failures"] = [{"message": m, "count": len(rows), "tids": [r.tid for r in rows]} for m, rows in failures]
    return data


def _trial_data(view: RunView, row: Row) -> dict[str, Any]:
    data: dict[str, Any] = {"tid": row.tid}
    if row.losses is not None:
        data["losses"] = dict(zip(view.objective_names, row.losses))
    else:
        data["loss"] = row.loss
    if row.constraints:
        data["constraints"] = list(row.constraints)
    data["params"] = row.values
    data["choice_index"] = {k: v for k, v in row.raw.items() if k in view.params and view.params[k].is_choice}
    data["steps"] = len(row.intermediate)
    return data


def _best_lines(view: RunView, top: int) -> list[str]:
    """The `top` best feasible trials of a one-loss run, best first."""
    best = view.top(top)
    lines = [f"best {len(best)}:"] if best else []
    for r in best:
        steps = f"  steps {len(r.intermediate)}" if r.intermediate else ""
        lines.append(f"  tid {r.tid:>5}  loss {r.loss:<12.6g} {_json(_rounded(r.values))}{_indices(view, r)}{steps}")
    return lines


def _pareto_lines(view: RunView, top: int) -> list[str]:
    """The feasible Pareto set of a run with several objectives: its size, then `top` of its trials.

    No trial is "best" when the losses conflict; the set is listed by the first objective so a
    reader sees the trade-off run from one end to the other."""
    front = sorted(view.pareto(), key=lambda r: (r.losses or (), r.tid))
    names = view.objective_names
    if not front:
        feasible = sum(r.feasible for r in view.ok_vectors)
        return [f"pareto set: empty ({len(view.ok_vectors)} ok trials, {feasible} feasible)"]
    shown = f" (showing {top})" if len(front) > top else ""
    lines = [f"pareto set {len(front)} trials over {', '.join(names)}{shown}:"]
    for r in _spread(front, top):
        losses = "  ".join(f"{name} {value:<10.6g}" for name, value in zip(names, r.losses or ()))
        lines.append(f"  tid {r.tid:>5}  {losses} {_json(_rounded(r.values))}{_indices(view, r)}")
    return lines


def _spread(rows: list[Row], n: int) -> list[Row]:
    """`n` rows evenly spaced along `rows` (both ends kept), so a long front is shown end to end."""
    if len(rows) <= n:
        return rows
    if n <= 1:
        return rows[:n]
    picks = sorted({round(i * (len(rows) - 1) / (n - 1)) for i in range(n)})
    return [rows[i] for i in picks]


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    """Floats to 6 significant digits: a summary for reading (export keeps full precision)."""
    return {k: float(f"{v:.6g}") if isinstance(v, float) else v for k, v in values.items()}


def _indices(view: RunView, row: Row) -> str:
    """The option index of each choice, for users who pass values back to fmin/space_eval."""
    picks = {k: v for k, v in row.raw.items() if k in view.params and view.params[k].is_choice}
    return f"  choice index {_json(picks)}" if picks else ""


EXPORT_FIELDS = ["tid", "state", "status", "loss", "book_time", "start_time", "end_time", "duration"]
EXPORT_FIELDS += ["host", "worker", "attempts"]


def export_records(view: RunView) -> list[dict[str, Any]]:
    """One flat dict per trial: fields, ``params_<label>`` as values, ``index_<label>`` for choices."""
    records = []
    front = {r.tid for r in view.pareto()} if view.multi_objective else set()
    for r in view.rows:
        record = {f: getattr(r, f) for f in EXPORT_FIELDS}
        record.update(_objective_fields(view, r, front))
        for label, param in view.params.items():
            record[f"params_{label}"] = r.values.get(label)
            if param.is_choice:
                record[f"index_{label}"] = r.raw.get(label)
        record["error"] = r.error
        record["steps"] = len(r.intermediate)  # values reported with parzen.report (pruning)
        last = r.intermediate[max(r.intermediate)] if r.intermediate else None
        record["last_value"] = list(last) if isinstance(last, tuple) else last  # several objectives: a list
        records.append(record)
    return records


def _objective_fields(view: RunView, row: Row, front: set[int]) -> dict[str, Any]:
    """``loss_<name>`` per objective and ``pareto`` (several objectives); ``constraint_<i>`` and
    ``feasible`` (constraints): the same columns for every row, empty where a trial has none."""
    fields: dict[str, Any] = {}
    if view.multi_objective:
        values = row.losses or ()
        for i, name in enumerate(view.objective_names):
            fields[f"loss_{name}"] = values[i] if i < len(values) else None
        fields["pareto"] = row.tid in front
    if view.constrained:
        width = max(len(r.constraints) for r in view.rows)
        for i in range(width):
            fields[f"constraint_{i}"] = row.constraints[i] if i < len(row.constraints) else None
        fields["feasible"] = row.feasible if row.constraints else None
    return fields


def export(path: str, out: str | None, fmt: str | None) -> str:
    """Write every trial as CSV or JSON to `out`, or return the text when `out` is None / '-'."""
    fmt = fmt or ("json" if out and out.endswith(".json") else "csv")
    target = None if out in (None, "-") else Path(str(out))
    if target is not None:
        check_output(target, path, "the export")
    records = export_records(from_store(path))
    if fmt == "json":
        text = json.dumps(records, ensure_ascii=False, default=repr, indent=1) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]) if records else EXPORT_FIELDS)
        writer.writeheader()
        writer.writerows(records)
        text = buffer.getvalue()
    if target is None:
        return text.rstrip("\n")
    write_text(target, text)  # complete or not at all
    return f"wrote {len(records)} trials to {out}"


def report(path: str, out: str | None) -> str:
    from_store(path)  # a clear error for a missing or foreign file before importing plotly
    plotting = _plotting()
    target = Path(out) if out else Path(path).with_suffix(".html")
    written = plotting.write_report(path, target)
    return f"report written to {written}"


def dashboard(path: str, host: str, port: int, allow_remote: bool = False, allowed_hosts: tuple = ()) -> str:
    from_store(path)
    plotting = _plotting()
    if hasattr(os, "nice"):
        os.nice(5)  # the tuning run on the same machine comes first
    board = plotting._dashboard.Dashboard(path, host, port, allow_remote=allow_remote, allowed_hosts=allowed_hosts)
    print(f"parzen dashboard of {path} at {board.url} (read-only; Ctrl-C to stop)", flush=True)
    if board.exposure:
        print(f"parzen: warning: {board.exposure}", file=sys.stderr, flush=True)
    try:
        board.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        board.server.server_close()
    return "dashboard stopped"


def _plotting():
    try:
        import parzen.plotting as plotting
    except ImportError as exc:
        raise ParzenError(str(exc)) from exc
    return plotting


def _count(text: str) -> int:
    """An argparse type: a whole number >= 0 (``--top -2`` is an error naming what is valid)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (give 0 or more)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative (give 0 or more)")
    return value


def _port(text: str) -> int:
    """An argparse type: a TCP port, 0 to 65535 (0 picks a free one)."""
    value = _count(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (give 0 to 65535; 0 picks a free port)")
    return value


def _parser() -> argparse.ArgumentParser:
    from parzen import __version__

    parser = argparse.ArgumentParser(
        prog="parzen",
        description="Look into a parzen trial store.",
        epilog="exit codes: 0 done, 1 the command failed (one line on stderr says why), 2 a wrong command line",
    )
    parser.add_argument("--version", action="version", version=f"parzen {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    show_cmd = commands.add_parser("show", help="summary of a store, the best trials with their values")
    show_cmd.add_argument("store")
    show_cmd.add_argument("--top", type=_count, default=5, help="how many of the best trials to list (0 or more)")
    show_cmd.add_argument("--json", action="store_true", help="one JSON object instead of text (for scripts)")
    export_cmd = commands.add_parser("export", help="every trial as CSV or JSON (standard output without a file)")
    export_cmd.add_argument("store")
    export_cmd.add_argument("output", nargs="?", help="file to write; omit or '-' for standard output")
    export_cmd.add_argument("--format", choices=["csv", "json"], help="default: from the file name, else csv")
    report_cmd = commands.add_parser("report", help="write a self-contained HTML report")
    report_cmd.add_argument("store")
    report_cmd.add_argument("-o", "--output", help="HTML file to write (default: the store's name with .html)")
    dash_cmd = commands.add_parser("dashboard", help="serve a live page that follows the store on 127.0.0.1")
    dash_cmd.add_argument("store")
    dash_cmd.add_argument("--host", default="127.0.0.1")
    dash_cmd.add_argument("--port", type=_port, default=8050, help="0 picks a free port")
    dash_cmd.add_argument(
        "--allow-remote",
        action="store_true",
        help="with --host 0.0.0.0: serve other machines too (no authentication: anyone who reaches the port reads it)",
    )
    dash_cmd.add_argument(
        "--allow-host", action="append", default=[], metavar="NAME", help="a host name to answer to (a reverse proxy)"
    )
    return parser


USAGE_ERROR, FAILED = 2, 1


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (0 done, 1 failed, 2 a wrong command line).

    Args:
        argv: the arguments after ``parzen`` (default: the command line).
    """
    args = _parser().parse_args(argv)  # exits with 2 and the usage on a wrong command line
    try:
        text = _run(args)
        data = args.command == "export" or (args.command == "show" and args.json)
        if data and sys.stdout.isatty():  # data for a pipe; on a terminal, escaped
            text = "\n".join(map(terminal_safe, text.split("\n")))
        print(text, flush=True)
    except ParzenError as exc:
        print(f"parzen: {terminal_safe(str(exc))}", file=sys.stderr)
        return FAILED
    except BrokenPipeError:  # `parzen export x.db | head`: the reader has what it wanted
        _quiet_stdout()
    return 0


def _run(args: argparse.Namespace) -> str:
    if args.command == "show":
        return show(args.store, args.top, args.json)
    if args.command == "export":
        return export(args.store, args.output, args.format)
    if args.command == "report":
        return report(args.store, args.output)
    return dashboard(args.store, args.host, args.port, args.allow_remote, tuple(args.allow_host))


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so flushing it at exit raises no second BrokenPipeError."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (a test's capture): nothing to quiet
        pass
    finally:
        os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
