"""`ParzenSearch`: parzen's TPE as a Ray Tune search algorithm (in place of ``HyperOptSearch``).

    from ray import tune
    from parzen.integration.ray import ParzenSearch

    tuner = tune.Tuner(
        train_fn,
        param_space={"lr": tune.loguniform(1e-4, 1e-1), "layers": tune.randint(1, 5)},
        tune_config=tune.TuneConfig(search_alg=ParzenSearch(), metric="loss", mode="min", num_samples=50),
    )

The search space is either Tune's ``param_space`` (``tune.uniform``, ``loguniform``,
``quniform``, ``randn``, ``randint``, ``lograndint``, ``choice``..., nested dicts too),
or a parzen space given as `space` (``hp.*`` expressions, conditional ``hp.choice``,
``scope`` functions), exactly as ``HyperOptSearch(space=...)`` took a hyperopt space.
Suggestions come from a `parzen.Tuner` (ask/tell): trials Tune runs in parallel count as
running while they run, failed trials as bad outcomes. Needs ``ray[tune]``
(``pip install 'parzen[ray]'``); ``import parzen`` does not import it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import cloudpickle
from ray.tune.search import Searcher
from ray.tune.search.sample import Categorical, Domain, Float, Integer, LogUniform, Normal, Quantized, Uniform

from parzen import hp
from parzen._hyperopt.pyll import scope
from parzen._hyperopt.trials import Trials
from parzen.algorithms import tpe
from parzen.driver.tuner import Tuner
from parzen.exceptions import InvalidArgument, InvalidSpace
from parzen.trial import STATUS_FAIL

__all__ = ["ParzenSearch", "convert_search_space"]


class ParzenSearch(Searcher):
    """A Ray Tune searcher whose suggestions come from parzen's TPE (or any parzen `algo`).

    Args:
        space: a parzen search space (``hp.*``); None: Tune's ``param_space`` is converted.
        metric: the result key to optimise, as every Tune searcher (may come from ``TuneConfig`` instead).
        mode: ``"min"`` or ``"max"`` (may come from ``TuneConfig`` instead).
        points_to_evaluate: flat ``{label: value}`` points run first (a choice as its index, as in ``fmin``).
        algo: a parzen suggest function (``parzen.tpe.suggest`` by default, ``functools.partial`` for options).
        random_state_seed: the seed of the suggestions.
    """

    _metric: str | None  # set by Ray's Searcher (declared so the type check holds without ray installed)
    _mode: str | None

    def __init__(
        self,
        space: Any = None,
        metric: str | None = None,
        mode: str | None = None,
        points_to_evaluate: list[dict[str, Any]] | None = None,
        algo: Any = None,
        random_state_seed: int | None = None,
    ):
        super().__init__(metric=metric, mode=mode)
        self._algo = algo if algo is not None else tpe.suggest
        self._seed = random_state_seed
        self._points = points_to_evaluate
        self._tuner: Tuner | None = None
        self._live: dict[str, int] = {}  # Tune trial id -> parzen tid
        if space is not None:
            self._setup(space)

    def _setup(self, space: Any) -> None:
        self._tuner = Tuner(space, algo=self._algo, trials=Trials(), rstate=self._seed,
                            points_to_evaluate=self._points)  # fmt: skip

    @property
    def trials(self) -> Trials:
        """The parzen trials behind the search (``trials.best_params``, ``to_dataframe()``...)."""
        if self._tuner is None:
            raise InvalidArgument("ParzenSearch has no search space yet: pass space= or a Tune param_space")
        return self._tuner.trials

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        """Take Tune's metric, mode and ``param_space`` when no `space` was given (Tune calls it).

        Args:
            metric: the result key to optimise, from ``TuneConfig``.
            mode: ``"min"`` or ``"max"``, from ``TuneConfig``.
            config: Tune's ``param_space``, converted with `convert_search_space`.
            **spec: Tune's other settings; unused.

        Returns:
            False when the searcher already has a space (Tune then keeps it as it is).
        """
        if self._tuner is not None:
            return False
        self._setup(convert_search_space(config))
        self._metric = metric or self._metric
        self._mode = mode or self._mode
        return True

    def suggest(self, trial_id: str) -> dict | None:
        """The configuration of Tune's trial `trial_id` (it counts as running until it completes).

        Args:
            trial_id: Tune's id of the new trial.

        Returns:
            The point of the space, or ``Searcher.FINISHED`` when the algorithm has no more points.
        """
        if self._tuner is None:
            raise RuntimeError(
                "ParzenSearch has no search space: pass space= to ParzenSearch or a param_space to tune.Tuner()"
            )
        if self._mode not in ("min", "max") or not self._metric:
            raise RuntimeError(
                f"ParzenSearch needs metric and mode ('min' or 'max'), got metric={self._metric!r}, "
                f"mode={self._mode!r}: pass them to ParzenSearch or to tune.TuneConfig()"
            )
        suggestion = self._tuner.ask()
        if suggestion is None:
            finished: Any = Searcher.FINISHED  # a str sentinel, though Ray types suggest() as Optional[Dict]
            return finished
        self._live[trial_id] = suggestion.tid
        return suggestion.args

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        """Record a finished Tune trial: its metric as the loss (negated for ``"max"``), or a failure.

        Args:
            trial_id: Tune's id of the trial.
            result: its last result; a missing or non-finite metric makes a failed trial.
            error: the trial errored.
        """
        tid = self._live.pop(trial_id, None)
        if tid is None or self._tuner is None:
            return
        self._tuner.tell(tid, self._result(result, error))

    def _result(self, result: dict | None, error: bool) -> Any:
        """The trial's loss to minimise, or why it has none (a failed trial)."""
        if error or not result:
            return RuntimeError("the Tune trial errored")
        value = result.get(self._metric) if self._metric else None
        if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
            return {"status": STATUS_FAIL, "error": f"metric {self._metric!r} is {value!r} in the last result"}
        return -float(value) if self._mode == "max" else float(value)

    def save(self, checkpoint_path: str) -> None:
        """Save the searcher, trials included, for Tune's checkpoints.

        Args:
            checkpoint_path: the file to write.
        """
        with open(checkpoint_path, "wb") as f:
            cloudpickle.dump(self.__dict__, f)

    def restore(self, checkpoint_path: str) -> None:
        """Restore the searcher `save` wrote.

        Args:
            checkpoint_path: the file `save` wrote.
        """
        with open(checkpoint_path, "rb") as f:
            self.__dict__.update(cloudpickle.load(f))


def convert_search_space(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Tune's ``param_space`` as a parzen space; each sampled value is labelled by its path ("a/b").

    Args:
        config: Tune's ``param_space`` (``tune.uniform``, ``choice``... nested in dicts; constants kept).
        prefix: the path of `config` in an enclosing space (for nested dicts).

    Raises:
        InvalidSpace: `config` is not a dict, or holds a Tune domain parzen has no equivalent for.
    """
    if not isinstance(config, Mapping):
        raise InvalidSpace(f"ParzenSearch: param_space must be a dict, got {type(config).__name__}")
    return {key: _convert(value, f"{prefix}{key}") for key, value in config.items()}


def _convert(value: Any, label: str) -> Any:
    if isinstance(value, Mapping):
        if "grid_search" in value:
            raise InvalidSpace(f"ParzenSearch: {label!r} is a grid_search; use tune.choice (or parzen.grid.suggest)")
        return convert_search_space(value, prefix=f"{label}/")
    if isinstance(value, list):
        return [_convert(v, f"{label}/{i}") for i, v in enumerate(value)]
    if isinstance(value, Domain):
        return _domain(value, label)
    return value


def _domain(domain: Domain, label: str) -> Any:
    """One Tune domain as the hp.* expression sampling the same values."""
    sampler = domain.get_sampler()
    q = sampler.q if isinstance(sampler, Quantized) else None
    sampler = sampler.sampler if isinstance(sampler, Quantized) else sampler
    if isinstance(domain, Categorical):
        return hp.choice(label, [_convert(c, f"{label}/{i}") for i, c in enumerate(domain.categories)])
    if isinstance(domain, Float):
        if isinstance(sampler, LogUniform):
            low, high = math.log(domain.lower), math.log(domain.upper)
            return hp.qloguniform(label, low, high, q) if q else hp.loguniform(label, low, high)
        if isinstance(sampler, Normal):
            return hp.qnormal(label, sampler.mean, sampler.sd, q) if q else hp.normal(label, sampler.mean, sampler.sd)
        if isinstance(sampler, Uniform):
            return (
                hp.quniform(label, domain.lower, domain.upper, q)
                if q
                else hp.uniform(label, domain.lower, domain.upper)
            )
    if isinstance(domain, Integer):  # Tune's upper bound is exclusive
        if isinstance(sampler, LogUniform):
            expr = hp.qloguniform(label, math.log(domain.lower), math.log(domain.upper - 1), q or 1)
            return scope.int(expr)
        if isinstance(sampler, Uniform):
            if q:
                return scope.int(hp.quniform(label, domain.lower, domain.upper - 1, q))
            return hp.randint(label, domain.lower, domain.upper)
    raise InvalidSpace(
        f"ParzenSearch cannot convert {label!r}: a {type(domain).__name__} with a {type(sampler).__name__} sampler; "
        "write that parameter with parzen's hp.* and pass space="
    )
