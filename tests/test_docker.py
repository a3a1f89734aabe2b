"""The docker-compose cluster without a container engine (issue 23, point 7): the driver's install step,
run as written against a read-only copy of the checkout, builds parzen without writing into it."""

from __future__ import annotations

import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker" / "docker-compose.yml"


def driver_steps() -> list[str]:
    """The driver's shell command, split at ``&&`` into its steps."""
    command = yaml.safe_load(COMPOSE.read_text())["services"]["driver"]["command"]
    inner = shlex.split(command)[2]  # sh -c "<steps>"
    return [step.strip() for step in inner.split("&&")]


def read_only_checkout(target: Path) -> Path:
    """The tracked files of this checkout, copied and made read-only (as the compose file mounts them)."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    for path in sorted(target.rglob("*"), reverse=True):
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    target.chmod(target.stat().st_mode & ~stat.S_IWUSR)
    return target


def test_the_driver_mounts_the_checkout_read_only_and_runs_an_example_that_exists():
    driver = yaml.safe_load(COMPOSE.read_text())["services"]["driver"]
    assert driver["volumes"] == ["..:/src:ro"]
    submit = driver_steps()[-1]
    assert submit.startswith("spark-submit")
    script = shlex.split(submit)[-1]
    assert script.startswith("/src/") and (ROOT / script[len("/src/") :]).is_file()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_install_step_builds_parzen_from_a_read_only_checkout(tmp_path):
    source = read_only_checkout(tmp_path / "src")
    before = sorted(str(p) for p in source.rglob("*"))
    steps = driver_steps()[:-1]  # everything before spark-submit
    script = " && ".join(steps).replace("/tmp/parzen", str(tmp_path / "copy"))
    script = re.sub(r"(?<!\S)/src(?=/|\s|$)", str(source), script)  # /src at the start of a path only
    wheels = tmp_path / "wheels"
    # pip install builds a wheel in the folder it is given, then installs it: build it, leave this venv alone
    script = script.replace(
        "pip install --no-cache-dir", f"{sys.executable} -m pip wheel --no-deps --no-cache-dir -w {wheels}"
    )
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=600)
    try:
        assert done.returncode == 0, done.stderr[-3000:]
        assert [p.name.split("-")[0] for p in wheels.iterdir()] == ["parzen"]
        # nothing written into the mount (checked by listing: as root, read-only modes do not stop writes)
        assert sorted(str(p) for p in source.rglob("*")) == before
    finally:
        for path in [source, *source.rglob("*")]:
            if path.is_dir():
                path.chmod(path.stat().st_mode | stat.S_IWUSR)
