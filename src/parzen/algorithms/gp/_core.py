"""One model fit per call, then `n` points: startup, training data, fantasies for trials in flight."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from parzen.algorithms.gp._acquisition import Acquisition, maximise
from parzen.algorithms.gp._mean import QuadraticMean
from parzen.algorithms.gp._model import Hyper, Posterior, Prior, fit
from parzen.algorithms.gp._options import GPOptions
from parzen.algorithms.gp._quadratic import quadratic_minimiser
from parzen.algorithms.gp._space import Encoding
from parzen.algorithms.gp._transform import transform
from parzen.algorithms.gp._trust import trust_box, trust_length
from parzen.space import CompiledSpace
from parzen.trial import History, TrialState

_FINISHED = (TrialState.DONE, TrialState.ERROR, TrialState.PRUNED)
_FAILED = (TrialState.DONE, TrialState.ERROR, TrialState.PRUNED)  # with no loss: failed, or pruned


class RunState:
    """What gp keeps for one run (one compiled space): the encoding, the last fit, the Sobol scramble."""

    def __init__(self, space: CompiledSpace):
        self.enc = Encoding.of(space)
        self.hyper: Hyper | None = None
        self.sobol_seed: int | None = None


@dataclass
class TrainingData:
    """The trials the model conditions on, as coordinates and transformed values."""

    x: np.ndarray  # (n, d) coordinates of trials with a value (ok, or failed and imputed)
    y: np.ndarray  # (n,) transformed values
    loss: np.ndarray  # (n,) the losses (NaN: failed), so a subset can be transformed on its own
    fit_rows: np.ndarray  # rows of x/y the hyperparameters are fitted on
    best: float  # the best transformed value
    incumbents: np.ndarray  # coordinates of the best trials, best first
    pending: np.ndarray  # coordinates of the trials in flight


def is_conditional(space: CompiledSpace) -> bool:
    """True when some parameter is active under some choices only."""
    return any(paths != frozenset({()}) for paths in space.conditions.values())


def startup_count(history: History, opts: GPOptions) -> int:
    """What `n_startup_jobs` is compared with: finished trials, or all trials."""
    if opts.startup == "all":
        return len(history)
    return int(np.isin(history.state, _FINISHED).sum())


def suggest_points(
    space: CompiledSpace, history: History, rng: np.random.Generator, n: int, opts: GPOptions, state: RunState
) -> list[dict[str, Any]]:
    """`n` points: Sobol points while the startup lasts, else from one model fit."""
    enc = state.enc
    n_ok = int(np.isfinite(history.loss).sum())
    started = startup_count(history, opts)
    if state.sobol_seed is None:
        state.sobol_seed = int(rng.integers(2**31 - 1))
    if started < opts.n_startup_jobs or n_ok < 2:
        if opts.startup == "all" and n > 1:  # a batch that crosses the startup's end: Sobol for its first part
            n_sobol = max(0, min(n, opts.n_startup_jobs - started))
            if n_sobol < n and n_ok >= 2:
                head = _sobol_points(enc, state, len(history), n_sobol)
                return head + _model_points(enc, history, rng, n - n_sobol, opts, state, head)
        return _sobol_points(enc, state, len(history), n)
    return _model_points(enc, history, rng, n, opts, state, [])


def _sobol_points(enc: Encoding, state: RunState, start: int, n: int) -> list[dict[str, Any]]:
    assert state.sobol_seed is not None
    x = enc.sobol(state.sobol_seed, start, n)
    return [enc.point(row) for row in x]


def training_data(enc: Encoding, history: History, opts: GPOptions, rng: np.random.Generator) -> TrainingData:
    """Coordinates and transformed values; failed trials get the worst value; a long history is thinned."""
    x_all = enc.encode_history(history)
    loss, state = history.loss, history.state
    ok = np.flatnonzero(np.isfinite(loss))
    failed = np.flatnonzero(~np.isfinite(loss) & np.isin(state, _FAILED))
    pending = x_all[state == TrialState.RUNNING]
    # the posterior keeps the best and the newest trials when the history is longer than max_history
    if len(ok) > opts.max_history:
        ranked = ok[np.argsort(loss[ok], kind="stable")]
        keep = np.union1d(ranked[: opts.max_history // 2], ok[-(opts.max_history - opts.max_history // 2) :])
        ok = keep
        failed = failed[-max(0, opts.max_history // 10) :]
    y_ok = transform(loss[ok], opts.transform)
    worst = float(y_ok.max()) if len(y_ok) else 0.0
    x = np.vstack([x_all[ok], x_all[failed]])
    y = np.concatenate([y_ok, np.full(len(failed), worst)])
    order = np.argsort(y_ok, kind="stable")
    fit_rows = np.arange(len(y))
    if len(y) > opts.fit_size:
        best_rows = order[: opts.fit_size // 2]
        rest = np.setdiff1d(fit_rows, best_rows)
        fit_rows = np.sort(np.concatenate([best_rows, rng.choice(rest, opts.fit_size - len(best_rows), replace=False)]))
    incumbents = x_all[ok][order[: opts.n_incumbents]]
    raw = np.concatenate([loss[ok], np.full(len(failed), np.nan)])
    return TrainingData(x, y, raw, fit_rows, float(y_ok.min()), incumbents, pending)


def local_data(
    data: TrainingData,
    box: tuple[np.ndarray, np.ndarray],
    lengthscales: np.ndarray,
    opts: GPOptions,
    numeric: np.ndarray,
) -> TrainingData | None:
    """The trials near the trust region (its box doubled), transformed among themselves; None if too few.

    A global model standardises over every loss, so near a good optimum the differences
    that matter are a millionth of the scale, below the noise floor; a model of the
    neighbourhood alone resolves them (TuRBO fits its GP to the trust region's data too).
    """
    low, high = box
    centre, half = (low + high) / 2, (high - low) / 2
    scaled = np.abs(data.x[:, numeric] - centre[numeric]) / np.maximum(half[numeric], 1e-12)
    distance = scaled.max(axis=1) if len(numeric) else np.zeros(len(data.x))
    minimum = max(10, 2 * len(numeric) + 2)
    rows = np.flatnonzero(distance <= 2.0)
    ok_rows = rows[np.isfinite(data.loss[rows])]
    if len(ok_rows) < minimum:
        ranked = np.argsort(np.where(np.isfinite(data.loss), distance, np.inf), kind="stable")[:minimum]
        rows = np.union1d(rows, ranked)
        ok_rows = rows[np.isfinite(data.loss[rows])]
    if len(ok_rows) < 3 or len(rows) >= len(data.x):
        return None
    y_ok = transform(data.loss[ok_rows], opts.transform)
    y = np.full(len(rows), float(y_ok.max()))
    y[np.isfinite(data.loss[rows])] = y_ok
    return TrainingData(
        data.x[rows], y, data.loss[rows], np.arange(len(rows)), float(y_ok.min()), data.incumbents, data.pending
    )


def _model_points(
    enc: Encoding,
    history: History,
    rng: np.random.Generator,
    n: int,
    opts: GPOptions,
    state: RunState,
    already: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Fit once; each point maximises logEI, then stands in flight as a fantasy for the next ones."""
    data = training_data(enc, history, opts, rng)
    prior = Prior.for_dims(enc.n_dims, opts.noise_floor, opts.signal_sd, opts.noise_mu, opts.prior)
    z = enc.features(data.x)
    hyper = fit(z[data.fit_rows], data.y[data.fit_rows], enc.columns, prior, state.hyper, opts.fit_iterations)
    state.hyper = hyper
    box = box_of_space = enc.box(data.x)
    local = None
    if opts.trust_region:
        finished = np.isin(history.state, _FINISHED)
        length = trust_length(history.loss, finished, opts.n_startup_jobs, enc.n_dims)
        box = trust_box(data.incumbents[0], hyper.lengthscales, length, box)
        local = local_data(data, box, hyper.lengthscales, opts, enc.continuous) if length <= opts.local_below else None
        if local is not None:
            data, z = local, enc.features(local.x)
            mean, scale = _prior_mean(enc, z, data.y, box, opts)
            target = data.y if mean is None else (data.y - mean(z)) / scale
            hyper = fit(z, target, enc.columns, prior, hyper, opts.fit_iterations)
            posterior = Posterior(z, data.y, hyper, enc.columns, mean, scale)
    if local is None:
        posterior = Posterior(z, data.y, hyper, enc.columns)
    best = data.best
    worst = float(data.y.max())
    in_flight = [row for row in data.pending] + [_coords(enc, p) for p in already]
    for row in in_flight:
        best = _add_fantasy(posterior, enc, row, best, worst, opts)
    points = []
    quadratic = _quadratic_point(enc, history, n, opts, box_of_space)
    if quadratic is not None:
        points.append(enc.point(quadratic))
        if len(points) < n:
            best = _add_fantasy(posterior, enc, quadratic, best, worst, opts)
    while len(points) < n:
        acq = Acquisition(enc, posterior, best)
        x, _ = maximise(
            acq, rng, box, data.incumbents, opts.n_pool, opts.n_starts, opts.local_share, hyper.lengthscales
        )
        points.append(enc.point(x))
        if len(points) < n:
            best = _add_fantasy(posterior, enc, x, best, worst, opts)
    return points


def _quadratic_point(
    enc: Encoding, history: History, n: int, opts: GPOptions, box: tuple[np.ndarray, np.ndarray]
) -> np.ndarray | None:
    """A fitted quadratic's minimiser when this call's turn comes (every `quadratic_every` trials), else None.

    The turn is a function of the trial count alone, so the suggestion stays a pure
    function of the history; a point that repeats a trial is dropped (the GP suggests).
    """
    every = opts.quadratic_every
    first = len(history)
    if not every or not any((first + i) % every == 0 for i in range(n)):
        return None
    x_all = enc.encode_history(history)
    ok = np.isfinite(history.loss)
    x = quadratic_minimiser(x_all[ok], history.loss[ok], enc.continuous, box)
    if x is None:
        return None
    x = enc.snap(x[None, :])[0]
    if len(x_all) and np.min(np.max(np.abs(x_all - x), axis=1)) < 1e-9:
        return None
    return x


def _prior_mean(
    enc: Encoding, z: np.ndarray, y: np.ndarray, box: tuple[np.ndarray, np.ndarray], opts: GPOptions
) -> tuple[QuadraticMean | None, float]:
    """The local model's quadratic prior mean and the scale of what it leaves over (`mean="quadratic"`)."""
    numeric = enc.continuous
    if opts.mean != "quadratic" or not len(numeric):
        return None, 1.0
    cols = np.array([int(np.flatnonzero(enc.columns == j)[0]) for j in numeric])
    low, high = box
    mean = QuadraticMean(z, y, cols, (low[numeric] + high[numeric]) / 2, (high[numeric] - low[numeric]) / 2)
    residual = y - mean(z)
    scale = float(np.std(residual))
    return mean, scale if scale > 1e-9 * max(1.0, float(np.std(y))) else 1.0


def _coords(enc: Encoding, point: dict[str, Any]) -> np.ndarray:
    return np.array([d.encode(np.array([point[label]], dtype=float))[0] for label, d in zip(enc.labels, enc.dims)])


def _add_fantasy(
    posterior: Posterior, enc: Encoding, x: np.ndarray, best: float, worst: float, opts: GPOptions
) -> float:
    """Condition on a point in flight; returns the best value, which a believed fantasy may lower."""
    z = enc.features(x[None, :])
    if opts.in_flight == "believer":
        value = float(posterior.predict(z)[0][0])
        posterior.add(z, value)
        return min(best, value)
    posterior.add(z, worst)
    return best
