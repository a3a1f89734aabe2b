"""The ``parzen`` command: look into a trial store without writing Python.

parzen show tuning.db [--top 5]     counts by state, the best trials, the first failure
parzen export tuning.db trials.csv  every trial as CSV (needs pandas)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from parzen.exceptions import ParzenError
from parzen.store import load_trials
from parzen.trials import TrialState


def show(path: str, top: int) -> str:
    trials = load_trials(path)
    lines = [f"{path}: {len(trials)} trials"]
    counts = Counter(r.state.name for r in trials.records)
    lines.append("  " + ", ".join(f"{state.lower()} {n}" for state, n in sorted(counts.items())))
    ok = sorted((r for r in trials.records if r.loss is not None), key=lambda r: r.loss or 0.0)
    if ok:
        lines.append(f"best {min(top, len(ok))}:")
        lines += [f"  tid {r.tid:>5}  loss {r.loss:<12.6g} {json.dumps(r.params)}" for r in ok[:top]]
    failed = [r for r in trials.records if r.state == TrialState.ERROR]
    if failed:
        last_line = (failed[0].error or "").strip().splitlines()[-1:] or ["?"]
        lines.append(f"first failure (tid {failed[0].tid}): {last_line[0]}")
    return "\n".join(lines)


def export(path: str, out: str) -> str:
    frame = load_trials(path).to_dataframe()
    frame.to_csv(out, index=False)
    return f"wrote {len(frame)} trials to {out}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parzen", description="Look into a parzen trial store.")
    commands = parser.add_subparsers(dest="command", required=True)
    show_cmd = commands.add_parser("show", help="summary of a store")
    show_cmd.add_argument("store")
    show_cmd.add_argument("--top", type=int, default=5)
    export_cmd = commands.add_parser("export", help="every trial as CSV")
    export_cmd.add_argument("store")
    export_cmd.add_argument("csv")
    args = parser.parse_args(argv)
    try:
        text = show(args.store, args.top) if args.command == "show" else export(args.store, args.csv)
    except ParzenError as exc:
        print(f"parzen: {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
