"""hyperopt's trial documents and parzen's records, both ways.

hyperopt kept a trial as a document: ``tid``, ``state`` (``JOB_STATE_*``), ``result``
and ``misc.vals`` (``{label: [value]}``, ``[]`` for an inactive label, a choice as its
index). A parzen `Trial` holds the same facts flat (``params``: the active labels, a
choice as its index), so a document converts without loss and TPE learns from it
like from any other trial:

* ``state`` NEW stays NEW: ``fmin`` evaluates such trials first (what
  ``generate_trials_to_calculate`` is for); DONE, ERROR and CANCEL keep their meaning;
  RUNNING becomes INTERRUPTED (nothing runs it any more; its budget is run again, as
  on resuming a store);
* ``result`` is kept whole (status, loss and the objective's own keys); an errored
  trial gets status ``fail`` and the error hyperopt recorded in ``misc.error``;
* ``book_time`` / ``refresh_time`` (datetimes) become timestamps.

`records_from_points` (behind ``Trials.from_points``) turns known ``(params, loss)``
pairs into finished trials without running anything.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from parzen._remote.outcome import InvalidResult, normalize_result
from parzen.exceptions import InvalidArgument, InvalidParameterValue, InvalidTrial, MissingParameter
from parzen.space import CompiledSpace, to_python
from parzen.trial import STATUS_FAIL, STATUS_NEW, STATUS_OK, Trial, TrialState

TRIAL_KEYS = ["tid", "spec", "result", "misc", "state", "owner", "book_time", "refresh_time", "exp_key"]
"""The keys of a hyperopt trial document (`Trials.trials` items)."""


TRIAL_MISC_KEYS = ["tid", "cmd", "idxs", "vals"]
"""The keys of a trial document's ``misc`` dict."""


_STATES = {
    0: TrialState.NEW,
    1: TrialState.INTERRUPTED,  # was running when the history was saved: run again
    2: TrialState.DONE,
    3: TrialState.ERROR,
    4: TrialState.CANCELLED,
}


def check_doc(doc: Any, position: int) -> None:
    """Raise `InvalidTrial` naming the document and the key at fault (hyperopt's checks)."""
    if not isinstance(doc, Mapping):
        raise InvalidTrial(f"trial document {position} must be a dict, got {type(doc).__name__}", doc)
    missing = [k for k in TRIAL_KEYS if k not in doc]
    misc = doc.get("misc")
    if not isinstance(misc, Mapping):
        raise InvalidTrial(f"trial document {position} (tid {doc.get('tid')!r}) has no 'misc' dict", doc)
    missing += [f"misc.{k}" for k in TRIAL_MISC_KEYS if k not in misc]
    if missing:
        raise InvalidTrial(
            f"trial document {position} (tid {doc.get('tid')!r}) lacks {missing}; a hyperopt trial document "
            f"has {TRIAL_KEYS} and misc {TRIAL_MISC_KEYS}",
            doc,
        )
    if misc["tid"] != doc["tid"]:
        raise InvalidTrial(f"trial document {position}: tid {doc['tid']!r} differs from misc.tid {misc['tid']!r}", doc)


def _tid(doc: Mapping[str, Any], position: int) -> int:
    tid = doc.get("tid")
    if not isinstance(tid, numbers.Integral) or isinstance(tid, bool) or tid < 0:
        raise InvalidTrial(f"trial document {position} has tid {tid!r}; parzen trial ids are integers >= 0", doc)
    return int(tid)


def _state(doc: Mapping[str, Any], tid: int) -> TrialState:
    state = _STATES.get(doc.get("state"))  # type: ignore[arg-type]
    if state is None:
        raise InvalidTrial(
            f"trial {tid} has state {doc.get('state')!r}; valid states are 0-4 (JOB_STATE_NEW ... JOB_STATE_CANCEL)",
            doc,
        )
    return state


def _params(misc: Mapping[str, Any], tid: int) -> dict[str, Any]:
    """``misc.vals`` ({label: [value] or []}) -> the flat params of the active labels."""
    params: dict[str, Any] = {}
    for label, values in dict(misc.get("vals") or {}).items():
        values = list(np.ravel(values)) if isinstance(values, np.ndarray) else list(values)
        if len(values) > 1:
            raise InvalidTrial(f"trial {tid}: misc.vals[{label!r}] holds {len(values)} values; a trial holds one", misc)
        if values:
            params[str(label)] = to_python(values[0])
    return params


def _timestamp(value: Any) -> float | None:
    """hyperopt's (naive UTC) datetimes, or numbers, as POSIX timestamps."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return None


def _error_text(misc: Mapping[str, Any]) -> str | None:
    error = misc.get("error")
    if error is None:
        return None
    if isinstance(error, (tuple, list)) and len(error) == 2:
        return f"{error[0]}: {error[1]}"
    return str(error)


def _result(doc: Mapping[str, Any], state: TrialState, error: str | None) -> dict[str, Any]:
    result = dict(doc.get("result") or {})
    if state == TrialState.NEW:
        return {"status": STATUS_NEW}
    if state in (TrialState.ERROR, TrialState.CANCELLED, TrialState.INTERRUPTED):
        reason = error or result.get("error") or f"{state.name.lower()} in the hyperopt history"
        return result | {"status": STATUS_FAIL, "error": reason}
    if result.get("status") == STATUS_OK and "loss" in result:
        result["loss"] = to_python(result["loss"])
    return result


def record_from_doc(doc: Mapping[str, Any], position: int = 0, validate: bool = True) -> Trial:
    """The parzen `Trial` a hyperopt trial document describes."""
    if validate:
        check_doc(doc, position)
    tid = _tid(doc, position)
    state = _state(doc, tid)
    misc = doc.get("misc") or {}
    error = _error_text(misc)
    if state == TrialState.INTERRUPTED:
        error = error or "was running in the hyperopt history; it runs again"
    book = _timestamp(doc.get("book_time"))
    return Trial(
        tid=tid,
        params=_params(misc, tid),
        state=state,
        result=_result(doc, state, error),
        book_time=time.time() if book is None else book,
        refresh_time=_timestamp(doc.get("refresh_time")),
        error=error,
    )


def records_from_docs(docs: Iterable[Mapping[str, Any]], validate: bool = True) -> list[Trial]:
    """Records for hyperopt trial documents, checked for duplicate tids."""
    if isinstance(docs, Mapping) or not isinstance(docs, Iterable):
        raise InvalidTrial(f"expected a list of hyperopt trial documents, got {type(docs).__name__}", docs)
    records = [record_from_doc(doc, i, validate) for i, doc in enumerate(docs)]
    seen: set[int] = set()
    for record in records:
        if record.tid in seen:
            raise InvalidTrial(f"tid {record.tid} appears twice; a tid is unique within an experiment", record.tid)
        seen.add(record.tid)
    return records


def records_from_points(points: Iterable[Any], space: CompiledSpace) -> list[Trial]:
    """Finished trials for known ``(params, loss_or_result)`` pairs (see ``Trials.from_points``)."""
    if isinstance(points, Mapping) or not isinstance(points, Iterable):
        raise InvalidArgument("from_points needs a list of (params, loss_or_result) pairs")
    now = time.time()
    records = []
    for tid, pair in enumerate(points):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not isinstance(pair[0], Mapping):
            raise InvalidArgument(f"point {tid} must be a (params dict, loss or result dict) pair, got {pair!r}")
        params, value = pair
        try:
            checked = space.check_point(params)
            result = normalize_result(value)
        except (InvalidParameterValue, MissingParameter, InvalidResult) as exc:
            raise InvalidArgument(f"point {tid} ({dict(params)!r}): {exc}") from None
        loss = result.get("loss")
        if result["status"] not in (STATUS_OK, STATUS_FAIL) or (loss is not None and not math.isfinite(loss)):
            raise InvalidArgument(f"point {tid}: a known result has status 'ok' or 'fail', got {value!r}")
        records.append(
            Trial(tid, checked, TrialState.DONE, result, book_time=now, refresh_time=now, start_time=now, end_time=now)
        )
    return records
