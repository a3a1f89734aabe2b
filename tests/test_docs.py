"""The documentation: every public name documented (docs/check_api.py), and the pages' examples run.

Every fenced ``python`` block of docs/*.md runs, the blocks of one page in order in one
namespace (a page builds its example up as a reader does), in a temporary folder. A block
that cannot run here is marked with ``<!-- not tested: <reason> -->`` on the line before
it (a Databricks notebook cell, a GPU cluster); the reason is required and shown. A page
whose examples use Spark is marked ``spark`` and runs on the session's local Spark.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)
_NOT_TESTED = re.compile(r"<!--\s*not tested(?::\s*(?P<reason>.*?))?\s*-->\s*$")
_SPARK = re.compile(r"\bSparkTrials\b|\bpyspark\b|\bSparkSession\b")


def _load_checker():
    spec = importlib.util.spec_from_file_location("check_api", DOCS / "check_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_api"] = module  # dataclasses and typing resolve names through sys.modules
    spec.loader.exec_module(module)
    return module


check_api = _load_checker()


@dataclass
class Block:
    page: Path
    line: int
    code: str
    skip_reason: str | None  # None: the block runs


def blocks(page: Path) -> list[Block]:
    """The page's python blocks, each with the reason it is not tested (None when it is)."""
    text = page.read_text()
    found = []
    for match in _FENCE.finditer(text):
        if match.group(1) != "python":
            continue
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _NOT_TESTED.search(before)
        reason = None if marker is None else (marker.group("reason") or "")
        found.append(Block(page, text.count("\n", 0, match.start()) + 1, match.group(2), reason))
    return found


PAGES = sorted(DOCS.rglob("*.md"))
TESTED = [p for p in PAGES if any(b.skip_reason is None for b in blocks(p))]


def _page_param(page: Path):
    spark = any(_SPARK.search(b.code) for b in blocks(page) if b.skip_reason is None)
    return pytest.param(page, id=str(page.relative_to(DOCS)), marks=[pytest.mark.spark] if spark else [])


# ---- the API's docstrings --------------------------------------------------------------------


def test_every_public_name_has_a_docstring_and_every_parameter_an_args_entry():
    checker = check_api.check()
    assert checker.checked > 300  # the walk reached the API (parzen.__all__ and the reference's modules)
    assert checker.problems == [], "\n".join(checker.problems)


def test_every_public_name_is_on_a_reference_page():
    missing = check_api.unreferenced(DOCS / "reference")
    assert missing == [], f"public names no reference page renders: {missing}"


def test_the_checker_reports_a_missing_docstring_a_missing_parameter_and_a_stranger():
    def undocumented(x):
        pass

    def partly(alpha, beta, **options):
        """Something.

        Args:
            alpha: documented.
            gamma: not a parameter.
        """

    def by_keyword(space, **options):
        """Options documented one by one.

        Args:
            space: documented.

        Keyword Args:
            gamma (float): an option.
        """

    checker = check_api.Checker()
    for fn in (undocumented, partly, by_keyword):
        checker.check_function(fn.__name__, fn, bound=False)
    assert checker.problems == [
        "undocumented: no docstring",
        "partly: Args: does not name beta, options",
        "partly: Args: names gamma, not in the signature",
    ]


def test_args_sections_are_read_as_griffe_reads_them():
    doc = """Summary.

    Args:
        first (int): one line.
        *args: positional ones,
            described on two lines: with a colon.
        **kwargs: keywords.

    Returns:
        value: not a parameter.
    """
    assert check_api.documented_names(doc) == {"first", "args", "kwargs"}


# ---- the pages' examples ---------------------------------------------------------------------


def test_untested_examples_say_why_and_stay_few():
    every = [b for p in PAGES for b in blocks(p)]
    untested = [b for b in every if b.skip_reason is not None]
    assert all(b.skip_reason for b in untested), [f"{b.page.name}:{b.line}" for b in untested if not b.skip_reason]
    assert len(untested) * 5 <= len(every), [f"{b.page.name}:{b.line} ({b.skip_reason})" for b in untested]


@pytest.mark.parametrize("page", [_page_param(p) for p in TESTED])
def test_the_examples_of_a_page_run(page, tmp_path, monkeypatch, request):
    if any(mark.name == "spark" for mark in request.node.iter_markers()):
        request.getfixturevalue("spark")  # the session's local Spark: SparkTrials() finds it active
    monkeypatch.chdir(tmp_path)  # stores, reports and exports land in a temporary folder
    namespace: dict = {"__name__": "__docs__"}  # not importable: Spark pickles the page's functions by value
    for block in blocks(page):
        if block.skip_reason is not None:
            continue
        # blank lines first, so a traceback's line numbers are the page's
        code = compile("\n" * block.line + block.code, str(page.relative_to(ROOT)), "exec")
        exec(code, namespace)  # noqa: S102 - the documentation's own examples
