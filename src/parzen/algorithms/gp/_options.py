"""`gp.suggest`'s options: a frozen dataclass checked once, as `tpe.TPEOptions` is."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from parzen.algorithms.gp._transform import TRANSFORMS
from parzen.exceptions import InvalidArgument


@dataclass(frozen=True)
class GPOptions:
    """Options of ``gp.suggest``; set them with ``functools.partial(gp.suggest, **options)``.

    The defaults (optuna's length-scale prior, standardised outputs, a trust region) are the
    variant that led on BBOB d=5 over the 24 functions and 5 groups (benchmarks/results/portfolio_bbob_dev.json,
    portfolio.md): level in rank with HEBO's power transform at half its time. ``quadratic_every=5``
    was chosen among 0, 5 and 13 by leave-one-family-out cross-validation over the BBOB groups
    (d = 2, 5, 10) and the scikit-learn models (benchmarks/portfolio_gp_cv.py, results/portfolio_gp_cv.json).

    Attributes:
        n_startup_jobs: finished trials before the model is used (a Sobol sequence until then).
        startup: what counts towards it: ``"finished"`` or ``"all"`` trials.
        transform: output warping: ``"standardize"``, ``"power"``, ``"rank"`` or ``"log"``.
        in_flight: a running trial's stand-in: ``"believer"`` (the GP mean) or ``"liar"`` (the worst value).
        n_pool: points scored before the gradient starts.
        local_share: the share of them that are moves around the best trials.
        n_starts: the best distinct pool points L-BFGS-B starts from.
        n_incumbents: best trials the local moves start from.
        trust_region: maximise inside a trust region around the best trial (TuRBO).
        local_below: refit a local model once the region's side is at most this (0: never).
        mean: the local model's prior mean: ``"constant"`` or ``"quadratic"``.
        quadratic_every: every this many trials, the minimiser of a quadratic fitted to the best ones (0: never).
        noise_floor: the smallest noise variance (of standardised outputs).
        signal_sd: log-sd of the signal variance's prior around 1.
        prior: length-scale prior: ``"optuna"`` or ``"hvarfner"``.
        noise_mu: median log noise variance of the prior.
        fit_size: hyperparameters are fitted on at most this many trials.
        fit_iterations: L-BFGS-B iterations of the fit.
        max_history: the posterior conditions on at most this many trials.
        conditional: conditional spaces: ``"tpe"`` (handed to TPE).
    """

    # finished trials (or all trials, startup="all") before the model is used; until then a
    # scrambled Sobol sequence through the prior
    n_startup_jobs: int = 10
    startup: str = "finished"
    # output warping (see _transform.py): "power" (HEBO's Box-Cox / Yeo-Johnson), "rank", "log", "standardize"
    transform: str = "standardize"
    # what a trial in flight (running, or an earlier point of the same batch) is assumed to return until it
    # finishes: "believer" (the GP mean: kriging believer) or "liar" (the worst value seen: constant liar)
    in_flight: str = "believer"
    # acquisition maximisation: points scored before the gradient starts, of which a share `local_share` are
    # Gaussian moves of the best trials; the best `n_starts` distinct ones start L-BFGS-B
    n_pool: int = 1024
    local_share: float = 0.5
    n_starts: int = 8
    n_incumbents: int = 5  # best trials the local moves start from
    # maximise the acquisition inside a trust region around the best trial (TuRBO; see _trust.py)
    trust_region: bool = True
    # once the trust region's side is at most this (of the unit box), the model is refitted to the trials near
    # it alone, transformed among themselves (see _core.local_data); 0: always the global model
    local_below: float = 0.0
    # the local model's prior mean: "constant" (0 on standardised values) or "quadratic" (see _mean.py)
    mean: str = "constant"
    # every `quadratic_every`-th trial (counted over the run), propose the minimiser of a full quadratic fitted to
    # the best trials when the fit ranks them right (see _quadratic.py; nevergrad's MetaModel); 0: never.
    # Below (m+1)(m+2)/2 + m finished trials (m numeric parameters: 26 at 5, 76 at 10) it never triggers.
    quadratic_every: int = 5
    # the noise variance (of standardised outputs) never goes below this
    noise_floor: float = 1e-6
    # priors (see _model.py): log-sd of the signal variance around 1, median log noise variance
    signal_sd: float = 1.0
    prior: str = "optuna"
    noise_mu: float = -4.0
    # hyperparameters are fitted on at most this many trials (the best half of them and a random sample of
    # the rest); the posterior still conditions on every trial up to max_history
    fit_size: int = 200
    fit_iterations: int = 100
    # the posterior uses at most this many trials (the best ones and the newest ones); a suggestion then costs
    # O(max_history^2) whatever the length of the run
    max_history: int = 600
    # conditional spaces (a parameter active under some choices only) are handed to TPE: "tpe" is the
    # only behaviour so far, documented in the package docstring
    conditional: str = "tpe"

    @classmethod
    def of(cls, options: dict[str, Any]) -> GPOptions:
        """Options from keyword arguments, or `InvalidArgument` naming the bad one.

        Args:
            options: the keyword arguments given to ``gp.suggest``.
        """
        valid = {f.name for f in fields(cls)}
        unknown = set(options) - valid
        if unknown:
            raise InvalidArgument(
                f"gp.suggest got unknown options {sorted(unknown)}; valid options are {sorted(valid)}"
            )
        opts = cls(**options)
        for name, valid_text, ok in _RULES:
            if not ok(getattr(opts, name)):
                raise InvalidArgument(f"gp.suggest: {name} must be {valid_text}, got {getattr(opts, name)!r}")
        return opts


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _is_real(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and math.isfinite(x)


_RULES: tuple[tuple[str, str, Any], ...] = (
    ("n_startup_jobs", "an integer >= 2", lambda v: _is_int(v) and v >= 2),
    ("startup", "'finished' or 'all'", lambda v: v in ("finished", "all")),
    ("transform", f"one of {TRANSFORMS}", lambda v: v in TRANSFORMS),
    ("in_flight", "'believer' or 'liar'", lambda v: v in ("believer", "liar")),
    ("n_pool", "an integer >= 1", lambda v: _is_int(v) and v >= 1),
    ("local_share", "in [0, 1]", lambda v: _is_real(v) and 0 <= v <= 1),
    ("n_starts", "an integer >= 1", lambda v: _is_int(v) and v >= 1),
    ("n_incumbents", "an integer >= 1", lambda v: _is_int(v) and v >= 1),
    ("trust_region", "True or False", lambda v: isinstance(v, bool)),
    ("local_below", "in [0, 2]", lambda v: _is_real(v) and 0 <= v <= 2),
    ("mean", "'constant' or 'quadratic'", lambda v: v in ("constant", "quadratic")),
    ("quadratic_every", "an integer >= 0", lambda v: _is_int(v) and v >= 0),
    ("noise_floor", "> 0", lambda v: _is_real(v) and v > 0),
    ("prior", "'hvarfner' or 'optuna'", lambda v: v in ("hvarfner", "optuna")),
    ("signal_sd", "> 0", lambda v: _is_real(v) and v > 0),
    ("noise_mu", "a real number", _is_real),
    ("fit_size", "an integer >= 10", lambda v: _is_int(v) and v >= 10),
    ("fit_iterations", "an integer >= 1", lambda v: _is_int(v) and v >= 1),
    ("max_history", "an integer >= 10", lambda v: _is_int(v) and v >= 10),
    ("conditional", "'tpe'", lambda v: v == "tpe"),
)
