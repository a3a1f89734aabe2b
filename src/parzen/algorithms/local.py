"""Local search from the centre of the space: COBYLA, replayed from the history (issue 26).

    from parzen.algorithms import local
    fmin(objective, space, algo=local.suggest, max_evals=100)

With many parameters and a budget of a few times the dimension, a global model (a GP, TPE)
spends most of its trials mapping the space, while a local method walks downhill from one
good guess. nevergrad's NGOpt, the strongest anchor of the portfolio benchmark at d = 10 and
20, does exactly that for sequential runs: COBYLA (Powell's trust-region method on linear
models, ``scipy.optimize``) from the middle of each range, with a first step of a sixth of
it. This module is that method, written as a parzen algorithm:

* **Coordinates.** gp's (`parzen.algorithms.gp._space`): each numeric parameter's ``u`` in
  ``[0, 1]`` (log parameters on their log scale; an unbounded one over +-3 prior sigmas),
  points outside reflected back in, integer and quantised values snapped to their grid before
  they are tried. Categorical parameters keep the start point's options: COBYLA moves the
  numeric ones only (`parzen.auto` sends it numeric spaces only).
* **Start.** The centre of the space (``u = 0.5``, each categorical's most probable option)
  is the first trial; with ``n_startup > 0``, that many Sobol points instead, and COBYLA starts
  from the best of them.
* **A pure function of the history.** COBYLA keeps its state in a running loop, so it is
  replayed on the trials so far: the k-th point it asks is answered with the k-th trial's loss
  (failed trials: the worst loss before them, so a later trial never changes what an earlier
  call saw), and a point tried before with that trial's loss, until it asks a point no trial
  holds: the suggestion. If a trial is not the point COBYLA asked (another algorithm made it,
  or scipy's version changed), the search restarts from the best trial so far; when COBYLA
  converges, it restarts too, from the best trial with its first step. The run keeps its replay
  (COBYLA paused on a helper thread, see `_Cobyla`) and checks it against the history at each
  call; a resume replays from scratch, to the same point.
* **Sequential.** COBYLA asks one point at a time. While a trial of its own is running, or for
  the other points of a batch, points are drawn around the best trial at the scale of the last
  steps; the replay then restarts from the best trial. `parzen.auto` uses it one trial at a time.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import warnings
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import _cobyla_py as _cobyla_module
from scipy.optimize import minimize

from parzen.algorithms.gp._space import Encoding
from parzen.exceptions import InvalidArgument
from parzen.space import CompiledSpace
from parzen.trial import History, TrialState

__all__ = ["LocalOptions", "suggest", "suggest_many"]

_MATCH = 1e-7  # a trial is the asked point when every coordinate agrees within this
_MAX_STALE = 20  # COBYLA runs in a row that ask nothing new before the replay gives up (points around the best)


@dataclass(frozen=True)
class LocalOptions:
    """Options of ``local.suggest``; set them with ``functools.partial(local.suggest, **options)``.

    Attributes:
        rho_begin: COBYLA's first step, in ``u`` (a share of each parameter's range); nevergrad's is 1/6.
        rho_end: the step at which COBYLA has converged and restarts from the best trial.
        n_startup: trials before COBYLA starts from the best of them (0: start at the centre).
        startup_per_dim: as many trials per numeric parameter, if that is more than `n_startup`.
        startup: who suggests those trials: ``"sobol"`` (a scrambled Sobol sequence) or ``"gp"``
            (`parzen.algorithms.gp`: local search then refines the GP's best trial).
    """

    rho_begin: float = 1 / 6
    rho_end: float = 1e-6
    n_startup: int = 0
    startup_per_dim: float = 0.0
    startup: str = "sobol"

    def startup_count(self, n_numeric: int) -> int:
        """The trials before COBYLA starts: `n_startup`, or `startup_per_dim` per numeric parameter.

        Args:
            n_numeric: the space's numeric parameters.
        """
        return max(self.n_startup, round(self.startup_per_dim * n_numeric))

    @staticmethod
    def of(options: dict[str, Any]) -> LocalOptions:
        """Checked options: a named error for an unknown one or a value out of range.

        Args:
            options: the keyword options given to ``local.suggest``.
        """
        known = set(LocalOptions.__dataclass_fields__)
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidArgument(f"local.suggest: unknown option(s) {unknown}; valid: {sorted(known)}")
        opts = LocalOptions(**options)
        if not 0 < opts.rho_begin <= 1:
            raise InvalidArgument(f"local.suggest: rho_begin={opts.rho_begin!r}; valid: 0 < rho_begin <= 1")
        if not 0 < opts.rho_end < opts.rho_begin:
            raise InvalidArgument(f"local.suggest: rho_end={opts.rho_end!r}; valid: 0 < rho_end < rho_begin")
        if isinstance(opts.n_startup, bool) or not isinstance(opts.n_startup, int) or opts.n_startup < 0:
            raise InvalidArgument(f"local.suggest: n_startup={opts.n_startup!r}; valid: an int >= 0")
        if not opts.startup_per_dim >= 0:
            raise InvalidArgument(f"local.suggest: startup_per_dim={opts.startup_per_dim!r}; valid: a number >= 0")
        if opts.startup not in ("sobol", "gp"):
            raise InvalidArgument(f"local.suggest: startup={opts.startup!r}; valid: 'sobol' or 'gp'")
        return opts


class _RunState:
    """What a run keeps (the compiled space's ``algorithm_state``): the encoding and the Sobol scramble."""

    def __init__(self, space: CompiledSpace, rng: np.random.Generator):
        self.enc = Encoding.of(space)
        self.sobol_seed = int(rng.integers(2**31 - 1))
        self.replays: dict[LocalOptions, _Replay] = {}


@dataclass
class _Trials:
    """The history as the replay reads it."""

    u: np.ndarray  # (n, d) coordinates
    value: np.ndarray  # (n,) what COBYLA is told (failed: the worst loss before; running: NaN)
    running: np.ndarray  # (n,) bool
    loss: np.ndarray  # (n,) the losses (NaN: failed or running)


def suggest(space: CompiledSpace, history: History, rng: np.random.Generator, **options: Any) -> dict[str, Any]:
    """The next point to evaluate: COBYLA's next point, replayed from the trials in `history`.

    Args:
        space: the compiled space (fmin passes it).
        history: every trial so far, running ones included (fmin passes it).
        rng: the run's random generator (fmin passes it).
        **options: the fields of `LocalOptions`.
    """
    return suggest_many(space, history, rng, 1, **options)[0]


def suggest_many(
    space: CompiledSpace, history: History, rng: np.random.Generator, n: int, **options: Any
) -> list[dict[str, Any]]:
    """`n` points: COBYLA's next one, then points around the best trial (COBYLA asks one at a time).

    Args:
        space: the compiled space (conditional spaces are handed to TPE).
        history: every trial so far, running ones included.
        rng: the run's random generator.
        n: how many points.
        **options: the fields of `LocalOptions`.
    """
    opts = LocalOptions.of(options)
    from parzen.algorithms.gp._core import is_conditional

    if is_conditional(space):
        from parzen.algorithms import tpe

        return tpe.suggest_many(space, history, rng, n)
    state = space.algorithm_state(_RunState, lambda: _RunState(space, rng))
    enc = state.enc
    if not len(enc.continuous):  # nothing for COBYLA to move
        from parzen.algorithms import tpe

        return tpe.suggest_many(space, history, rng, n)
    trials = _read(enc, history)
    n_startup = opts.startup_count(len(enc.continuous))
    if len(history) < n_startup:
        if opts.startup == "gp":
            from parzen.algorithms import gp

            return gp.suggest_many(space, history, rng, n)
        k = min(n, n_startup - len(history))
        head = [enc.point(row) for row in enc.sobol(state.sobol_seed, len(history), k)]
        return head + [enc.point(u) for u in _around_best(enc, trials, rng, n - k, opts)]
    asked = _replay(state, trials, opts, n_startup)
    points = [] if asked is None else [asked]
    points += list(_around_best(enc, trials, rng, n - len(points), opts))
    return [enc.point(u) for u in points]


def _read(enc: Encoding, history: History) -> _Trials:
    """Coordinates and told values; a failed trial is told the worst loss of the trials before it."""
    u = enc.encode_history(history)
    loss = np.where(np.isfinite(history.loss), history.loss, np.nan)
    running = history.state == TrialState.RUNNING
    value = loss.copy()
    worst = -np.inf
    for i in range(len(loss)):
        if running[i]:
            continue
        if np.isnan(loss[i]):
            value[i] = worst + 1.0 if np.isfinite(worst) else 1.0
        worst = max(worst, value[i])
    value[running] = np.nan
    return _Trials(u, value, running, loss)


def _centre(enc: Encoding) -> np.ndarray:
    """u = 0.5 for numeric parameters (the prior's centre), the most probable option for categoricals."""
    u = np.full(enc.n_dims, 0.5)
    for j, d in enumerate(enc.dims):
        if d.categorical:
            u[j] = float(np.argmax(d.probs))
        elif not d.bounded:
            u[j] = d.prior_mu
    return enc.snap(u[None, :])[0]


def _best_before(trials: _Trials, end: int) -> int | None:
    """The index of the best finished trial among the first `end` (None: none has a loss)."""
    loss = trials.loss[:end]
    if not np.isfinite(loss).any():
        return None
    return int(np.nanargmin(loss))


class _Cobyla:
    """One COBYLA run as a coroutine: `asked` is the point it waits on, `tell` answers it.

    scipy's COBYLA drives the objective from its own loop, so the loop runs on a helper
    thread that blocks on a queue at each evaluation; the caller's thread waits while it
    computes, so only one of them ever runs (a coroutine, not concurrency). When the run is
    dropped, the thread is told to stop and ends.
    """

    def __init__(self, x0: np.ndarray, rho_begin: float, rho_end: float):
        self._answers: queue.SimpleQueue[float | None] = queue.SimpleQueue()
        self._asks: queue.SimpleQueue[np.ndarray | None] = queue.SimpleQueue()
        thread = threading.Thread(
            target=_cobyla_loop, args=(x0, rho_begin, rho_end, self._asks, self._answers), daemon=True
        )
        thread.start()
        weakref.finalize(self, self._answers.put, None)
        self.asked: np.ndarray | None = self._asks.get()  # None: COBYLA has converged

    def tell(self, value: float) -> None:
        self._answers.put(value)
        self.asked = self._asks.get()


class _ReplayedCobyla:
    """The same coroutine for scipy < 1.16, whose COBYLA (Fortran) holds a module lock while it runs.

    A paused run would hold that lock and block every other run, so each step runs COBYLA
    anew, answering the values told so far and stopping it through its own evaluation limit
    one evaluation later (no exception through the Fortran callback). The Fortran code is fast
    enough for that: a step costs one run over the trials told so far.
    """

    def __init__(self, x0: np.ndarray, rho_begin: float, rho_end: float):
        self._x0, self._rho_begin, self._rho_end = x0, rho_begin, rho_end
        self._values: list[float] = []
        self.asked: np.ndarray | None = self._next()

    def tell(self, value: float) -> None:
        self._values.append(value)
        self.asked = self._next()

    def _next(self) -> np.ndarray | None:
        """The point COBYLA asks after the values told, or None when it has converged before."""
        asked: list[np.ndarray] = []
        known = len(self._values)

        def told(v: np.ndarray) -> float:
            asked.append(np.array(v, dtype=float))
            return self._values[len(asked) - 1] if len(asked) <= known else 0.0

        options = {"rhobeg": self._rho_begin, "tol": self._rho_end, "maxiter": known + 1}
        with warnings.catch_warnings():  # a limit below COBYLA's first simplex is raised to it: no harm here
            warnings.simplefilter("ignore", UserWarning)
            minimize(told, self._x0, method="COBYLA", options=options)
        return asked[known] if len(asked) > known else None


# scipy < 1.16 runs a Fortran COBYLA under a module lock: it cannot stay paused (see _ReplayedCobyla)
_COBYLA_LOCKED = hasattr(_cobyla_module, "_module_lock")


def _cobyla(x0: np.ndarray, rho_begin: float, rho_end: float) -> _Cobyla | _ReplayedCobyla:
    """A COBYLA run as a coroutine: kept paused on a helper thread, or replayed where scipy cannot pause it."""
    return (_ReplayedCobyla if _COBYLA_LOCKED else _Cobyla)(x0, rho_begin, rho_end)


def _cobyla_loop(
    x0: np.ndarray,
    rho_begin: float,
    rho_end: float,
    asks: queue.SimpleQueue[np.ndarray | None],
    answers: queue.SimpleQueue[float | None],
) -> None:
    """The helper thread: COBYLA, each evaluation asked through `asks` and answered through `answers`."""

    def told(v: np.ndarray) -> float:
        asks.put(np.array(v, dtype=float))
        value = answers.get()
        if value is None:
            raise _Stopped
        return value

    with contextlib.suppress(_Stopped):
        minimize(told, x0, method="COBYLA", options={"rhobeg": rho_begin, "tol": rho_end, "maxiter": 10**9})
        asks.put(None)


class _Stopped(Exception):
    """The run was dropped: ends COBYLA's loop on its thread."""


class _Replay:
    """COBYLA replayed on the trials: the current run, where it started, and the trials it has read."""

    def __init__(self, enc: Encoding, trials: _Trials, start: int, opts: LocalOptions):
        self.enc, self.opts = enc, opts
        self.index = start
        self.stale = 0  # COBYLA runs in a row that converged without asking a new point
        self.seen_u, self.seen_value = trials.u[:0].copy(), trials.value[:0].copy()
        self._begin(trials)

    def _begin(self, trials: _Trials) -> None:
        """A new COBYLA run from the best trial read so far (the centre when none has a loss).

        After a run that asked nothing new (every point it tried was a trial already), the
        start is moved by a step of ``rho_begin`` in a direction drawn from the trial count,
        so the next run explores instead of repeating itself (and a replay repeats it too).
        """
        best = _best_before(trials, self.index)
        self.x0 = _centre(self.enc) if best is None else trials.u[best].copy()
        numeric = self.enc.continuous
        t0 = self.x0[numeric].copy()
        if self.stale:
            step = np.random.default_rng([self.index, self.stale]).standard_normal(len(numeric))
            step *= np.sqrt(len(numeric)) / max(float(np.linalg.norm(step)), 1e-12)
            t0 = _reflect(t0 + self.opts.rho_begin * step)
        self.fresh = 0
        self.run = _cobyla(t0, self.opts.rho_begin, self.opts.rho_end)

    def point(self, t: np.ndarray) -> np.ndarray:
        """Coordinates of COBYLA's variables (each numeric u, reflected into [0, 1]), snapped."""
        u = self.x0.copy()
        u[self.enc.continuous] = _reflect(t)
        return self.enc.snap(u[None, :])[0]

    def still_valid(self, trials: _Trials) -> bool:
        """Whether the trials it has read, and those before them, are still the history's."""
        n = len(self.seen_value)
        return (
            n <= len(trials.u)
            and np.array_equal(trials.u[:n], self.seen_u)
            and np.array_equal(trials.value[:n], self.seen_value, equal_nan=True)
        )

    def next_point(self, trials: _Trials) -> np.ndarray | None:
        """COBYLA's next point after the trials; None when it cannot say (a running trial of its own, or stuck)."""
        try:
            return self._advance(trials)
        finally:
            self.seen_u, self.seen_value = trials.u[: self.index].copy(), trials.value[: self.index].copy()

    def _advance(self, trials: _Trials) -> np.ndarray | None:
        while True:
            if self.run.asked is None:  # converged: again from the best trial
                self.stale = 0 if self.fresh else self.stale + 1
                if self.stale > _MAX_STALE:
                    return None
                self._begin(trials)
                continue
            u = self.point(self.run.asked)
            known = self._known(u, trials)
            if known is not None:  # a point tried before (a restart's start, a value snapped to a grid)
                self.run.tell(known)
                continue
            if self.index >= len(trials.u):
                return u
            if trials.running[self.index]:
                return None
            matches = np.max(np.abs(trials.u[self.index] - u), initial=0.0) <= _MATCH
            self.index += 1
            if matches:
                self.fresh += 1
                self.run.tell(float(trials.value[self.index - 1]))
            else:  # not the asked point: again from the best trial, this one included
                self._begin(trials)

    def _known(self, u: np.ndarray, trials: _Trials) -> float | None:
        """The told value of a finished trial read so far at point `u`, if any (the latest)."""
        if not self.index:
            return None
        same = np.flatnonzero(np.max(np.abs(trials.u[: self.index] - u), axis=1) <= _MATCH)
        same = same[~trials.running[same]]
        return float(trials.value[same[-1]]) if len(same) else None


def _replay(state: _RunState, trials: _Trials, opts: LocalOptions, start: int) -> np.ndarray | None:
    """COBYLA's next point: from the run's kept replay when the history still agrees, else replayed anew."""
    replay = state.replays.get(opts)
    if replay is None or not replay.still_valid(trials):
        replay = state.replays[opts] = _Replay(state.enc, trials, start, opts)
    return replay.next_point(trials)


def _reflect(t: np.ndarray) -> np.ndarray:
    """Fold a unit coordinate back into [0, 1] (a bounce off each wall)."""
    t = np.mod(t, 2.0)
    return np.where(t > 1.0, 2.0 - t, t)


def _around_best(
    enc: Encoding, trials: _Trials, rng: np.random.Generator, k: int, opts: LocalOptions
) -> list[np.ndarray]:
    """`k` Gaussian moves of the best trial at the scale of its last steps (the centre if none finished)."""
    if k <= 0:
        return []
    best = _best_before(trials, len(trials.u))
    x0 = _centre(enc) if best is None else trials.u[best]
    numeric = enc.continuous
    recent = trials.u[-(2 * len(numeric) + 2) :, numeric]
    scale = float(np.median(np.abs(recent - x0[numeric]))) if len(recent) else opts.rho_begin
    scale = min(max(scale, 1e-3), opts.rho_begin)
    out = []
    for _ in range(k):
        u = x0.copy()
        u[numeric] = _reflect(u[numeric] + scale * rng.standard_normal(len(numeric)))
        out.append(enc.snap(u[None, :])[0])
    return out


suggest.many = suggest_many  # type: ignore[attr-defined]  # the batch form Tuner.ask_many uses
suggest.multi_objective = False  # type: ignore[attr-defined]  # one loss
