"""The README's Python examples run as printed (the first thing a newcomer copies)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 2, "the README's examples were renamed or removed: update this test"


@pytest.mark.spark
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_a_readme_example_runs(index, spark, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"README.md example {index + 1}", "exec"), {"__name__": "__readme__"})  # noqa: S102
    assert capsys.readouterr().out.strip(), "a README example prints what it found"
