"""What crosses from an executor to the driver: nothing a result holds makes the trial fail to send."""

from __future__ import annotations

import pickle
import threading

from parzen._remote.outcome import SEND_DEPTH, dumps_outcome, outcome_of_return


def _deep(levels: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(levels):
        value = {"inner": value}
    return value


def test_a_plain_result_crosses_unchanged():
    outcome = outcome_of_return({"loss": 0.5, "status": "ok", "note": [1, {"a": 2}]})
    back = pickle.loads(dumps_outcome(outcome))
    assert back == outcome and "sent_as_repr" not in back


def test_an_object_pickle_refuses_crosses_as_its_repr_and_is_named():
    lock = threading.Lock()
    back = pickle.loads(dumps_outcome(outcome_of_return({"loss": 0.5, "status": "ok", "lock": lock, "n": 3})))
    assert not back["errored"] and back["result"]["loss"] == 0.5 and back["result"]["n"] == 3
    assert back["result"]["lock"] == repr(lock) and back["sent_as_repr"] == ["lock"]


def test_nesting_deeper_than_pickle_can_go_is_cut_not_a_failed_trial():
    back = pickle.loads(dumps_outcome(outcome_of_return({"loss": 1.0, "status": "ok", "inner": _deep(5000)})))
    assert not back["errored"] and back["sent_as_repr"] == ["inner"]
    value, depth = back["result"]["inner"], 0
    while isinstance(value, dict):
        value, depth = value["inner"], depth + 1
    assert depth == SEND_DEPTH and isinstance(value, str)  # its repr (or a note that repr recursed too deep)
