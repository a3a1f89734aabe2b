"""Algorithms: ``suggest(space, history, rng, **options) -> params | None`` (the contract: `base`).

Each is a small pure function of the compiled space, the trials so far (finished and
running, as `parzen.trial.history.History` columns) and a numpy Generator. Options are set
with ``functools.partial(module.suggest, option=value)``, as in hyperopt.
"""
