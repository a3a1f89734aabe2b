"""Bringing history in: hyperopt trial documents, hyperopt `Trials` and known points.

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

`from_hyperopt` converts a hyperopt `Trials` object or its pickle file;
`records_from_points` (behind ``Trials.from_points``) turns known ``(params, loss)``
pairs into finished trials without running anything.
"""

from __future__ import annotations

import math
import numbers
import os
import pickle
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from parzen.exceptions import InvalidArgument, InvalidParameterValue, InvalidTrial, MissingParameter
from parzen.executors import _task
from parzen.history import TrialState
from parzen.space import CompiledSpace, to_python
from parzen.trials import STATUS_FAIL, STATUS_NEW, STATUS_OK, Trial, Trials

__all__ = [
    "TRIAL_KEYS",
    "TRIAL_MISC_KEYS",
    "SONify",
    "from_hyperopt",
    "generate_trials_to_calculate",
    "miscs_to_idxs_vals",
    "miscs_update_idxs_vals",
    "records_from_docs",
    "records_from_points",
    "spec_from_misc",
    "trials_from_docs",
]

TRIAL_KEYS = ["tid", "spec", "result", "misc", "state", "owner", "book_time", "refresh_time", "exp_key"]
TRIAL_MISC_KEYS = ["tid", "cmd", "idxs", "vals"]

_STATES = {
    0: TrialState.NEW,
    1: TrialState.INTERRUPTED,  # was running when the history was saved: run again
    2: TrialState.DONE,
    3: TrialState.ERROR,
    4: TrialState.CANCELLED,
}


# ---- one document -> one record -------------------------------------------------------


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


def trials_from_docs(docs: Iterable[Mapping[str, Any]], validate: bool = True, **kwargs: Any) -> Trials:
    """A `Trials` holding hyperopt trial documents (results included), as hyperopt's function.

    TPE learns from the finished ones; ``fmin`` evaluates NEW ones first. `kwargs`
    go to ``Trials(...)`` (``exp_key``).
    """
    trials = Trials(**kwargs)
    trials.load_records(records_from_docs(docs, validate))
    return trials


def generate_trials_to_calculate(points: Sequence[Mapping[str, Any]]) -> Trials:
    """Trials whose `points` (flat ``{label: value}``, a choice as its index) ``fmin`` evaluates first.

    As in hyperopt: pass them as ``fmin(..., trials=generate_trials_to_calculate(points))``.
    The points are checked against the space when ``fmin`` starts (a value outside its
    hyperparameter's range is refused there, naming the label).
    """
    if isinstance(points, Mapping) or not isinstance(points, Iterable):
        raise InvalidArgument("generate_trials_to_calculate needs a list of {label: value} dicts")
    trials = Trials()
    records = []
    for tid, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise InvalidArgument(f"point {tid} must be a dict of label -> value, got {type(point).__name__}")
        params = {str(k): to_python(v) for k, v in point.items()}
        records.append(Trial(tid=tid, params=params, state=TrialState.NEW, result={"status": STATUS_NEW}))
    trials.load_records(records)
    return trials


# ---- a hyperopt Trials object (or its pickle) -------------------------------------------


def _hyperopt_docs(source: Any) -> tuple[list[Mapping[str, Any]], dict[str, Any]]:
    """The documents (errored ones included) and attachments of a hyperopt Trials or a list of docs."""
    if isinstance(source, Trials):
        raise InvalidArgument("from_hyperopt got a parzen Trials; it converts hyperopt's Trials (or a list of docs)")
    if hasattr(source, "_dynamic_trials"):  # hyperopt.base.Trials: .trials hides errored trials
        return list(source._dynamic_trials), dict(getattr(source, "attachments", {}) or {})
    if hasattr(source, "trials") and isinstance(source.trials, list):
        return list(source.trials), dict(getattr(source, "attachments", {}) or {})
    if isinstance(source, list):
        return source, {}
    raise InvalidArgument(
        f"from_hyperopt needs a hyperopt Trials object, the path of its pickle file or a list of trial "
        f"documents; got {type(source).__name__}"
    )


def _attach(records: list[Trial], attachments: Mapping[str, Any]) -> None:
    """hyperopt's ``ATTACH::<tid>::<name>`` attachments onto their trials."""
    by_tid = {r.tid: r for r in records}
    for key, value in attachments.items():
        parts = str(key).split("::", 2)
        if len(parts) == 3 and parts[0] == "ATTACH" and parts[1].isdigit() and int(parts[1]) in by_tid:
            by_tid[int(parts[1])].attachments[parts[2]] = value


def _check_fits(records: list[Trial], space: CompiledSpace, where: str) -> None:
    for record in records:
        try:
            space.check_point(record.params)
        except (InvalidParameterValue, MissingParameter) as exc:
            raise InvalidTrial(f"trial {record.tid} of {where} does not fit the search space: {exc}", record) from None


def from_hyperopt(trials_or_path: Any, space: Any = None) -> Trials:
    """parzen trials holding a hyperopt history: tids, states, losses and results kept.

    `trials_or_path` is a ``hyperopt.Trials`` object, a list of its trial documents,
    or the path of a pickle of one (hyperopt's ``trials_save_file``, or
    ``pickle.dump(trials, f)``). **Loading a pickle runs code from the file**: pass a
    path only for a file you made or trust. Unpickling a hyperopt ``Trials`` needs
    hyperopt installed.

    Errored trials (which ``hyperopt.Trials.trials`` hides) are kept as errored, trials
    that returned ``STATUS_FAIL`` as failed, attachments are carried over. With `space`
    (the same search space written for parzen), every trial is checked against it
    (labels, ranges, choice indices) and the result can go straight to
    ``fmin(..., trials=...)``: TPE continues from the whole history.
    """
    source = trials_or_path
    where = "the hyperopt history"
    if isinstance(source, (str, os.PathLike)):
        where = os.fspath(source)
        with open(source, "rb") as f:
            source = pickle.load(f)  # runs code from the file: documented, explicit call only
    docs, attachments = _hyperopt_docs(source)
    records = records_from_docs(docs)
    _attach(records, attachments)
    trials = Trials()
    if space is not None:
        compiled = trials.attach_space(space)
        _check_fits([r for r in records if r.params or r.state != TrialState.NEW], compiled, where)
    trials.load_records(records)
    return trials


# ---- known (params, loss) pairs --------------------------------------------------------


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
            result = _task.normalize_result(value)
        except (InvalidParameterValue, MissingParameter, _task.InvalidResult) as exc:
            raise InvalidArgument(f"point {tid} ({dict(params)!r}): {exc}") from None
        loss = result.get("loss")
        if result["status"] not in (STATUS_OK, STATUS_FAIL) or (loss is not None and not math.isfinite(loss)):
            raise InvalidArgument(f"point {tid}: a known result has status 'ok' or 'fail', got {value!r}")
        records.append(
            Trial(tid, checked, TrialState.DONE, result, book_time=now, refresh_time=now, start_time=now, end_time=now)
        )
    return records


# ---- hyperopt's helpers over misc documents --------------------------------------------


def miscs_to_idxs_vals(
    miscs: Sequence[Mapping[str, Any]], keys: Iterable[str] | None = None
) -> tuple[dict[str, list], dict[str, list]]:
    """``({label: [tid, ...]}, {label: [value, ...]})`` over trial ``misc`` documents (hyperopt's helper)."""
    if keys is None:
        if not miscs:
            raise InvalidArgument("miscs_to_idxs_vals cannot infer the labels of an empty list; pass keys=")
        keys = list(miscs[0]["idxs"])
    idxs: dict[str, list] = {k: [] for k in keys}
    vals: dict[str, list] = {k: [] for k in keys}
    for misc in miscs:
        for label in idxs:
            idxs[label].extend(misc["idxs"].get(label, []))
            vals[label].extend(misc["vals"].get(label, []))
    return idxs, vals


def miscs_update_idxs_vals(
    miscs: list[dict[str, Any]],
    idxs: Mapping[str, Sequence[Any]],
    vals: Mapping[str, Sequence[Any]],
    assert_all_vals_used: bool = True,
    idxs_map: Mapping[Any, Any] | None = None,
) -> list[dict[str, Any]]:
    """Write ``idxs``/``vals`` columns back into ``misc`` documents (hyperopt's helper)."""
    idxs_map = idxs_map or {}
    by_tid = {m["tid"]: m for m in miscs}
    for misc in miscs:
        misc["idxs"] = {k: [] for k in idxs}
        misc["vals"] = {k: [] for k in idxs}
    for label in idxs:
        for tid, value in zip(idxs[label], vals[label], strict=True):
            tid = idxs_map.get(tid, tid)
            if assert_all_vals_used or tid in by_tid:
                by_tid[tid]["idxs"][label] = [tid]
                by_tid[tid]["vals"][label] = [value]
    return miscs


def spec_from_misc(misc: Mapping[str, Any]) -> dict[str, Any]:
    """The flat point of one ``misc`` document (hyperopt's helper)."""
    return _params(misc, misc.get("tid", -1))


def SONify(arg: Any) -> Any:  # noqa: N802 - hyperopt's name
    """`arg` with numpy scalars and arrays made plain Python (what MongoDB / JSON can hold)."""
    if isinstance(arg, np.ndarray):
        return SONify(arg.item()) if arg.ndim == 0 else [SONify(a) for a in arg]
    if isinstance(arg, np.bool_):
        return bool(arg)
    if isinstance(arg, (np.integer, np.floating)):
        return to_python(arg)
    if isinstance(arg, dict):
        return {SONify(k): SONify(v) for k, v in arg.items()}
    if isinstance(arg, (list, tuple)):
        return type(arg)(SONify(a) for a in arg)
    if arg is None or isinstance(arg, (str, bytes, bool, int, float, datetime)):
        return arg
    raise TypeError(f"SONify cannot convert {type(arg).__name__} {arg!r} to plain data")
