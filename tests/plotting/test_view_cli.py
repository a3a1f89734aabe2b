"""The command line and the store reader speak values, never choice indices, and never write."""

import csv
import hashlib
import io
import json
import sqlite3
import subprocess
import sys
import threading

import numpy as np
import pytest

from parzen import fmin, hp, rand
from parzen.cli import main
from parzen.view import from_store, from_trials, option_value, params_from_description

from .conftest import SPACE, copy_store


def test_show_lists_choices_as_values_with_the_index_alongside(store, capsys):
    path, trials = store
    assert main(["show", str(path), "--top", "3"]) == 0
    out = capsys.readouterr().out
    best = [line for line in out.splitlines() if line.startswith("  tid")]
    assert len(best) == 3
    values = json.loads(best[0].split("loss", 1)[1].split(None, 1)[1].split("  choice index")[0])
    assert values["act"] in ("relu", "tanh", None)
    assert values["opt"].startswith("{kind: ")  # a nested space shows as a short readable name
    indices = json.loads(best[0].split("choice index", 1)[1])
    assert set(indices) == {"act", "opt"} and all(isinstance(i, int) for i in indices.values())
    assert "first failure" in out and "ValueError: depth 10 does not fit in memory" in out


def test_values_come_from_the_stored_description_without_the_space(store):
    path, trials = store
    from_disk, in_memory = from_store(path), from_trials(trials)
    assert [r.values for r in from_disk.rows] == [r.values for r in in_memory.rows]
    best = trials.best_trial["misc"]["vals"]
    assert from_disk.best.values["act"] == SPACE["act"].options[best["act"][0]]


def test_option_names_for_each_kind_of_stored_option():
    assert [option_value(o) for o in ("gini", 3, 0.5, None, True)] == ["gini", 3, 0.5, None, True]
    assert option_value({"const": "<MyModel>"}) == "<MyModel>"
    assert option_value({"object": "sklearn.ensemble.RandomForestClassifier"}) == "RandomForestClassifier"
    assert option_value({"call": "builtins.int", "args": [{"hp": {"label": "n", "kind": "quniform"}}]}) == "int(n)"
    assert option_value({"dict": {"kind": "adam", "lr": {"hp": {"label": "lr", "kind": "uniform"}}}}) == (
        "{kind: 'adam', lr: lr}"
    )
    long = option_value({"dict": {f"key{i}": i for i in range(20)}})
    assert len(long) == 40 and long.endswith("…")


def test_conditional_parameters_are_marked_and_absent_where_inactive(store):
    path, _ = store
    view = from_store(path)
    assert view.params["beta"].conditional and not view.params["lr"].conditional
    for row in view.rows:
        assert ("beta" in row.values) == (row.values["opt"] == view.params["opt"].options[0])


def test_export_to_stdout_pipes_csv_and_json(store):
    path, _ = store
    cli = [sys.executable, "-m", "parzen.cli", "export", str(path)]
    text = subprocess.run(cli, capture_output=True, text=True, check=True).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 60 and {"tid", "state", "loss", "params_act", "index_act", "params_lr"} <= set(rows[0])
    assert {r["params_act"] for r in rows} <= {"relu", "tanh", ""}
    head = subprocess.run(f"{' '.join(cli)} --format json | head -c 300", shell=True, capture_output=True, text=True)
    assert head.stdout.startswith("[") and head.returncode == 0
    records = json.loads(subprocess.run([*cli, "-", "--format", "json"], capture_output=True, check=True).stdout)
    assert len(records) == 60 and all(r["params_act"] in ("relu", "tanh", None) for r in records)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["show", "{db}", "--top", "-2"], "argument --top: -2 is negative (give 0 or more)"),
        (["show", "{db}", "--top", "many"], "argument --top: 'many' is not a whole number"),
        (["dashboard", "{db}", "--port", "70000"], "argument --port: 70000 is not a TCP port"),
    ],
)
def test_bad_counts_are_refused_naming_what_is_valid(store, capsys, argv, message):
    path, _ = store
    with pytest.raises(SystemExit) as stop:
        main([a.format(db=path) for a in argv])
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_export_to_a_file_and_errors_naming_the_path(store, tmp_path, capsys):
    path, _ = store
    assert main(["export", str(path), str(tmp_path / "t.json")]) == 0
    assert len(json.loads((tmp_path / "t.json").read_text())) == 60
    assert main(["export", str(path), str(tmp_path / "missing" / "t.csv")]) == 1
    assert "missing' does not exist" in capsys.readouterr().err
    assert main(["export", str(path), str(path)]) == 1
    assert "refusing to write the export over the trial store" in capsys.readouterr().err
    assert main(["report", str(path), "-o", str(path)]) == 1
    assert "refusing to write the report over the trial store" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "none.db")]) == 1
    assert "no trial store at" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("not a database")
    assert main(["show", str(tmp_path / "notes.txt")]) == 1
    assert "notes.txt" in capsys.readouterr().err


def test_reading_never_changes_the_store_and_a_path_may_hold_uri_characters(store, tmp_path):
    src, _ = store
    odd = copy_store(src, tmp_path / "run #1?x=%20.db")
    files = sorted(tmp_path.iterdir())
    digests = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    view = from_store(odd)
    assert len(view.rows) == 60
    assert [hashlib.sha256(f.read_bytes()).hexdigest() for f in files] == digests


def test_a_reader_never_blocks_a_writer(tmp_path):
    """While views are read in a loop, a writer with no busy timeout always gets its lock."""
    path = tmp_path / "t.db"
    fmin(
        lambda p: p["x"],
        {"x": hp.uniform("x", 0, 1)},
        algo=rand.suggest,
        max_evals=5,
        trials_save_file=str(path),
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    writer = sqlite3.connect(path, timeout=0, isolation_level=None)
    stop, reads = threading.Event(), []

    def read_forever():
        while not stop.is_set():
            reads.append(len(from_store(path).rows))

    reader = threading.Thread(target=read_forever)
    reader.start()
    try:
        for i in range(200):
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("INSERT OR REPLACE INTO meta VALUES ('probe', ?)", (str(i),))
            writer.execute("COMMIT")
    finally:
        stop.set()
        reader.join()
        writer.close()
    assert len(reads) > 5 and set(reads) == {5}


def test_params_from_a_description_with_nested_choices():
    description = {
        "hp": {"label": "m", "kind": "pchoice", "n_options": 2, "probs": [0.3, 0.7]},
        "options": [{"dict": {"x": {"hp": {"label": "x", "kind": "loguniform", "low": -3, "high": 0}}}}, "none"],
    }
    params = params_from_description(description)
    assert params["m"].options == ("{x: x}", "none") and params["m"].probs == (0.3, 0.7)
    assert params["x"].log and params["x"].conditional and not params["m"].conditional
