"""Real runs to look at, and a real headless browser (Debian's chromium) to look with."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from parzen import STATUS_FAIL, Trials, fmin, hp, rand

CHROMIUM = os.environ.get("PARZEN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("PARZEN_SCREENSHOTS", "")) if os.environ.get("PARZEN_SCREENSHOTS") else None

# A space with every kind of thing a figure must get right: a log scale, a quantised
# integer, a choice of plain values (one is None), and a conditional branch.
SPACE = {
    "lr": hp.loguniform("lr", np.log(1e-4), np.log(1.0)),
    "depth": hp.quniform("depth", 1, 10, 1),
    "act": hp.choice("act", ["relu", "tanh", None]),
    "opt": hp.choice("opt", [{"kind": "adam", "beta": hp.uniform("beta", 0.8, 0.999)}, {"kind": "sgd"}]),
}


def objective(p):
    """lr matters most; sgd is worse; depth 10 raises; a few trials report status fail."""
    if p["depth"] >= 10:
        raise ValueError("depth 10 does not fit in memory")
    if p["act"] is None and p["depth"] == 1:
        return {"status": STATUS_FAIL}
    loss = (np.log10(p["lr"]) + 2.5) ** 2 + 0.05 * p["depth"] + (0.5 if p["opt"]["kind"] == "sgd" else 0.0)
    return {"loss": float(loss), "status": "ok"}


def run(trials=None, n=60, seed=0, save=""):
    trials = trials if trials is not None or save else Trials()
    fmin(
        objective,
        SPACE,
        algo=rand.suggest,
        max_evals=n,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
        catch_eval_exceptions=True,
        trials_save_file=save,
    )
    return trials


@pytest.fixture(scope="session")
def store(tmp_path_factory):
    """A finished store of 60 trials (some failed) and its in-memory twin."""
    path = tmp_path_factory.mktemp("run") / "tuning.db"
    from parzen import load_trials

    run(save=str(path))
    return path, load_trials(path, space=SPACE)


@pytest.fixture(scope="session")
def browser():
    """A headless chromium driven by playwright (both from the package registries)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def save_screenshot(page, name: str, **kwargs) -> None:
    """Keep a screenshot (of a page or an element) for the docs when PARZEN_SCREENSHOTS names a folder."""
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), **kwargs)


def copy_store(src: Path, dst: Path) -> Path:
    """Copy a store as SQLite sees it: the file and its write-ahead log (where recent commits are)."""
    shutil.copy(src, dst)
    if Path(f"{src}-wal").exists():
        shutil.copy(f"{src}-wal", f"{dst}-wal")
    return dst
