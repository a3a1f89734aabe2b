"""Speed benchmark: milliseconds per TPE suggestion with 100 / 1000 / 3000 finished trials of history.

    python benchmarks/speed.py                      # all three libraries, histories 100 1000 3000
    python benchmarks/speed.py --histories 100 --repeats 5

The space is 10 x hp.uniform on [0, 1] and the objective the sphere around 0.5. Histories are made by
random search (not timed). Only the suggestion is timed, repeated on the same history, and the median
reported:

* parzen: one ``parzen.tpe.suggest(space, trials.history(), rng)`` call (default options);
* hyperopt: one ``hyperopt.tpe.suggest(new_ids, domain, trials, seed)`` call (default options);
* optuna: ``study.ask()`` plus the ten ``suggest_float`` calls, TPESampler with its defaults (multivariate
  for one objective in optuna 5); the asked trial is then told FAIL outside the timing, which TPE ignores.

One warm-up call precedes the timed ones. Results go to a JSON file (default benchmarks/results/speed.json).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from quality import save

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "speed.json"
DIM = 10
LABELS = [f"x{i}" for i in range(DIM)]
LIBRARIES = ("parzen", "hyperopt", "optuna")


def sphere(args: dict) -> float:
    """Sum of squared distances to 0.5."""
    return float(sum((args[label] - 0.5) ** 2 for label in LABELS))


def timed(call: Callable[[], Any], repeats: int, after: Callable[[Any], None] = lambda _: None) -> list[float]:
    """Milliseconds of `repeats` calls of `call` (after one warm-up); `after` handles each result, untimed."""
    after(call())
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - start) * 1e3)
        after(result)
    return times


def parzen_times(n: int, seed: int, repeats: int) -> list[float]:
    """parzen.tpe.suggest on a history of `n` random trials."""
    import parzen

    space = {label: parzen.hp.uniform(label, 0.0, 1.0) for label in LABELS}
    tuner = parzen.Tuner(space, algo=parzen.rand.suggest, trials=parzen.Trials(), rstate=np.random.default_rng(seed))
    for _ in range(n):
        suggestion = tuner.ask()
        tuner.tell(suggestion.tid, sphere(suggestion.args))
    history = tuner.trials.history()
    rng = np.random.default_rng(seed + 1)
    return timed(lambda: parzen.tpe.suggest(tuner.space, history, rng), repeats)


def hyperopt_times(n: int, seed: int, repeats: int) -> list[float]:
    """hyperopt.tpe.suggest on a Trials holding `n` random trials."""
    import hyperopt

    space = {label: hyperopt.hp.uniform(label, 0.0, 1.0) for label in LABELS}
    domain = hyperopt.base.Domain(sphere, space)
    trials = hyperopt.Trials()
    docs = hyperopt.rand.suggest(trials.new_trial_ids(n), domain, trials, seed)
    for doc in docs:
        point = hyperopt.base.spec_from_misc(doc["misc"])
        doc["state"] = hyperopt.JOB_STATE_DONE
        doc["result"] = {"loss": sphere(point), "status": hyperopt.STATUS_OK}
    trials.insert_trial_docs(docs)
    trials.refresh()
    seeds = np.random.default_rng(seed + 1)
    return timed(
        lambda: hyperopt.tpe.suggest(trials.new_trial_ids(1), domain, trials, seeds.integers(2**31 - 1)), repeats
    )


def optuna_times(n: int, seed: int, repeats: int) -> list[float]:
    """optuna study.ask() + 10 suggest_float with TPESampler on a study holding `n` random trials."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    distributions = {label: optuna.distributions.FloatDistribution(0.0, 1.0) for label in LABELS}
    rng = np.random.default_rng(seed)
    points = [dict(zip(LABELS, row.tolist(), strict=True)) for row in rng.uniform(size=(n, DIM))]
    study.add_trials(
        [optuna.trial.create_trial(params=p, distributions=distributions, value=sphere(p)) for p in points]
    )

    def ask() -> Any:
        trial = study.ask()
        for label in LABELS:
            trial.suggest_float(label, 0.0, 1.0)
        return trial

    def discard(trial: Any) -> None:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)

    return timed(ask, repeats, after=discard)


TIMERS = {"parzen": parzen_times, "hyperopt": hyperopt_times, "optuna": optuna_times}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--libraries", nargs="+", default=list(LIBRARIES), choices=list(LIBRARIES))
    parser.add_argument("--histories", nargs="+", type=int, default=[100, 1000, 3000])
    parser.add_argument("--repeats", type=int, default=11, help="timed suggestions per cell (default 11)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Time every (library, history size) and write the JSON file."""
    args = parse_args(argv)
    cells = []
    for n in args.histories:
        for library in args.libraries:
            times = TIMERS[library](n, args.seed, args.repeats)
            median = statistics.median(times)
            cells.append({"library": library, "history": n, "median_ms": median, "times_ms": times})
            print(f"{library:9s} history {n:5d}: {median:9.2f} ms", file=sys.stderr, flush=True)
    data = {"dim": DIM, "repeats": args.repeats, "seed": args.seed, "cells": cells}
    save(args.out, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
