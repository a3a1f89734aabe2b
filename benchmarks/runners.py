"""The optimisers compared by the benchmark, all behind ``run(method_name, problem, seed, evals)``.

A method name is ``<library>_<algo>[<options>]@<k>``:

* ``library`` is parzen, hyperopt or optuna; ``algo`` is tpe or rand (parzen also has anneal);
* ``[key=value,...]`` (optional) are options of the algorithm: ``parzen.tpe.suggest`` keywords
  (e.g. ``parzen_tpe[split=linear,gamma=0.1]``), ``hyperopt.tpe.suggest`` keywords, or
  ``optuna.samplers.TPESampler`` arguments (e.g. ``optuna_tpe[multivariate=False]``);
* ``@k`` (optional) runs asynchronously with k trials in flight: k suggestions are asked before the
  first result is told, then the oldest pending trial is told and a new one asked, until `evals`
  results are told (parzen: ``Tuner`` ask/tell; hyperopt: its Domain/Trials documents; optuna:
  ``study.ask``/``study.tell``). Without ``@k`` each library's ordinary sequential loop is used.

Every run returns the objective values in the order they were told.
"""

from __future__ import annotations

import ast
import functools
import importlib
import math
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from problems import Problem

MAIN_METHODS = ("parzen_tpe", "parzen_rand", "hyperopt_tpe", "hyperopt_rand", "optuna_tpe", "optuna_rand")
IN_FLIGHT_METHODS = ("parzen_tpe@8", "hyperopt_tpe@8", "optuna_tpe@8")

_NAME = re.compile(
    r"^(?P<lib>parzen|hyperopt|optuna)_(?P<algo>tpe|rand|anneal|gp|auto)(?:\[(?P<opts>[^\]]*)\])?(?:@(?P<k>\d+))?$"
)


@dataclass(frozen=True)
class Method:
    """A parsed method name."""

    name: str
    library: str
    algo: str
    options: dict[str, Any] = field(default_factory=dict)
    in_flight: int = 0  # 0: the library's sequential loop; k >= 1: k trials in flight


def _literal(text: str) -> Any:
    """An option value: a Python literal (0.1, 20, True) or else the bare string (linear)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_method(name: str) -> Method:
    """Parse ``parzen_tpe[split=linear,gamma=0.1]@8`` and friends."""
    match = _NAME.match(name.strip())
    if match is None:
        raise ValueError(f"bad method name {name!r}; expected e.g. parzen_tpe, optuna_rand, parzen_tpe[gamma=0.1]@8")
    if match["algo"] in ("anneal", "gp", "auto") and match["lib"] != "parzen":
        raise ValueError(f"{name!r}: only parzen has {match['algo']} here")
    options = {}
    for item in filter(None, (s.strip() for s in (match["opts"] or "").split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{name!r}: option {item!r} is not key=value")
        options[key.strip()] = _literal(value.strip())
    in_flight = int(match["k"]) if match["k"] else 0
    if match["k"] and in_flight < 1:
        raise ValueError(f"{name!r}: need at least one trial in flight")
    return Method(name.strip(), match["lib"], match["algo"], options, in_flight)


def split_methods(items: list[str]) -> list[str]:
    """Split command-line method lists on commas outside brackets: ``a,b[x=1,y=2]`` -> ``a``, ``b[x=1,y=2]``."""
    names = []
    for item in items:
        names += [s for s in re.split(r",(?![^\[]*\])", item) if s.strip()]
    return [s.strip() for s in names]


def run(name: str, problem: Problem, seed: int, evals: int) -> dict[str, Any]:
    """Run method `name` on `problem`; returns the losses in told order, best-so-far and wall seconds."""
    method = parse_method(name)
    runner = _RUNNERS[method.library, method.in_flight > 0]
    start = time.perf_counter()
    losses = runner(method, problem, seed, evals)
    seconds = time.perf_counter() - start
    if len(losses) != evals:
        raise RuntimeError(f"{name} on {problem.name} (seed {seed}) told {len(losses)} results, expected {evals}")
    return {"losses": losses, "best": best_so_far(losses), "seconds": seconds}


def best_so_far(losses: list[float]) -> list[float]:
    """Running minimum, with failed (None/NaN) evaluations counting as +inf."""
    clean = [math.inf if v is None or math.isnan(v) else float(v) for v in losses]
    return np.minimum.accumulate(clean).tolist()


# --- parzen -----------------------------------------------------------------------------------------------


def parzen_algo(method: Method) -> Callable:
    """The parzen suggest function for `method`, with its options bound."""
    import parzen

    base = {
        "tpe": parzen.tpe.suggest,
        "rand": parzen.rand.suggest,
        "anneal": parzen.anneal.suggest,
        "gp": parzen.gp.suggest,
        "auto": parzen.auto.suggest,
    }[method.algo]
    return functools.partial(base, **method.options) if method.options else base


def _fmin_sequential(library: str, algo: Callable, problem: Problem, seed: int, evals: int) -> list[float]:
    """`library`.fmin, one trial at a time (parzen and hyperopt share the API)."""
    lib = importlib.import_module(library)
    trials = lib.Trials()
    lib.fmin(
        problem.objective,
        problem.space(library),
        algo=algo,
        max_evals=evals,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    return list(trials.losses())


def _parzen_sequential(method: Method, problem: Problem, seed: int, evals: int) -> list[float]:
    return _fmin_sequential("parzen", parzen_algo(method), problem, seed, evals)


def _parzen_in_flight(method: Method, problem: Problem, seed: int, evals: int) -> list[float]:
    """parzen Tuner ask/tell keeping `method.in_flight` trials asked but not told."""
    from parzen import Trials, Tuner

    tuner = Tuner(
        problem.space("parzen"), algo=parzen_algo(method), trials=Trials(), rstate=np.random.default_rng(seed)
    )

    def tell(suggestion: Any) -> float:
        loss = float(problem.objective(suggestion.args))
        tuner.tell(suggestion.tid, loss)
        return loss

    return _in_flight_loop(tuner.ask, tell, method.in_flight, evals)


def _in_flight_loop(ask: Callable[[], Any], tell: Callable[[Any], Any], k: int, evals: int) -> list[float]:
    """Keep up to `k` asked-not-told trials; tell the oldest; stop after `evals` tells. Returns the losses."""
    pending: deque = deque()
    losses: list[float] = []
    while len(losses) < evals:
        while len(pending) < k and len(losses) + len(pending) < evals:
            pending.append(ask())
        losses.append(float(tell(pending.popleft())))
    return losses


# --- hyperopt ---------------------------------------------------------------------------------------------


def hyperopt_algo(method: Method) -> Callable:
    """The hyperopt suggest function for `method`, with its options bound."""
    import hyperopt

    base = {"tpe": hyperopt.tpe.suggest, "rand": hyperopt.rand.suggest}[method.algo]
    return functools.partial(base, **method.options) if method.options else base


def _hyperopt_sequential(method: Method, problem: Problem, seed: int, evals: int) -> list[float]:
    return _fmin_sequential("hyperopt", hyperopt_algo(method), problem, seed, evals)


class _HyperoptAskTell:
    """Ask/tell on hyperopt's own Domain and Trials documents (what its fmin does, one trial at a time)."""

    def __init__(self, method: Method, problem: Problem, seed: int):
        import hyperopt

        self.hyperopt = hyperopt
        self.algo = hyperopt_algo(method)
        self.domain = hyperopt.base.Domain(problem.objective, problem.space("hyperopt"))
        self.trials = hyperopt.Trials()
        self.rng = np.random.default_rng(seed)

    def ask(self) -> dict:
        """Suggest one trial, insert it as running, and return its stored document."""
        new_ids = self.trials.new_trial_ids(1)
        self.trials.refresh()
        docs = self.algo(new_ids, self.domain, self.trials, self.rng.integers(2**31 - 1))
        for doc in docs:
            doc["state"] = self.hyperopt.JOB_STATE_RUNNING
        self.trials.insert_trial_docs(docs)  # stores copies
        self.trials.refresh()
        return next(d for d in self.trials.trials if d["tid"] == new_ids[0])

    def tell(self, doc: dict) -> float:
        """Evaluate the trial's point and mark it done."""
        spec = self.hyperopt.base.spec_from_misc(doc["misc"])
        result = self.domain.evaluate(spec, self.hyperopt.base.Ctrl(self.trials, current_trial=doc))
        doc["state"] = self.hyperopt.JOB_STATE_DONE
        doc["result"] = result
        self.trials.refresh()
        return float(result["loss"])


def _hyperopt_in_flight(method: Method, problem: Problem, seed: int, evals: int) -> list[float]:
    """hyperopt with `method.in_flight` trials in flight."""
    loop = _HyperoptAskTell(method, problem, seed)
    return _in_flight_loop(loop.ask, loop.tell, method.in_flight, evals)


# --- optuna -----------------------------------------------------------------------------------------------


def optuna_suggest(trial: Any, compiled: Any) -> dict[str, Any]:
    """Suggest every active parameter of a compiled parzen space through optuna; returns parzen's flat point."""
    return compiled.walk(lambda node: _optuna_pick(trial, node))


def _optuna_pick(trial: Any, node: Any) -> Any:
    """One parameter through optuna's define-by-run API (a choice's value is its index, as in parzen)."""
    from parzen.space import Categorical

    if isinstance(node, Categorical):
        if node.kind != "choice":
            raise NotImplementedError(f"{node.label!r}: optuna has no weighted categorical ({node.kind})")
        return trial.suggest_categorical(node.label, list(range(len(node.options))))
    if node.kind == "uniform":
        return trial.suggest_float(node.label, node.low, node.high)
    if node.kind == "loguniform":
        return trial.suggest_float(node.label, math.exp(node.low), math.exp(node.high), log=True)
    if node.kind == "randint":
        return trial.suggest_int(node.label, int(node.low), int(node.high) - 1)
    if node.kind == "quniform" and all(float(v).is_integer() for v in (node.low, node.high, node.q)):
        q = int(node.q)
        low, high = math.ceil(node.low / q) * q, math.floor(node.high / q) * q
        return float(trial.suggest_int(node.label, low, high, step=q))
    raise NotImplementedError(f"{node.label!r}: no optuna translation for {node!r}")


def optuna_sampler(method: Method, seed: int) -> Any:
    """optuna's TPESampler (its defaults unless options are given) or RandomSampler."""
    import optuna

    if method.algo == "tpe":
        return optuna.samplers.TPESampler(seed=seed, **method.options)
    return optuna.samplers.RandomSampler(seed=seed, **method.options)


def _optuna_study(method: Method, seed: int) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(direction="minimize", sampler=optuna_sampler(method, seed))


def _optuna_sequential(method: Method, problem: Problem, seed: int, evals: int) -> list[float]:
    """study.optimize, one trial at a time."""
    from parzen.space import compile_space

    compiled = compile_space(problem.space("parzen"))
    study = _optuna_study(method, seed)
    study.optimize(lambda trial: problem.objective(compiled.eval(optuna_suggest(trial, compiled))), n_trials=evals)
    return [t.value for t in study.trials]


def _optuna_in_flight(method: Method, problem: Problem, seed: int, evals: int) -> list[float]:
    """study.ask/study.tell with `method.in_flight` trials in flight (the suggestion is made at ask time)."""
    from parzen.space import compile_space

    compiled = compile_space(problem.space("parzen"))
    study = _optuna_study(method, seed)

    def ask() -> tuple:
        trial = study.ask()
        return trial, compiled.eval(optuna_suggest(trial, compiled))

    def tell(pending: tuple) -> float:
        value = problem.objective(pending[1])
        study.tell(pending[0], value)
        return value

    return _in_flight_loop(ask, tell, method.in_flight, evals)


_RUNNERS: dict[tuple[str, bool], Callable[[Method, Problem, int, int], list[float]]] = {
    ("parzen", False): _parzen_sequential,
    ("parzen", True): _parzen_in_flight,
    ("hyperopt", False): _hyperopt_sequential,
    ("hyperopt", True): _hyperopt_in_flight,
    ("optuna", False): _optuna_sequential,
    ("optuna", True): _optuna_in_flight,
}
