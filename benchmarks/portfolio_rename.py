"""Rename methods in the stored portfolio results when a measured variant becomes a default.

    python benchmarks/portfolio_rename.py "parzen_gp->parzen_gp[quadratic_every=0]" \\
        "parzen_gp[quadratic_every=5]->parzen_gp" "parzen_auto->parzen_auto[rule=2026-12-07]"

Each ``old->new`` pair renames every run of method ``old`` (its ``method`` field and its key) in every
``results/portfolio_*.json``; the pairs apply simultaneously, so a swap works. The rename is recorded in
the file's ``meta.renames`` with the date, so a reader can tell which runs were made under which name.
Refuses to rename onto a method that already has runs in a file (nothing is overwritten).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def rename_file(path: Path, pairs: dict[str, str]) -> int:
    data = json.loads(path.read_text())
    runs: dict[str, Any] = data["runs"]
    present = {r["method"] for r in runs.values()}
    clash = {new for old, new in pairs.items() if old in present and new in present and new not in pairs}
    if clash:
        raise SystemExit(f"{path.name}: {sorted(clash)} already have runs; not renaming onto them")
    renamed: dict[str, Any] = {}
    count = 0
    for key, run in runs.items():
        new = pairs.get(run["method"])
        if new is not None:
            parts = key.split("|")
            parts[3] = new
            key = "|".join(parts)
            run = {**run, "method": new}
            count += 1
        renamed[key] = run
    if count:
        data["runs"] = renamed
        meta = data.setdefault("meta", {})
        meta.setdefault("renames", []).append({"date": datetime.date.today().isoformat(), "pairs": pairs})
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, separators=(",", ":")))
        os.replace(tmp, path)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pairs", nargs="+", help="old->new")
    parser.add_argument("--files", nargs="+", type=Path, help="only these files (default: every portfolio_*.json)")
    args = parser.parse_args(argv)
    pairs = dict(p.split("->", 1) for p in args.pairs)
    for path in args.files or sorted((HERE / "results").glob("portfolio_*.json")):
        if path.name in ("portfolio_cv.json", "portfolio_gp_cv.json"):
            continue
        print(f"{path.name}: {rename_file(path, pairs)} runs renamed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
