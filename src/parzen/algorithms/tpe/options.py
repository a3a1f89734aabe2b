"""TPE's options: what a user may tune, each checked once with a message naming what is valid."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, fields
from typing import Any

from parzen._validation import is_integer, is_real
from parzen.exceptions import InvalidArgument

_CHECKED: dict[tuple[tuple[str, type, Any], ...], TPEOptions] = {}  # options as given -> checked (few distinct sets)


@dataclass(frozen=True)
class TPEOptions:
    """TPE's options, checked once per distinct set; ``functools.partial(tpe.suggest, **options)`` sets them.

    Each field is documented at length in `parzen.algorithms.tpe.suggest`'s docstring. The
    defaults are the best configuration measured on the benchmark (docs/benchmarks.md),
    not habit.

    Attributes:
        n_startup_jobs: suggestions drawn from the prior before the model is used.
        startup: what `n_startup_jobs` counts: ``"finished"`` trials or ``"all"`` (hyperopt).
        n_EI_candidates: candidates drawn and scored per suggestion.
        gamma: the share of the ranked trials that form the below set.
        split: ``"linear"`` (``gamma * n`` below, optuna's) or ``"sqrt"`` (hyperopt's).
        max_below: at most this many trials are below.
        prior_weight: the prior counts as this many kernels in each mixture.
        linear_forgetting: the newest this many trials weigh fully.
        max_above: at most this many kernels in the above mixture.
        multivariate: parameters active together drawn jointly (``"auto"``: unless several objectives, no constraints).
        in_flight_independent: with trials in flight, a share of suggestions draw each parameter alone.
        magic_clip: hyperopt's floor on kernel widths.
        liar: weight of a running trial in the above mixture, as a bad outcome.
        branch_floor: the least share of its prior share of trials a branch of a choice keeps.
        below_shrink: multiplies the below kernels' widths.
        in_flight_shrink: what the below kernels widen towards with trials in flight.
        pruned_split: what `gamma` is a share of under a pruner: ``"finished"`` or ``"all"``.
        gap_fill: the chance, divided by the dimension, of a gap-filling suggestion.
        verbose: accepted for hyperopt compatibility.
    """

    n_startup_jobs: int = 10
    startup: str = "finished"  # what n_startup_jobs counts: "finished" trials, or "all" (running and batch points too)
    n_EI_candidates: int = 24
    gamma: float = 0.1
    split: str = "linear"  # "linear": gamma * n trials are "below"; "sqrt": gamma * sqrt(n) (hyperopt)
    max_below: int = 25
    prior_weight: float = 2.0
    linear_forgetting: int = 25
    max_above: int = 1000  # kernels of the "above" density; past it, a weighted sample stands for the old trials
    multivariate: bool | str = "auto"  # "auto": each alone with several objectives and no constraints, else jointly
    # with r trials in flight (or r more points in the batch), a share r / (r + n_below) of the suggestions
    # draw each parameter on its own (univariate TPE): they recombine the good trials' coordinates
    in_flight_independent: bool = True
    magic_clip: bool = True
    liar: float = 0.3  # weight of a running trial in "above": 1 is optuna's constant liar, 0 ignores it
    branch_floor: float = 0.75
    below_shrink: float = 0.3  # multiplies the below kernels' bandwidths (< 1: a more local l)
    # with r trials running (or r more points in the batch), the below kernels' multiplier moves from
    # below_shrink towards in_flight_shrink by r / (r + n_below): parallel picks cover the good region
    in_flight_shrink: float = 1.0
    # what gamma is a share of once a trial finished: "finished" trials (pruned ones, ranked by a partial
    # curve, join the above set), or "all" ranked trials, the pruned ones after the finished (optuna's
    # split: under ASHA nearly every finished trial is then "below", whatever its loss)
    pruned_split: str = "finished"
    # with probability gap_fill / d (d parameters) a suggestion is the prior draw, of n_EI_candidates,
    # farthest from every trial instead of the best l / g; 0: never
    gap_fill: float = 0.1
    verbose: bool = True  # accepted for hyperopt compatibility; parzen logs nothing per suggestion

    @classmethod
    def of(cls, options: dict[str, Any]) -> TPEOptions:
        """Options from keyword arguments, or `InvalidArgument` naming the bad one (cached: checked once).

        Args:
            options: option names and values, as given to `tpe.suggest`.

        Raises:
            InvalidArgument: an unknown option, or a value out of its domain (the message says what is valid).
        """
        key = tuple(sorted((name, type(value), value) for name, value in options.items()))
        try:
            return _CHECKED[key]
        except (KeyError, TypeError):  # a new set, or an unhashable value (checked, then refused below)
            pass
        opts = cls._checked(options)
        with contextlib.suppress(TypeError):
            _CHECKED[key] = opts
        return opts

    @classmethod
    def _checked(cls, options: dict[str, Any]) -> TPEOptions:
        valid = {f.name for f in fields(cls)}
        unknown = set(options) - valid
        if unknown:
            raise InvalidArgument(
                f"tpe.suggest got unknown options {sorted(unknown)}; valid options are {sorted(valid)}"
            )
        opts = cls(**options)
        opts._check()
        return opts

    def _check(self) -> None:
        for name, valid, ok in _RULES:
            if not ok(getattr(self, name)):
                raise InvalidArgument(f"tpe.suggest: {name} must be {valid}, got {getattr(self, name)!r}")


_is_int, _is_real = is_integer, is_real


_RULES: tuple[tuple[str, str, Any], ...] = (
    ("n_startup_jobs", "an integer >= 0", lambda v: _is_int(v) and v >= 0),
    ("startup", "'finished' or 'all'", lambda v: v in ("finished", "all")),
    ("n_EI_candidates", "an integer >= 1", lambda v: _is_int(v) and v >= 1),
    ("gamma", "in (0, 1]", lambda v: _is_real(v) and 0 < v <= 1),
    ("split", "'sqrt' or 'linear'", lambda v: v in ("sqrt", "linear")),
    ("max_below", "an integer >= 1", lambda v: _is_int(v) and v >= 1),
    ("prior_weight", "> 0", lambda v: _is_real(v) and v > 0),
    ("linear_forgetting", "an integer >= 0", lambda v: _is_int(v) and v >= 0),
    ("max_above", "an integer >= 2", lambda v: _is_int(v) and v >= 2),
    ("multivariate", "True, False or 'auto'", lambda v: isinstance(v, bool) or v == "auto"),
    ("in_flight_independent", "True or False", lambda v: isinstance(v, bool)),
    ("liar", "True, False or a weight in [0, 1]", lambda v: isinstance(v, (bool, int, float)) and 0 <= v <= 1),
    ("branch_floor", "in [0, 1]", lambda v: _is_real(v) and 0 <= v <= 1),
    ("below_shrink", "in (0, 1]", lambda v: _is_real(v) and 0 < v <= 1),
    ("in_flight_shrink", "in (0, 1]", lambda v: _is_real(v) and 0 < v <= 1),
    ("pruned_split", "'finished' or 'all'", lambda v: v in ("finished", "all")),
    ("gap_fill", "in [0, 1]", lambda v: _is_real(v) and 0 <= v <= 1),
)


DEFAULTS = {f.name: f.default for f in fields(TPEOptions)}  # hyperopt-style view of the defaults
"""Each `tpe.suggest` option's default, by name (reading it changes nothing; set options with ``partial``)."""

# hyperopt's module-level names of the defaults, for code that reads them (assigning them
# changes nothing: set options with functools.partial(tpe.suggest, gamma=...)).
_default_n_startup_jobs = DEFAULTS["n_startup_jobs"]
_default_n_EI_candidates = DEFAULTS["n_EI_candidates"]
_default_gamma = DEFAULTS["gamma"]
_default_prior_weight = DEFAULTS["prior_weight"]
_default_linear_forgetting = DEFAULTS["linear_forgetting"]
