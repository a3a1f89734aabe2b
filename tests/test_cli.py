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
    assert main(["show", str(tmp_path / "none.db")]) == 1
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


# ---- conventions (issue 23): version, JSON, pipes, ports, exit codes ------------------------------


def cli(*args, **kwargs):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "parzen.cli", *args], capture_output=True, text=True, **kwargs)


def test_version_and_exit_codes_are_documented(tmp_path):
    import parzen

    done = cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"parzen {parzen.__version__}"
    usage = cli("show")  # a wrong command line: 2 and argparse's usage
    assert usage.returncode == 2 and "usage: parzen show" in usage.stderr
    failed = cli("show", str(tmp_path / "none.db"))  # the command could not do its work: 1, one line
    assert failed.returncode == 1 and failed.stderr.count("\n") == 1 and "no trial store at" in failed.stderr
    assert "exit codes: 0 done, 1 the command failed" in cli("--help").stdout


def test_show_json_is_the_summary_as_data(tmp_path, capsys):
    import json

    db = tmp_path / "t.db"
    make_store(db)
    assert main(["show", str(db), "--top", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["trials"] == 20 and sum(data["counts"].values()) == 20 and data["live"] is False
    assert [b["loss"] for b in data["best"]] == sorted(b["loss"] for b in data["best"]) and len(data["best"]) == 3
    assert all(0.1 <= b["params"]["x"] <= 0.8 for b in data["best"])
    assert data["failures"][0]["message"].startswith("ValueError: too big") or any(
        f["message"].startswith("ValueError: too big") for f in data["failures"]
    )
    mo = tmp_path / "mo.db"
    make_two_objective_store(mo)
    assert main(["show", str(mo), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["objectives"] == ["cost", "error"] and data["pareto_size"] >= len(data["pareto"]) > 0
    assert set(data["pareto"][0]["losses"]) == {"cost", "error"} and "best" not in data


def test_a_closed_pipe_ends_quietly(tmp_path):
    """More than a pipe's 64 KB, so the reader's exit really cuts the writer off."""
    import subprocess
    import sys

    db = tmp_path / "big.db"
    fmin(lambda p: p["x"], {"x": hp.uniform("x", 0, 1)}, algo=rand.suggest, max_evals=600,
         trials_save_file=str(db), show_progressbar=False)  # fmt: skip
    for args in ("export --format json", "show --top 600", "show --top 600 --json"):
        command = f"{sys.executable} -m parzen.cli {args.split()[0]} {db} {' '.join(args.split()[1:])} | head -c 1"
        head = subprocess.run(command, shell=True, capture_output=True, text=True)
        assert head.stdout and head.stderr == "", (args, head.stderr)


def test_a_busy_port_is_one_line_naming_the_port(tmp_path):
    import socket

    db = tmp_path / "t.db"
    make_store(db)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        done = cli("dashboard", str(db), "--port", str(port), timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr and "0 for a free one" in done.stderr
    bad = cli("dashboard", str(db), "--host", "203.0.113.7", "--port", "0", timeout=120)  # not this machine's
    assert bad.returncode == 1 and "cannot listen on 203.0.113.7:0" in bad.stderr and "Traceback" not in bad.stderr
