"""How many trials the importance forest needs: the error of a capped fit against the full fit.

    python benchmarks/importance_cap.py                    # 5 problems, 20,000 trials each
    python benchmarks/importance_cap.py --trials 8000 --caps 500 1000 2000

`parzen report` fits its fANOVA forest on at most `MAX_FIT_TRIALS` ok trials (a uniform
random sample beyond). This measures what that costs in accuracy, on five problem
families (a dominant log-scale parameter with a conditional branch, a quadratic plus a
linear term, a branch effect credited to its choice, an interaction, a noisy objective
with eight parameters), each run with random search so the trials cover the prior.

The reference is the mean of the full fits with three forest seeds; "full-fit noise" is
how far one full fit is from that mean (what a different seed alone changes). A cap's
error is the largest absolute difference of any parameter's share (in points of the
loss variance), over five sample seeds. Results go to benchmarks/results/importance_cap.json
as they come.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from parzen import Trials, fmin, hp, rand
from parzen.plotting._importance import Forest
from parzen.view import from_trials

RESULTS = Path(__file__).resolve().parent / "results" / "importance_cap.json"


def _branch(p):
    m = p["m"]
    return 1 + np.log(m["lr"]) ** 2 / 10 if m["k"] == "a" else 5 + 0.01 * m["d"]


def _noisy(p):
    return p["x0"] + 0.3 * p["x1"] ** 2 + np.random.default_rng(int(p["x7"] * 1e9)).normal(0, 0.5)


PROBLEMS = {
    "dominant_log_conditional": (
        {
            "lr": hp.loguniform("lr", np.log(1e-5), 0),
            "depth": hp.quniform("depth", 1, 12, 1),
            "act": hp.choice("act", ["relu", "tanh", "gelu"]),
            "opt": hp.choice("opt", [{"kind": "adam", "beta": hp.uniform("beta", 0.8, 0.999)}, {"kind": "sgd"}]),
            "shift": hp.normal("shift", 0, 1),
        },
        lambda p: (
            (np.log10(p["lr"]) + 3) ** 2
            + 0.05 * p["depth"]
            + 0.3 * abs(p["shift"])
            + (0.5 if p["opt"]["kind"] == "sgd" else 0.0)
        ),
    ),
    "quadratic_linear": (
        {"x0": hp.uniform("x0", 0, 1), "x1": hp.uniform("x1", 0, 1), "x2": hp.uniform("x2", 0, 1)},
        lambda p: 4 * (p["x0"] - 0.3) ** 2 + 0.4 * p["x1"],
    ),
    "branch": (
        {
            "m": hp.choice(
                "m", [{"k": "a", "lr": hp.loguniform("lr", -7, 0)}, {"k": "b", "d": hp.randint("d", 1, 10)}]
            ),
            "z": hp.normal("z", 0, 1),
        },
        _branch,
    ),
    "interaction": (
        {f"x{i}": hp.uniform(f"x{i}", -1, 1) for i in range(4)},
        lambda p: np.sin(3 * p["x0"]) * p["x1"] + 0.3 * p["x2"] ** 2 + 0.05 * p["x3"],
    ),
    "noisy_8": ({f"x{i}": hp.uniform(f"x{i}", 0, 1) for i in range(8)}, _noisy),
}


def shares(forest: Forest) -> dict[str, float]:
    return {i.label: i.fraction for i in forest.importances()}


def study(name: str, n_trials: int, caps: list[int], seeds: int) -> dict:
    space, objective = PROBLEMS[name]
    trials = Trials()
    fmin(objective, space, algo=rand.suggest, max_evals=n_trials, trials=trials,
         rstate=np.random.default_rng(0), show_progressbar=False)  # fmt: skip
    view = from_trials(trials)
    full, full_seconds = [], []
    for seed in range(3):
        start = time.perf_counter()
        full.append(shares(Forest(view, seed=seed, max_trials=None)))
        full_seconds.append(time.perf_counter() - start)
    labels = list(full[0])
    reference = {k: float(np.mean([f[k] for f in full])) for k in labels}

    def error(found: dict[str, float]) -> float:
        return 100 * max(abs(found[k] - reference[k]) for k in labels)

    entry: dict = {
        "trials": n_trials,
        "ok": len(view.ok),
        "reference": {k: round(v, 4) for k, v in reference.items()},
        "full_fit_seconds": round(float(np.mean(full_seconds)), 2),
        "full_fit_noise_points": round(max(error(f) for f in full), 3),
        "caps": {},
    }
    for cap in caps:
        errors, seconds = [], []
        for seed in range(seeds):
            start = time.perf_counter()
            errors.append(error(shares(Forest(view, seed=100 + seed, max_trials=cap))))
            seconds.append(time.perf_counter() - start)
        entry["caps"][str(cap)] = {
            "max_error_points": round(max(errors), 3),
            "median_error_points": round(float(np.median(errors)), 3),
            "seconds": round(float(np.mean(seconds)), 2),
        }
        print(name, cap, entry["caps"][str(cap)], flush=True)
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20_000)
    parser.add_argument("--caps", type=int, nargs="+", default=[500, 1000, 2000, 3000, 5000, 10_000])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in args.problems:
        key = f"{name}-{args.trials}"
        if key in results:
            print(key, "recorded")
            continue
        results[key] = study(name, args.trials, args.caps, args.seeds)
        print(key, json.dumps({k: v for k, v in results[key].items() if k != "caps"}), flush=True)
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
