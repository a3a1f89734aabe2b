"""Check what `make dist` built: the wheel and sdist hold what a user needs and nothing of the repository's own.

    python .ci/check_dist.py dist/

The wheel must carry the package (every module, ``py.typed``), the licence text in its
metadata, the version parzen reports, and no tests, benchmarks or docs; the sdist must
carry the licence, the README and pyproject.toml. Exits non-zero listing what is wrong.
"""

from __future__ import annotations

import re
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def version() -> str:
    text = (ROOT / "src" / "parzen" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def check_wheel(path: Path) -> list[str]:
    problems = []
    names = zipfile.ZipFile(path).namelist()
    modules = {str(p.relative_to(ROOT / "src")) for p in (ROOT / "src" / "parzen").rglob("*.py")}
    missing = sorted(modules - set(names))
    if missing:
        problems.append(f"{path.name} lacks modules: {missing[:5]}...")
    if "parzen/py.typed" not in names:
        problems.append(f"{path.name} lacks parzen/py.typed (type checkers would ignore parzen's hints)")
    if not any(re.search(r"\.dist-info/licenses/LICENSE$", n) for n in names):
        problems.append(f"{path.name} carries no licence text (.dist-info/licenses/LICENSE)")
    stray = [n for n in names if n.split("/")[0] in ("tests", "benchmarks", "docs", "examples", "docker")]
    if stray:
        problems.append(f"{path.name} carries repository files: {stray[:5]}")
    if f"parzen-{version()}-" not in path.name:
        problems.append(f"{path.name} is not version {version()}")
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(path).read(metadata).decode()
    for needed in ("License-Expression: Apache-2.0", "Classifier: Typing :: Typed", "Requires-Python: >=3.11"):
        if needed not in text:
            problems.append(f"{path.name} METADATA lacks {needed!r}")
    return problems


def check_sdist(path: Path) -> list[str]:
    names = {n.split("/", 1)[-1] for n in tarfile.open(path).getnames()}
    return [f"{path.name} lacks {n}" for n in ("LICENSE", "README.md", "pyproject.toml", "src/parzen/py.typed") if n not in names]


def main(folder: str) -> int:
    dist = Path(folder)
    wheels, sdists = sorted(dist.glob("parzen-*.whl")), sorted(dist.glob("parzen-*.tar.gz"))
    problems = [] if wheels and sdists else [f"{dist} needs one wheel and one sdist, has {sorted(dist.iterdir())}"]
    for wheel in wheels:
        problems += check_wheel(wheel)
    for sdist in sdists:
        problems += check_sdist(sdist)
    for problem in problems:
        print(f"check_dist: {problem}", file=sys.stderr)
    if not problems:
        print(f"check_dist: {', '.join(p.name for p in wheels + sdists)} ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dist"))
