"""The `parzen` command on a real store."""

import csv

import numpy as np

from parzen import STATUS_FAIL, fmin, hp, rand
from parzen.cli import main


def make_store(path):
    def fn(p):
        if p["x"] > 0.8:
            raise ValueError("too big")
        return {"status": STATUS_FAIL} if p["x"] < 0.1 else p["x"]

    fmin(
        fn,
        {"x": hp.uniform("x", 0, 1)},
        algo=rand.suggest,
        max_evals=20,
        trials_save_file=str(path),
        catch_eval_exceptions=True,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )


def test_show(tmp_path, capsys):
    db = tmp_path / "t.db"
    make_store(db)
    assert main(["show", str(db), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "20 trials" in out and "best 3:" in out and "first failure" in out and "ValueError: too big" in out


def test_export(tmp_path, capsys):
    db = tmp_path / "t.db"
    make_store(db)
    assert main(["export", str(db), str(tmp_path / "t.csv")]) == 0
    with open(tmp_path / "t.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 20 and {"tid", "state", "loss", "params_x"} <= set(rows[0])


def test_missing_store_is_a_clean_error(tmp_path, capsys):
    assert main(["show", str(tmp_path / "none.db")]) == 2
    assert "no trial store at" in capsys.readouterr().err
