"""A user's result key or label that looks like the store's own marker (`_nonfinite`) round-trips
unchanged (issue 24, item 7): before, an ok trial's loss 2.0 reloaded as NaN and dropped out of
`parzen show`, and a string under that key vanished."""

import json
import math
import sqlite3

import pytest

from parzen import STATUS_OK, Trials, fmin, hp, load_trials, rand
from parzen.cli import main as cli
from parzen.view import from_store

RESULTS = [
    {"loss": 2.0, "status": STATUS_OK, "_nonfinite": {"/loss": "nan"}},  # what the probe returned
    {"loss": 3.0, "status": STATUS_OK, "_nonfinite": "a note of the user's"},
    {"loss": 4.0, "status": STATUS_OK, "_nonfinite": {"/loss": "inf"}, "acc": math.nan},  # and a real NaN
    {"loss": 5.0, "status": STATUS_OK, "~_nonfinite": 1, "~~_nonfinite": [math.inf], "_nonfinite": None},
]


def same(a, b):
    """Equal, with NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@pytest.fixture
def store(tmp_path):
    db = tmp_path / "t.db"
    calls = []

    def objective(p):
        calls.append(p)
        return dict(RESULTS[len(calls) - 1])

    space = {"_nonfinite": hp.uniform("_nonfinite", 0, 1), "~_nonfinite": hp.choice("~_nonfinite", ["a", "b"])}
    trials = Trials()
    fmin(objective, space, algo=rand.suggest, max_evals=len(RESULTS), trials=trials, trials_save_file=str(db),
         show_progressbar=False)  # fmt: skip
    return db, trials


def test_marker_like_result_keys_and_labels_reload_unchanged(store):
    db, trials = store
    loaded = load_trials(db)
    for original, again in zip(RESULTS, loaded.results):
        assert same(again, original), (again, original)
    assert [r.params for r in loaded.records] == [r.params for r in trials.records]
    assert loaded.losses() == [2.0, 3.0, 4.0, 5.0]
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM trials WHERE json_valid(result) AND json_valid(params)").fetchone()[0] == 4


def test_an_ok_trial_with_such_a_key_stays_in_show(store, capsys):
    db, _ = store
    view = from_store(db)
    assert [r.loss for r in view.rows] == [2.0, 3.0, 4.0, 5.0]
    assert cli(["show", str(db), "--top", "4"]) == 0
    out = capsys.readouterr().out
    assert "ok 4" in out.replace("done 4", "ok 4") and out.count("  tid") == 4
    assert "loss 2 " in out


def test_the_stored_marker_is_still_parzens_own(store):
    """The store's own notes keep their documented place; the user's key is stored beside them."""
    db, _ = store
    rows = sqlite3.connect(db).execute("SELECT result FROM trials ORDER BY tid").fetchall()
    third = json.loads(rows[2][0])
    assert third["_nonfinite"] == {"/acc": "nan"} and third["~_nonfinite"] == {"/loss": "inf"}
