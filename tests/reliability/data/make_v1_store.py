"""How `v1_store.db` was made: run with parzen at commit 7b296dc (store format 1).

    python tests/reliability/data/make_v1_store.py tests/reliability/data/v1_store.db

Six finished trials of a space whose choice holds numpy functions (format 1 described them by
their repr, memory address included), attachments of each kind, a NaN in a result's extra key
(format 1 wrote it as the invalid JSON token NaN), and a seventh trial left RUNNING as a dead
driver leaves it.
"""

import math
import sqlite3
import sys

import numpy as np

from parzen import STATUS_OK, Trials, fmin, hp, rand
from parzen.storage.store import TrialStore
from parzen.trial import Trial

SPACE = {"x": hp.uniform("x", -5, 5), "agg": hp.choice("agg", [np.mean, np.median]), "c": hp.choice("c", ["a", "b"])}


def objective(p):
    loss = (p["x"] - 1) ** 2 + float(p["agg"]([1.0, 2.0, 6.0])) + (p["c"] == "a")
    return {
        "loss": loss,
        "status": STATUS_OK,
        "acc": math.nan,
        "attachments": {"raw": b"\x00\x01bytes", "log": "text", "curve": [0.5, 0.25]},
    }


def main(path: str) -> None:
    trials = Trials()
    fmin(
        objective,
        SPACE,
        algo=rand.suggest,
        max_evals=6,
        trials=trials,
        trials_save_file=path,
        show_progressbar=False,
        rstate=np.random.default_rng(1),
    )
    trials.detach_store()
    store = TrialStore(path)
    store.save(Trial(tid=6, params={"x": 0.5, "agg": 1, "c": 0}))
    store.close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    db.close()


if __name__ == "__main__":
    main(sys.argv[1])
