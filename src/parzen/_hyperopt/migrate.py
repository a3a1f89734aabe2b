"""Bringing history in: hyperopt's `Trials` (or its pickle), its trial documents, points to evaluate first.

`from_hyperopt` converts a hyperopt `Trials` object or its pickle file; `trials_from_docs`
and `generate_trials_to_calculate` are hyperopt's functions of the same names. The
document format itself is `parzen._hyperopt.docs`.
"""

from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from parzen._hyperopt.docs import TRIAL_KEYS, TRIAL_MISC_KEYS, _params, records_from_docs, records_from_points
from parzen._hyperopt.trials import Trials
from parzen.exceptions import InvalidArgument, InvalidParameterValue, InvalidTrial, MissingParameter
from parzen.space import CompiledSpace, to_python
from parzen.trial import STATUS_NEW, Trial, TrialState

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


def trials_from_docs(docs: Iterable[Mapping[str, Any]], validate: bool = True, **kwargs: Any) -> Trials:
    """A `Trials` holding hyperopt trial documents (results included), as hyperopt's function.

    TPE learns from the finished ones; ``fmin`` evaluates NEW ones first.

    Args:
        docs: hyperopt trial documents (``tid``, ``state``, ``result``, ``misc`` with ``idxs``/``vals``).
        validate: check each document's keys and types, naming the first bad one.
        **kwargs: passed to ``Trials(...)`` (``exp_key``).

    Raises:
        InvalidTrial: a document is malformed (with `validate`).
    """
    trials = Trials(**kwargs)
    trials.load_records(records_from_docs(docs, validate))
    return trials


def generate_trials_to_calculate(points: Sequence[Mapping[str, Any]]) -> Trials:
    """Trials whose `points` (flat ``{label: value}``, a choice as its index) ``fmin`` evaluates first.

    As in hyperopt: pass them as ``fmin(..., trials=generate_trials_to_calculate(points))``.
    The points are checked against the space when ``fmin`` starts (a value outside its
    hyperparameter's range is refused there, naming the label). They count towards
    `max_evals` (hyperopt ran them on top).

    Args:
        points: a list of flat points, ``[{label: value}, ...]``.

    Raises:
        InvalidArgument: `points` is not a list of dicts.
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

    Args:
        trials_or_path: a ``hyperopt.Trials``, a list of its trial documents, or the path of a pickle of one.
        space: the search space written for parzen; when given, every trial is checked against it.

    Returns:
        A `parzen.Trials` holding the history.

    Raises:
        InvalidArgument: `trials_or_path` is none of the accepted kinds.
        InvalidTrial: a trial does not fit `space` (the message names the trial and label).
    """
    source = trials_or_path
    where = "the hyperopt history"
    if isinstance(source, (str, os.PathLike)):
        where = os.fspath(source)
        warnings.warn(
            f"from_hyperopt unpickles {where}: loading a pickle runs code from the file. Use it only on a file "
            "you made or trust (for anything else, convert the history where hyperopt made it and pass the "
            "Trials object)",
            UserWarning,
            stacklevel=2,
        )
        with open(source, "rb") as f:
            source = pickle.load(f)  # runs code from the file: documented, said at run time, explicit call only
    docs, attachments = _hyperopt_docs(source)
    records = records_from_docs(docs)
    _attach(records, attachments)
    trials = Trials()
    if space is not None:
        compiled = trials.attach_space(space)
        _check_fits([r for r in records if r.params or r.state != TrialState.NEW], compiled, where)
    trials.load_records(records)
    return trials


def miscs_to_idxs_vals(
    miscs: Sequence[Mapping[str, Any]], keys: Iterable[str] | None = None
) -> tuple[dict[str, list], dict[str, list]]:
    """``({label: [tid, ...]}, {label: [value, ...]})`` over trial ``misc`` documents (hyperopt's helper).

    Args:
        miscs: the ``misc`` dicts of trial documents.
        keys: the labels to collect; None: those of the first document.
    """
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
    """Write ``idxs``/``vals`` columns back into ``misc`` documents (hyperopt's helper).

    Args:
        miscs: the ``misc`` dicts to update in place.
        idxs: ``{label: [tid, ...]}``.
        vals: ``{label: [value, ...]}``, parallel to `idxs`.
        assert_all_vals_used: fail on a tid that no document has (True) or skip it.
        idxs_map: maps the tids in `idxs` to the documents' tids.

    Returns:
        `miscs`, updated.
    """
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
    """The flat point of one ``misc`` document (hyperopt's helper).

    Args:
        misc: a trial document's ``misc`` dict.
    """
    return _params(misc, misc.get("tid", -1))


def SONify(arg: Any) -> Any:  # noqa: N802 - hyperopt's name
    """`arg` with numpy scalars and arrays made plain Python (what MongoDB / JSON can hold).

    Args:
        arg: a value, possibly nested in dicts, lists and tuples.
    """
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
