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


def make_two_objective_store(path):
    """x trades cost against error; a constraint refuses x > 0.9."""

    def fn(p):
        return {"loss": [p["x"], (1 - p["x"]) ** 2], "constraints": [p["x"] - 0.9], "status": "ok"}

    fmin(
        fn,
        {"x": hp.uniform("x", 0, 1)},
        algo=rand.suggest,
        max_evals=30,
        objectives=["cost", "error"],
        trials_save_file=str(path),
        rstate=np.random.default_rng(1),
        show_progressbar=False,
    )


def test_show_lists_the_pareto_set_of_several_objectives(tmp_path, capsys):
    db = tmp_path / "mo.db"
    make_two_objective_store(db)
    assert main(["show", str(db), "--top", "4"]) == 0
    out = capsys.readouterr().out
    assert "pareto set" in out and "over cost, error" in out and "best " not in out
    listed = [line for line in out.splitlines() if line.strip().startswith("tid")]
    assert len(listed) == 4 and all("cost" in line and "error" in line for line in listed)
    costs = [float(line.split("cost")[1].split()[0]) for line in listed]
    assert costs == sorted(costs) and max(costs) <= 0.9  # along the front, infeasible never listed


def test_export_has_a_column_per_objective_and_constraint(tmp_path):
    db = tmp_path / "mo.db"
    make_two_objective_store(db)
    assert main(["export", str(db), str(tmp_path / "mo.csv")]) == 0
    with open(tmp_path / "mo.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 30
    assert {"loss_cost", "loss_error", "pareto", "constraint_0", "feasible"} <= set(rows[0])
    for row in rows:
        x = float(row["params_x"])
        assert float(row["loss_cost"]) == x and row["feasible"] == str(x <= 0.9)
    front = [r for r in rows if r["pareto"] == "True"]
    assert front and all(r["feasible"] == "True" for r in front)
    dominated = [(float(r["loss_cost"]), float(r["loss_error"])) for r in rows if r["feasible"] == "True"]
    for r in front:  # no feasible row dominates a front row
        c, e = float(r["loss_cost"]), float(r["loss_error"])
        assert not any(c2 <= c and e2 <= e and (c2, e2) != (c, e) for c2, e2 in dominated)
