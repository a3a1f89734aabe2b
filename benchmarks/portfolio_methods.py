"""The optimisers of the portfolio benchmark (issue 26), each driven by ask/tell on a parzen space.

A method name is ``<name>[key=value,...]``; the options go to the parzen suggest function or to the
anchor's constructor. Names:

* ``parzen_tpe``, ``parzen_gp``, ``parzen_local``, ``parzen_rand``, ``parzen_auto``:
  parzen's `Tuner`, batches through ``ask_many`` (one model fit per batch);
* ``optuna_tpe``, ``optuna_gp``: optuna's TPESampler and GPSampler with their defaults (GPSampler
  needs torch: installed in the bench environment only, never a dependency of parzen);
* ``ngopt``: nevergrad's NGOpt, told the budget and the batch size (``num_workers``);
* ``smac_bb``, ``smac_hpo``: SMAC3's BlackBoxFacade (a GP) and HyperparameterOptimizationFacade (a
  random forest), deterministic scenarios;
* ``random``: parzen's random search.

Every driver runs ``evals`` evaluations in batches of ``batch`` (ask `batch` points, evaluate them,
tell them all: the synchronous batches of the 2020 black-box optimisation challenge; ``batch=1`` is
sequential) and returns the losses in evaluation order and the optimiser's own time: CPU and wall
seconds spent inside ask and tell, the objective excluded.
"""

from __future__ import annotations

import ast
import functools
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NAMES = (
    "parzen_tpe",
    "parzen_gp",
    "parzen_rand",
    "parzen_auto",
    "parzen_local",
    "optuna_tpe",
    "optuna_gp",
    "ngopt",
    "smac_bb",
    "smac_hpo",
    "random",
)
_NAME = re.compile(r"^(?P<name>[a-z_]+?)(?:\[(?P<opts>[^\]]*)\])?$")


@dataclass(frozen=True)
class Method:
    name: str
    base: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def library(self) -> str:
        """Whose code produced a run (for the stored code version)."""
        if self.base.startswith("parzen") or self.base == "random":
            return "parzen"
        return {"optuna_tpe": "optuna", "optuna_gp": "optuna", "ngopt": "nevergrad"}.get(self.base, "smac")


def parse_method(name: str) -> Method:
    match = _NAME.match(name.strip())
    if match is None or match["name"] not in NAMES:
        raise ValueError(f"bad method {name!r}; known: {', '.join(NAMES)} (options as name[key=value,...])")
    options = {}
    for item in filter(None, (s.strip() for s in (match["opts"] or "").split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{name!r}: option {item!r} is not key=value")
        try:
            options[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            options[key.strip()] = value.strip()
    return Method(name.strip(), match["name"], options)


class Clock:
    """CPU and wall seconds accumulated inside `with clock:` blocks."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.wall = 0.0

    def __enter__(self) -> Clock:
        self._cpu, self._wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cpu += time.process_time() - self._cpu
        self.wall += time.perf_counter() - self._wall


Objective = Callable[[dict[str, Any]], float]  # a flat parzen point -> loss


def run(
    name: str, space: Any, objective: Objective, seed: int, evals: int, batch: int = 1, flight: int = 0
) -> tuple[list[float], Clock]:
    """Run method `name` on a parzen space; `objective` takes a flat point ({label: value}).

    ``batch`` > 1: synchronous batches (ask `batch`, evaluate, tell them all). ``flight`` > 0: asynchronous,
    `flight` trials asked but not told at any time; the oldest is told, then one more asked.
    """
    method = parse_method(name)
    clock = Clock()
    with clock:
        driver = _DRIVERS[method.base](method, space, seed, evals, max(batch, flight, 1))
    losses: list[float] = []
    if flight:
        pending: list[tuple[Any, dict[str, Any]]] = []
        while len(losses) < evals:
            want = min(flight - len(pending), evals - len(losses) - len(pending))
            if want > 0:
                with clock:
                    pending += driver.ask(1) if want == 1 else [a for _ in range(want) for a in driver.ask(1)]
            handle, point = pending.pop(0)
            value = _safe(objective, point)
            with clock:
                driver.tell(handle, value)
            losses.append(value)
    else:
        while len(losses) < evals:
            with clock:
                asked = driver.ask(min(batch, evals - len(losses)))
            values = [_safe(objective, point) for _, point in asked]
            with clock:
                for (handle, _), value in zip(asked, values):
                    driver.tell(handle, value)
            losses += values
    driver.close()
    if len(losses) != evals:
        raise RuntimeError(f"{name} made {len(losses)} evaluations, expected {evals}")
    return losses, clock


def _safe(objective: Objective, point: dict[str, Any]) -> float:
    value = float(objective(point))
    return value if math.isfinite(value) else 1e300


class Driver:
    """ask(n) -> [(handle, flat point)], tell(handle, loss), close()."""

    def ask(self, n: int) -> list[tuple[Any, dict[str, Any]]]:
        raise NotImplementedError

    def tell(self, handle: Any, value: float) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


# --- parzen -----------------------------------------------------------------------------------------------


def _parzen_algo(method: Method) -> Callable:
    import parzen
    from parzen.algorithms import gp, local

    if method.base == "parzen_auto":
        from parzen.algorithms import auto

        base = auto.suggest
    else:
        base = {
            "parzen_tpe": parzen.tpe.suggest,
            "parzen_gp": gp.suggest,
            "parzen_local": local.suggest,
            "parzen_rand": parzen.rand.suggest,
            "random": parzen.rand.suggest,
        }[method.base]
    return functools.partial(base, **method.options) if method.options else base


class _Parzen(Driver):
    def __init__(self, method: Method, space: Any, seed: int, evals: int, workers: int):
        from parzen import Trials, Tuner

        self.tuner = Tuner(space, algo=_parzen_algo(method), trials=Trials(), rstate=np.random.default_rng(seed))
        begin = getattr(getattr(self.tuner.algo, "func", self.tuner.algo), "begin_run", None)
        if begin is not None:  # as fmin does: auto learns the budget and how many trials run at once, so its
            begin(self.tuner.space, evals, workers)  # runs are budget-aware (a run per budget, like NGOpt's)

    def ask(self, n: int) -> list[tuple[Any, dict[str, Any]]]:
        asked = self.tuner.ask_many(n) if n > 1 else [self.tuner.ask()]
        return [(s.tid, s.params) for s in asked]

    def tell(self, handle: Any, value: float) -> None:
        self.tuner.tell(handle, value)


# --- optuna -----------------------------------------------------------------------------------------------


def _optuna_pick(trial: Any, node: Any) -> Any:
    from parzen.space import Categorical

    if isinstance(node, Categorical):
        return trial.suggest_categorical(node.label, list(range(len(node.options))))
    low, high = node.low, node.high
    if node.kind == "uniform":
        return trial.suggest_float(node.label, low, high)
    if node.kind == "loguniform":
        return trial.suggest_float(node.label, math.exp(low), math.exp(high), log=True)
    if node.kind == "randint":
        return trial.suggest_int(node.label, int(low), int(high) - 1)
    if node.kind == "quniform" and all(float(v).is_integer() for v in (low, high, node.q)):
        q = int(node.q)
        return float(trial.suggest_int(node.label, math.ceil(low / q) * q, math.floor(high / q) * q, step=q))
    raise NotImplementedError(f"{node.label!r}: no optuna translation for {node!r}")


class _Optuna(Driver):
    def __init__(self, method: Method, space: Any, seed: int, evals: int, workers: int):
        import optuna

        from parzen.space import compile_space

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.compiled = compile_space(space)
        sampler_class = optuna.samplers.GPSampler if method.base == "optuna_gp" else optuna.samplers.TPESampler
        self.study = optuna.create_study(direction="minimize", sampler=sampler_class(seed=seed, **method.options))

    def ask(self, n: int) -> list[tuple[Any, dict[str, Any]]]:
        out = []
        for _ in range(n):
            trial = self.study.ask()
            out.append((trial, self.compiled.walk(lambda node, t=trial: _optuna_pick(t, node))))
        return out

    def tell(self, handle: Any, value: float) -> None:
        self.study.tell(handle, value)


# --- nevergrad --------------------------------------------------------------------------------------------


def _ng_param(node: Any) -> Any:
    import nevergrad as ng

    from parzen.space import Categorical

    if isinstance(node, Categorical):
        return ng.p.Choice(list(range(len(node.options))))
    low, high = node.low, node.high
    if node.kind == "uniform":
        return ng.p.Scalar(lower=low, upper=high)
    if node.kind == "loguniform":
        return ng.p.Log(lower=math.exp(low), upper=math.exp(high))
    if node.kind == "randint":
        return ng.p.Scalar(lower=int(low), upper=int(high) - 1).set_integer_casting()
    if node.kind == "quniform" and all(float(v).is_integer() for v in (low, high, node.q)):
        q = int(node.q)
        return ng.p.Scalar(lower=math.ceil(low / q), upper=math.floor(high / q)).set_integer_casting()
    raise NotImplementedError(f"{node.label!r}: no nevergrad translation for {node!r}")


class _NGOpt(Driver):
    def __init__(self, method: Method, space: Any, seed: int, evals: int, workers: int):
        import nevergrad as ng

        from parzen.space import compile_space

        self.compiled = compile_space(space)
        self.params = self.compiled.params
        parametrization = ng.p.Dict(**{label: _ng_param(node) for label, node in self.params.items()})
        parametrization.random_state = np.random.RandomState(seed)
        self.optimizer = ng.optimizers.NGOpt(parametrization=parametrization, budget=evals, num_workers=workers)

    def ask(self, n: int) -> list[tuple[Any, dict[str, Any]]]:
        out = []
        for _ in range(n):
            c = self.optimizer.ask()
            point = {label: _user_value(self.params[label], v) for label, v in c.value.items()}
            out.append((c, self.compiled.check_point(point)))
        return out

    def tell(self, handle: Any, value: float) -> None:
        self.optimizer.tell(handle, value)


# --- SMAC3 ------------------------------------------------------------------------------------------------


def _cs_param(node: Any) -> Any:
    from ConfigSpace import Categorical as CsCategorical
    from ConfigSpace import Float, Integer

    from parzen.space import Categorical

    if isinstance(node, Categorical):
        return CsCategorical(node.label, list(range(len(node.options))))
    low, high = node.low, node.high
    if node.kind == "uniform":
        return Float(node.label, (low, high))
    if node.kind == "loguniform":
        return Float(node.label, (math.exp(low), math.exp(high)), log=True)
    if node.kind == "randint":
        return Integer(node.label, (int(low), int(high) - 1))
    if node.kind == "quniform" and all(float(v).is_integer() for v in (low, high, node.q)):
        q = int(node.q)
        return Integer(node.label, (math.ceil(low / q), math.floor(high / q)))
    raise NotImplementedError(f"{node.label!r}: no ConfigSpace translation for {node!r}")


class _SMAC(Driver):
    def __init__(self, method: Method, space: Any, seed: int, evals: int, workers: int):
        import logging
        import tempfile

        from ConfigSpace import ConfigurationSpace
        from smac import BlackBoxFacade, HyperparameterOptimizationFacade, Scenario

        from parzen.space import compile_space

        logging.getLogger("smac").setLevel(logging.ERROR)
        self.compiled = compile_space(space)
        self.params = self.compiled.params
        facade = BlackBoxFacade if method.base == "smac_bb" else HyperparameterOptimizationFacade
        self.tmp = tempfile.TemporaryDirectory()
        cs = ConfigurationSpace(seed=seed)
        cs.add([_cs_param(node) for node in self.params.values()])
        scenario = Scenario(
            cs, deterministic=True, n_trials=evals + 10 * workers, seed=seed, output_directory=self.tmp.name
        )
        self.smac = facade(scenario, target_function=lambda config, seed=0: 0.0, overwrite=True, logging_level=40)

    def ask(self, n: int) -> list[tuple[Any, dict[str, Any]]]:
        out = []
        for _ in range(n):
            info = self.smac.ask()
            point = {label: _user_value(node, info.config[label]) for label, node in self.params.items()}
            out.append((info, self.compiled.check_point(point)))
        return out

    def tell(self, handle: Any, value: float) -> None:
        from smac.runhistory.dataclasses import TrialValue

        self.smac.tell(handle, TrialValue(cost=value))

    def close(self) -> None:
        self.tmp.cleanup()


def _user_value(node: Any, value: Any) -> Any:
    """An anchor's value as parzen's flat point holds it: a quantised index times q, numbers clipped in."""
    from parzen.space import Categorical

    if isinstance(node, Categorical):
        return int(value)
    if node.kind == "quniform":
        return float(int(value) * node.q)
    if node.kind == "randint":
        return int(value)
    low, high = node.value_bounds()
    return float(min(max(float(value), low), high))


_DRIVERS: dict[str, Callable[..., Driver]] = {
    "parzen_tpe": _Parzen,
    "parzen_gp": _Parzen,
    "parzen_rand": _Parzen,
    "parzen_auto": _Parzen,
    "parzen_local": _Parzen,
    "random": _Parzen,
    "optuna_tpe": _Optuna,
    "optuna_gp": _Optuna,
    "ngopt": _NGOpt,
    "smac_bb": _SMAC,
    "smac_hpo": _SMAC,
}
