"""hyperopt's ``base`` module: ``from hyperopt.base import Trials, STATUS_OK`` keeps working here.

Status and state constants, `Trials`, the trial-document helpers (`trials_from_docs`,
`miscs_to_idxs_vals`, ``TRIAL_KEYS``...) and `Domain`. hyperopt's ``Ctrl`` (the
controller handed to ``pass_expr_memo_ctrl`` objectives) is not provided: parzen
objectives receive the point only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from parzen._hyperopt.migrate import (
    TRIAL_KEYS,
    TRIAL_MISC_KEYS,
    SONify,
    miscs_to_idxs_vals,
    miscs_update_idxs_vals,
    spec_from_misc,
    trials_from_docs,
)
from parzen._hyperopt.trials import (
    JOB_STATE_CANCEL,
    JOB_STATE_DONE,
    JOB_STATE_ERROR,
    JOB_STATE_NEW,
    JOB_STATE_RUNNING,
    JOB_STATES,
    Trials,
)
from parzen._remote.outcome import InvalidResult, normalize_result
from parzen.exceptions import InvalidArgument, InvalidTrial
from parzen.space import compile_space
from parzen.trial import STATUS_FAIL, STATUS_NEW, STATUS_OK, STATUS_RUNNING, STATUS_STRINGS, STATUS_SUSPENDED

__all__ = [
    "JOB_STATES",
    "JOB_STATE_CANCEL",
    "JOB_STATE_DONE",
    "JOB_STATE_ERROR",
    "JOB_STATE_NEW",
    "JOB_STATE_RUNNING",
    "JOB_VALID_STATES",
    "STATUS_FAIL",
    "STATUS_NEW",
    "STATUS_OK",
    "STATUS_RUNNING",
    "STATUS_STRINGS",
    "STATUS_SUSPENDED",
    "TRIAL_KEYS",
    "TRIAL_MISC_KEYS",
    "Domain",
    "InvalidTrial",
    "SONify",
    "Trials",
    "miscs_to_idxs_vals",
    "miscs_update_idxs_vals",
    "spec_from_misc",
    "trials_from_docs",
]

JOB_VALID_STATES = {JOB_STATE_NEW, JOB_STATE_RUNNING, JOB_STATE_DONE}
"""The states hyperopt counted as not failed (new, running, done)."""


class Domain:
    """An objective and its search space, as hyperopt's ``Domain`` held them.

    Kept for code that builds one to carry the two around: ``fmin(domain.fn,
    domain.expr, ...)``, ``domain.evaluate(point)`` (the objective's checked result for a
    flat point), ``domain.params`` (label -> hyperparameter), ``loss``/``status``/
    ``true_loss`` of a result. hyperopt's pyll internals (``s_idxs_vals``, ``vh``,
    ``memo_from_config``) are not here, so an algorithm written against them cannot run
    on parzen (see docs/migrating-from-hyperopt.md).

    Args:
        fn: the objective.
        expr: its search space (compiled here: a bad space fails now, naming the label).
        workdir: kept as an attribute, unused.
        pass_expr_memo_ctrl: refused when true: parzen objectives receive the point only.
        name: kept as an attribute, unused.
        loss_target: kept as an attribute, unused.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        expr: Any,
        workdir: str | None = None,
        pass_expr_memo_ctrl: Any = None,
        name: str | None = None,
        loss_target: float | None = None,
    ):
        if pass_expr_memo_ctrl:
            raise InvalidArgument("Domain: pass_expr_memo_ctrl is not supported; parzen objectives receive the point")
        self.fn = fn
        self.expr = expr
        self.workdir = workdir
        self.name = name
        self.loss_target = loss_target
        self.space = compile_space(expr)
        self.params = dict(self.space.params)

    def evaluate(self, config: Mapping[str, Any], ctrl: Any = None, attach_attachments: bool = True) -> dict:
        """The objective's result for flat point `config` (a number becomes ``{"loss": x, "status": "ok"}``).

        Args:
            config: a flat point, ``{label: value}`` (a choice as its index).
            ctrl: ignored (hyperopt's controller).
            attach_attachments: ignored.

        Raises:
            InvalidResult: the objective returned something that is not a loss or a result dict.
        """
        try:
            return normalize_result(self.fn(self.space.eval(config)))
        except InvalidResult as exc:
            raise InvalidResult(str(exc)) from None

    def short_str(self) -> str:
        """A short description naming the objective, as hyperopt's."""
        return f"Domain{{{self.fn}}}"

    def loss(self, result: Mapping[str, Any], config: Any = None) -> Any:
        """The loss of `result` (None if it has none).

        Args:
            result: a trial's result dict.
            config: ignored (hyperopt's signature).
        """
        return result.get("loss")

    def loss_variance(self, result: Mapping[str, Any], config: Any = None) -> float:
        """The result's ``loss_variance`` (0 if it has none).

        Args:
            result: a trial's result dict.
            config: ignored (hyperopt's signature).
        """
        return result.get("loss_variance", 0.0)

    def true_loss(self, result: Mapping[str, Any], config: Any = None) -> Any:
        """The result's ``true_loss``, else its loss.

        Args:
            result: a trial's result dict.
            config: ignored (hyperopt's signature).
        """
        return result["true_loss"] if "true_loss" in result else self.loss(result, config)

    def status(self, result: Mapping[str, Any], config: Any = None) -> Any:
        """The result's status (``"ok"`` or ``"fail"``).

        Args:
            result: a trial's result dict.
            config: ignored (hyperopt's signature).
        """
        return result["status"]

    def new_result(self) -> dict[str, str]:
        """The result of a trial not yet evaluated: ``{"status": "new"}``."""
        return {"status": STATUS_NEW}
