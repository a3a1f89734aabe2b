"""`parzen.Trials`: the core `Trials` with the views hyperopt users know.

hyperopt's `Trials` was a list of trial documents with parallel ``misc.idxs`` /
``misc.vals`` lists; scripts read ``trials.trials``, ``trials.results``,
``trials.losses()``, ``trials.vals``, ``trials.best_trial``, ``trials.argmin`` and wrote
documents with ``insert_trial_docs``. These views are built from parzen's records on
demand (and cached until the next change), so code written for hyperopt keeps working
while parzen keeps one record per trial.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from parzen.exceptions import InvalidArgument
from parzen.trial import trials as core
from parzen.trial.record import Trial
from parzen.trial.state import (
    STATUS_FAIL,
    STATUS_NEW,
    STATUS_OK,
    STATUS_RUNNING,
    STATUS_STRINGS,
    STATUS_SUSPENDED,
    TrialState,
)

__all__ = [
    "JOB_STATES",
    "JOB_STATE_CANCEL",
    "JOB_STATE_DONE",
    "JOB_STATE_ERROR",
    "JOB_STATE_NEW",
    "JOB_STATE_RUNNING",
    "STATUS_FAIL",
    "STATUS_NEW",
    "STATUS_OK",
    "STATUS_RUNNING",
    "STATUS_STRINGS",
    "STATUS_SUSPENDED",
    "Trial",
    "TrialState",
    "Trials",
    "hyperopt_doc",
]

JOB_STATE_NEW, JOB_STATE_RUNNING, JOB_STATE_DONE, JOB_STATE_ERROR, JOB_STATE_CANCEL = range(5)
"""hyperopt's trial states (0-4: new, running, done, error, cancelled), the ``state`` of `Trials.trials` documents."""
JOB_STATES = [JOB_STATE_NEW, JOB_STATE_RUNNING, JOB_STATE_DONE, JOB_STATE_ERROR, JOB_STATE_CANCEL]
"""Every ``JOB_STATE_*`` code, in order."""

# hyperopt has no pruned or interrupted jobs: a pruned trial is done (with status fail),
# an interrupted one was cancelled.
_HYPEROPT_STATE = {TrialState.PRUNED: TrialState.DONE, TrialState.INTERRUPTED: TrialState.CANCELLED}


def hyperopt_doc(trial: Trial, labels: tuple[str, ...]) -> dict[str, Any]:
    """The trial document hyperopt produced for `trial`, with ``misc.vals`` / ``misc.idxs`` over `labels`."""
    vals = {k: ([trial.params[k]] if k in trial.params else []) for k in labels}
    idxs = {k: ([trial.tid] if k in trial.params else []) for k in labels}
    misc: dict[str, Any] = {
        "tid": trial.tid,
        "cmd": ("domain_attachment", "FMinIter_Domain"),
        "workdir": None,
        "idxs": idxs,
        "vals": vals,
    }
    if trial.error is not None:
        misc["error"] = (trial.result.get("error_type", "Error"), trial.error)
    return {
        "state": int(_HYPEROPT_STATE.get(trial.state, trial.state)),
        "tid": trial.tid,
        "spec": None,
        "result": trial.result,
        "misc": misc,
        "exp_key": None,
        "owner": None,
        "version": 0,
        "book_time": core.as_datetime(trial.book_time),
        "refresh_time": core.as_datetime(trial.refresh_time),
    }


class Trials(core.Trials):
    """All trials of an experiment, with hyperopt's views: create one and pass it to `fmin`.

    hyperopt's ``trials.trials``, ``results``, ``losses()``, ``statuses()``, ``best_trial``,
    ``argmin``, ``vals``, ``idxs``, ``tids``, ``len()``, ``insert_trial_docs`` are kept;
    ``records`` (frozen `Trial` records), ``best_params``, ``to_dataframe()`` and
    ``from_points`` are parzen's.

    Args:
        exp_key: hyperopt's experiment key, kept for scripts that set it (unused).
        refresh: accepted for hyperopt compatibility (the views are always current).
    """

    def __init__(self, exp_key: str | None = None, refresh: bool = True):
        super().__init__(exp_key=exp_key, refresh=refresh)
        self.attachments: dict[str, Any] = {}  # hyperopt's experiment-level attachments
        self._docs: dict[int, dict[str, Any]] = {}
        self._docs_list: tuple[int, list[dict[str, Any]]] | None = None

    @classmethod
    def from_points(cls, points: Iterable[Any], space: Any) -> Trials:
        """Trials holding known results, recorded without running anything (warm start).

        ``fmin(..., trials=Trials.from_points(known, space))`` continues from them: TPE
        learns from them and ``max_evals`` counts them.

        Args:
            points: ``[(params, loss_or_result), ...]``: `params` flat ``{label: value}`` (a choice as
                its index, as ``fmin`` returns it), the second item a loss or a result dict
                (``{"loss": ..., "status": "ok"}``, or ``{"status": "fail"}``).
            space: the search space the points belong to.
        """
        from parzen._hyperopt.docs import records_from_points

        trials = cls()
        trials.load_records(records_from_points(points, trials.attach_space(space)))
        return trials

    def _changed(self, tid: int | None = None) -> None:
        super()._changed(tid)
        if tid is None:
            self._docs.clear()
        else:
            self._docs.pop(tid, None)

    # ---- hyperopt's trial documents in (see parzen._hyperopt.docs) ----------------------------

    def insert_trial_docs(self, docs: Iterable[Mapping[str, Any]]) -> list[int]:
        """Add hyperopt trial documents, validated (`InvalidTrial`) and visible at once (no refresh needed).

        Args:
            docs: hyperopt trial documents, as `new_trial_docs` makes them.

        Returns:
            Their tids.
        """
        from parzen._hyperopt.docs import records_from_docs

        return self.insert_records(records_from_docs(docs))

    def insert_trial_doc(self, doc: Mapping[str, Any]) -> int:
        """Add one hyperopt trial document (see `insert_trial_docs`).

        Args:
            doc: a hyperopt trial document.
        """
        return self.insert_trial_docs([doc])[0]

    def new_trial_ids(self, n: int) -> list[int]:
        """Reserve `n` fresh tids (hyperopt's API, for code that builds trial documents).

        Args:
            n: how many.
        """
        return self.reserve_tids(n)

    def new_trial_docs(self, tids: list, specs: list, results: list, miscs: list) -> list[dict[str, Any]]:
        """NEW trial documents as hyperopt built them, for `insert_trial_docs`.

        Args:
            tids: tids from `new_trial_ids`.
            specs: each trial's ``spec`` (hyperopt's; kept as given).
            results: each trial's result dict.
            miscs: each trial's ``misc`` dict (``idxs``/``vals``: the point).
        """
        if not len(tids) == len(specs) == len(results) == len(miscs):
            raise InvalidArgument("new_trial_docs needs tids, specs, results and miscs of the same length")
        return [
            {
                "state": int(TrialState.NEW),
                "tid": tid,
                "spec": spec,
                "result": result,
                "misc": misc,
                "exp_key": self.exp_key,
                "owner": None,
                "version": 0,
                "book_time": None,
                "refresh_time": None,
            }
            for tid, spec, result, misc in zip(tids, specs, results, miscs)
        ]

    # ---- hyperopt's views out ---------------------------------------------------------

    @property
    def trials(self) -> list[dict[str, Any]]:
        """hyperopt-style trial documents, one per trial in creation order (rebuilt only after a change)."""
        if self._docs_list is None or self._docs_list[0] != self._version:
            labels = self.labels()
            docs = self._docs
            for tid, t in self._records.items():
                if tid not in docs:
                    docs[tid] = hyperopt_doc(t, labels)
            self._docs_list = (self._version, [docs[tid] for tid in self._records])
        return self._docs_list[1]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.trials)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.trials[index]

    @property
    def tids(self) -> list[int]:
        """Every trial's id, in creation order."""
        return list(self._records)

    @property
    def results(self) -> list[Mapping[str, Any]]:
        """Every trial's result dict, in creation order."""
        return [t.result for t in self._records.values()]

    @property
    def miscs(self) -> list[dict[str, Any]]:
        """Every trial document's ``misc`` (tid, ``idxs``, ``vals``), in creation order."""
        return [doc["misc"] for doc in self.trials]

    @property
    def specs(self) -> list[None]:
        """hyperopt's per-trial specs: parzen has none (a list of None, one per trial)."""
        return [None] * len(self._records)

    def losses(self, bandit: Any = None) -> list[float | None]:
        """Every trial's ``result["loss"]`` (None where there is none), in creation order.

        Args:
            bandit: ignored (hyperopt's signature).
        """
        return [t.result.get("loss") for t in self._records.values()]

    def statuses(self, bandit: Any = None) -> list[str | None]:
        """Every trial's ``result["status"]``, in creation order.

        Args:
            bandit: ignored (hyperopt's signature).
        """
        return [t.result.get("status") for t in self._records.values()]

    @property
    def vals(self) -> dict[str, list]:
        """label -> the values of the trials where it was active, in creation order (hyperopt's ``vals``)."""
        out: dict[str, list] = {k: [] for k in self.labels()}
        for t in self._records.values():
            for k, v in t.params.items():
                out.setdefault(k, []).append(v)
        return out

    @property
    def idxs(self) -> dict[str, list[int]]:
        """label -> the tids of the trials where it was active (hyperopt's ``idxs``, aligned with `vals`)."""
        out: dict[str, list] = {k: [] for k in self.labels()}
        for t in self._records.values():
            for k in t.params:
                out.setdefault(k, []).append(t.tid)
        return out

    @property
    def idxs_vals(self) -> tuple[dict[str, list[int]], dict[str, list]]:
        """``(idxs, vals)`` together, as hyperopt's property."""
        return self.idxs, self.vals

    @property
    def best_trial(self) -> dict[str, Any]:
        """The document of the ok trial with the lowest loss (`AllTrialsFailed` if none)."""
        best = self.best_record()
        self.trials  # noqa: B018 - fills the document cache
        return self._docs[best.tid]

    def average_best_error(self, bandit: Any = None) -> float:
        """Loss of the best ok trial (hyperopt's helper, without its true_loss averaging).

        Args:
            bandit: ignored (hyperopt's signature).
        """
        loss = self.best_record().loss
        assert loss is not None  # the best record is an ok trial
        return loss

    def trial_attachments(self, trial: Mapping[str, Any] | Trial) -> MutableMapping[str, Any]:
        """Attachments returned by a trial's objective (``result['attachments']``), read from the store when asked for.

        Args:
            trial: a `Trial` record or a hyperopt trial document.
        """
        tid = trial.tid if isinstance(trial, Trial) else trial["tid"]
        return self.record(tid).attachments

    def count_by_state_unsynced(self, arg: int | list[int]) -> int:
        """How many trials are in the hyperopt state(s) `arg` (a ``JOB_STATE_*`` code or a list of them).

        ``count_by_state_synced`` is the same method: parzen's counts are always current.

        Args:
            arg: a ``JOB_STATE_*`` code or a list of them.
        """
        states = [arg] if isinstance(arg, int) else list(arg)
        return self.count(*[TrialState(s) for s in states])

    count_by_state_synced = count_by_state_unsynced

    def refresh(self) -> None:
        """Kept for hyperopt compatibility: parzen's views are always current."""

    def delete_all(self) -> None:
        """Forget every trial (refused when a store keeps them: delete the file instead)."""
        if self.store is not None:
            raise InvalidArgument("delete_all() is refused on a Trials backed by a store; delete the store file")
        Trials.__init__(self, exp_key=self.exp_key)

    def fmin(self, fn: Any, space: Any, **kwargs: Any) -> Any:
        """``trials.fmin(fn, space, ...)`` as in hyperopt: `parzen.fmin` with these trials.

        The one import that climbs a layer (``_hyperopt`` -> ``driver``), as hyperopt's API has it.

        Args:
            fn: the objective.
            space: the search space.
            **kwargs: `fmin`'s other arguments (``algo``, ``max_evals``, ...).
        """
        from parzen.driver.fmin import fmin

        return fmin(fn, space, trials=self, allow_trials_fmin=False, **kwargs)
