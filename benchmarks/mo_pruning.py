"""Pruning with several objectives (issue 25, point 6): the hypervolume each method reaches per unit of
compute, against parzen's unpruned multi-objective run, on the same objectives, in the same script.

    python benchmarks/mo_pruning.py run                              # every workload and method, 5 seeds, both modes
    python benchmarks/mo_pruning.py run --seeds 10 --workloads synthetic --modes sequential
    python benchmarks/mo_pruning.py run --seeds 1 --trials 6 --workloads synthetic --out /tmp/m.json   # smoke
    python benchmarks/mo_pruning.py summary                          # the Markdown tables from the results file

Workloads (each trial reports the vector of its losses after every step, all minimised, and may be stopped;
the data helpers, models and spaces are those of ``benchmarks/pruning.py``):

* ``mlp_digits_size``: pruning.py's ``mlp_digits`` (MLPClassifier on ``load_digits``, 81 epochs of
  ``partial_fit``): (validation log-loss, thousands of weights of the network, the multiply-adds of one
  prediction). The size is known from the first step; only the log-loss evolves.
* ``sgd_digits_sparsity``: SGDClassifier with an elastic-net penalty (``l1_ratio`` from 0, l2, to 1, l1),
  27 epochs on ``load_digits``: (validation error, share of non-zero coefficients). Both evolve.
* ``hgb_cancer_cost``: pruning.py's ``hgb_cancer`` (HistGradientBoosting, 10 rounds per step, 20 steps, on
  ``load_breast_cancer``): (validation log-loss, boosting rounds x ``max_leaf_nodes`` in thousands: the
  size of the model, a proxy of its inference cost). The cost grows with the steps alike for every trial.
* ``synthetic``: noisy learning curves for two conflicting objectives (a ZDT1-shaped front along x0, a
  distance to it from x1 and x2), both falling at a speed set by x3: slow starters end on the front too.

Methods, each with the same compute budget (the steps of ``TRIALS[workload]`` unpruned trials; a pruning
method spends it on more trials): ``parzen_none`` (TPE, unpruned), ``parzen_moasha`` (TPE +
``MOASHAPruner``), ``parzen_asha0`` (TPE + ``ASHAPruner(objective=0)``: successive halving on the first
objective only), ``parzen_hyperband0`` (TPE + ``HyperbandPruner(objective=0)``), ``optuna_none`` (optuna 5's
default sampler for several objectives, TPESampler, unpruned: optuna cannot prune a multi-objective study,
``Trial.report`` raises NotImplementedError there). Successive halving as in pruning.py: the first rung at 3
steps, reduction factor 3. Method options in brackets change the pruner's arguments
(``"parzen_moasha[bootstrap_count=3]"``).

Compute is the number of steps trained, summed over trials, counted as they are reported (running trials
included). A run's quality after some compute is the hypervolume of the Pareto set of the trials finished by
then, against a fixed reference point per workload (`REFERENCE`). The target, one per workload and mode, is
the median over seeds of the final hypervolume of parzen's unpruned run; a run reaches it at the compute
where its hypervolume first gets there. Modes: sequential, and 8 trials in flight (parzen's
``ThreadExecutor``, optuna's ``n_jobs=8``; both in this process, so the same step counter).

Results go to ``results/mo_pruning.json`` as each run ends (a file lock lets several processes share it):
per run the hypervolume at each change and on a grid of 20 compute points, the compute to the current
target, the final hypervolume, the final front. An interrupted run resumes; a run made with other settings
is run again.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import pruning  # noqa: E402  (benchmarks/pruning.py: data, models, spaces, statistics)
from quality import code_version  # noqa: E402

DEFAULT_OUT = HERE / "results" / "mo_pruning.json"
METHODS = ("parzen_none", "parzen_moasha", "parzen_asha0", "parzen_hyperband0", "optuna_none")
MODES = ("sequential", "8 in flight")
GRID = 20  # the hypervolume is stored at budget * i / GRID, i = 1..GRID
MIN_RESOURCE, REDUCTION_FACTOR = pruning.MIN_RESOURCE, pruning.REDUCTION_FACTOR
os.environ.setdefault("OMP_NUM_THREADS", "1")

Report = Callable[[int, list[float]], bool]


# ---- workloads: a curve reports a vector per step and returns the final vector ---------------------------------


def mlp_size(hidden: int) -> float:
    """Thousands of weights (and multiply-adds per prediction) of a 64-hidden-10 network."""
    return (64 * hidden + hidden + hidden * 10 + 10) / 1000


def mlp_digits_size(params: dict[str, Any], report: Report) -> list[float]:
    """pruning.mlp_digits, each report carrying the network's size beside its validation log-loss."""
    size = mlp_size(int(params["hidden"]))
    loss = pruning.mlp_digits(params, lambda step, value: report(step, [value, size]))
    return [loss, size]


def sgd_sparsity_space(lib: Any) -> dict[str, Any]:
    return {
        "alpha": lib.loguniform("alpha", 1e-6, 1e-1),
        "eta0": lib.loguniform("eta0", 1e-4, 1.0),
        "learning_rate": lib.choice("learning_rate", ["constant", "invscaling", "adaptive"]),
        "l1_ratio": lib.uniform("l1_ratio", 0.0, 1.0),
    }


def sgd_digits_sparsity(params: dict[str, Any], report: Report) -> list[float]:
    """A linear SVM by SGD with an elastic-net penalty: validation error against the share of non-zero weights.

    The l1 part zeroes weights as epochs go (sklearn's cumulative l1 penalty), so the
    density falls while the error does, at rates the penalty's strength and mix set.
    """
    from sklearn.linear_model import SGDClassifier

    X_train, X_valid, y_train, y_valid = pruning._data("load_digits")
    model = SGDClassifier(penalty="elasticnet", random_state=0, **params)
    values = [1.0, 1.0]
    for epoch in range(27):
        model.partial_fit(X_train, y_train, classes=np.arange(10))
        values = [1.0 - model.score(X_valid, y_valid), np.count_nonzero(model.coef_) / model.coef_.size]
        if report(epoch, values):
            break
    return values


def hgb_cancer_cost(params: dict[str, Any], report: Report) -> list[float]:
    """pruning.hgb_cancer, each report carrying the model's size (rounds x leaves per tree, thousands)."""
    leaves = int(params["max_leaf_nodes"])
    last = [0]

    def vector(step: int, loss: float) -> bool:
        last[0] = step
        return report(step, [loss, 10 * (step + 1) * leaves / 1000])

    loss = pruning.hgb_cancer(params, vector)
    return [loss, 10 * (last[0] + 1) * leaves / 1000]


def synthetic(params: dict[str, Any], report: Report) -> list[float]:
    """Two conflicting objectives on learning curves: floors on a ZDT1-shaped front, speed from x3, noise.

    x0 places a trial along the front (f1 = x0, f2 = 1 - sqrt(x0)), x1 and x2 its distance
    from it; both losses fall as ``(1 - x3 / 2) exp(-(0.05 + x3 / 2) (step + 1))``, so a slow
    starter (x3 near 0) looks bad at the first rungs and may still end on the front.
    """
    x = np.array([params[f"x{i}"] for i in range(4)])
    distance = float(np.sum((x[1:3] - 0.3) ** 2))
    floors = (x[0] + distance, 1.0 - math.sqrt(x[0]) + distance)
    speed, height = 0.05 + 0.5 * x[3], 1.0 - 0.5 * x[3]
    rng = np.random.default_rng(abs(hash(tuple(np.round(x, 9)))) % 2**32)
    values = [1.0, 1.0]
    for step in range(30):
        decay = height * math.exp(-speed * (step + 1))
        values = [floor + decay + 0.01 * rng.normal() for floor in floors]
        if report(step, values):
            break
    return values


WORKLOADS: dict[str, tuple[Callable[..., dict[str, Any]], Callable[..., list[float]]]] = {
    "mlp_digits_size": (pruning.mlp_space, mlp_digits_size),
    "sgd_digits_sparsity": (sgd_sparsity_space, sgd_digits_sparsity),
    "hgb_cancer_cost": (pruning.hgb_space, hgb_cancer_cost),
    "synthetic": (pruning.synthetic_space, synthetic),
}
OBJECTIVES = {
    "mlp_digits_size": ["log_loss", "kweights"],
    "sgd_digits_sparsity": ["error", "density"],
    "hgb_cancer_cost": ["log_loss", "krounds_x_leaves"],
    "synthetic": ["f1", "f2"],
}
# Fixed per workload, worse than every useful trade-off: a model at or beyond it in one objective adds nothing.
REFERENCE = {
    "mlp_digits_size": [0.5, 10.0],  # log-loss of a poor digits model; the largest network has 9.6k weights
    "sgd_digits_sparsity": [0.25, 1.0],  # a quarter misclassified; every weight non-zero
    "hgb_cancer_cost": [0.5, 13.0],  # log-loss near the prior's (0.66); 200 rounds x 64 leaves = 12.8k
    "synthetic": [1.2, 1.2],
}
FULL_STEPS = {"mlp_digits_size": 81, "sgd_digits_sparsity": 27, "hgb_cancer_cost": 20, "synthetic": 30}
TRIALS = {"mlp_digits_size": 30, "sgd_digits_sparsity": 40, "hgb_cancer_cost": 30, "synthetic": 60}
DATASETS = {
    "mlp_digits_size": "load_digits",
    "sgd_digits_sparsity": "load_digits",
    "hgb_cancer_cost": "load_breast_cancer",
}


# ---- methods ------------------------------------------------------------------------------------------------------


def parse_method(method: str) -> tuple[str, str, dict[str, Any]]:
    """``"parzen_moasha[bootstrap_count=3]"`` -> ("parzen", "moasha", {"bootstrap_count": 3})."""
    name, _, rest = method.partition("[")
    library, _, pruner = name.partition("_")
    options: dict[str, Any] = {}
    for item in filter(None, rest.rstrip("]").split(",")):
        key, _, value = item.partition("=")
        options[key.strip()] = json.loads(value) if value.strip()[:1].isdigit() or value in ("true", "false") else value
    if library not in ("parzen", "optuna") or pruner not in PRUNERS or (library == "optuna" and pruner != "none"):
        raise ValueError(f"unknown method {method!r}; valid: {METHODS} (parzen ones may take [option=value,...])")
    return library, pruner, options


def _base_options(pruner: str, workload: str) -> dict[str, Any]:
    if pruner == "none":
        return {}
    options: dict[str, Any] = {"min_resource": MIN_RESOURCE, "reduction_factor": REDUCTION_FACTOR}
    if pruner == "hyperband0":
        options["max_resource"] = FULL_STEPS[workload]
    if pruner in ("asha0", "hyperband0"):
        options["objective"] = 0
    return options


def _pruner_classes() -> dict[str, Any]:
    from parzen import pruners

    return {
        "none": None,
        "moasha": pruners.MOASHAPruner,
        "asha0": pruners.ASHAPruner,
        "hyperband0": pruners.HyperbandPruner,
    }


PRUNERS = ("none", "moasha", "asha0", "hyperband0")


def settings(method: str, workload: str) -> str:
    """What a run was made with (stored beside it: a cached run with other settings is run again)."""
    _, pruner, options = parse_method(method)
    merged = {**_base_options(pruner, workload), **options}
    return f"{pruner}({', '.join(f'{k}={v}' for k, v in sorted(merged.items()))})"


def make_pruner(method: str, workload: str) -> Any:
    _, pruner, options = parse_method(method)
    cls = _pruner_classes()[pruner]
    return None if cls is None else cls(**{**_base_options(pruner, workload), **options})


class Recorder:
    """Steps trained and (compute, wall time, losses) at each finished trial, thread-safe; the budget.

    pruning.py's recorder with a vector per trial, the budget (trials still running stop
    at their next report once it is spent: what finishes after it does not count) and
    counts of trials started and pruned. A run's threads are all gone before the next
    run starts (`wait_idle`).
    """

    def __init__(self, budget: int, in_flight: int) -> None:
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.budget, self.in_flight = budget, in_flight
        self.steps = self.started = self.pruned = self.active = 0
        self.start = time.perf_counter()
        self.finished: list[tuple[int, float, list[float]]] = []

    def step(self) -> None:
        with self.lock:
            self.steps += 1

    def done(self, values: list[float]) -> None:
        with self.lock:
            self.finished.append((self.steps, time.perf_counter() - self.start, values))

    @property
    def spent(self) -> bool:
        return self.steps >= self.budget

    @contextlib.contextmanager
    def trial(self) -> Iterator[None]:
        with self.lock:
            self.started += 1
            self.active += 1
        try:
            yield
        finally:
            with self.lock:
                self.active -= 1
                self.idle.notify_all()

    def wait_idle(self) -> None:
        with self.idle:
            self.idle.wait_for(lambda: self.active == 0)

    def count_pruned(self) -> None:
        with self.lock:
            self.pruned += 1


def run_curve(curve: Callable[..., list[float]], params: dict[str, Any], recorder: Recorder, ask: Report) -> Any:
    """The curve with reports counted, answered by `ask` (the library's pruner) until the budget is spent.

    Returns the final vector, or None when the trial was stopped (by the pruner or the budget).
    """
    stopped = [False]

    def report(step: int, values: list[float]) -> bool:
        if recorder.in_flight:
            time.sleep(0.001)  # let the other trials in flight step too (a synthetic curve would not yield the GIL)
        recorder.step()
        stopped[0] = recorder.spent or ask(step, values)
        if stopped[0] and not recorder.spent:
            recorder.count_pruned()
        return stopped[0]

    with recorder.trial():
        values = [float(v) for v in curve(params, report)]
        if stopped[0]:
            return None
        recorder.done(values)
        return values


def parzen_run(workload: str, method: str, seed: int, budget: int, in_flight: int) -> Recorder:
    """parzen's TPE on the workload until `budget` steps are trained, in process or in 8 driver threads."""
    import parzen
    from parzen.executors.threads import ThreadExecutor

    space_fn, curve = WORKLOADS[workload]
    recorder = Recorder(budget, in_flight)

    def objective(params: dict[str, Any]) -> dict[str, Any]:
        values = run_curve(curve, params, recorder, parzen.report)
        if values is None:
            raise parzen.TrialPruned()
        return {"loss": values, "status": "ok"}

    if workload in DATASETS:
        pruning._data(DATASETS[workload])  # before the threads start
    with contextlib.suppress(parzen.exceptions.AllTrialsFailed):  # nothing finished within the budget: HV 0
        parzen.fmin(
            objective,
            space_fn(pruning._ParzenSpace()),
            algo=parzen.tpe.suggest,
            max_evals=100 * budget,
            trials=parzen.Trials(),
            pruner=make_pruner(method, workload),
            early_stop_fn=lambda trials, *state: (recorder.spent, state),
            rstate=np.random.default_rng(seed),
            show_progressbar=False,
            executor=(lambda fn: ThreadExecutor(fn, parallelism=in_flight)) if in_flight else None,
            objectives=OBJECTIVES[workload],
        )
    recorder.wait_idle()
    return recorder


def optuna_run(workload: str, method: str, seed: int, budget: int, in_flight: int) -> Recorder:
    """optuna's default multi-objective sampler (TPESampler), unpruned, until `budget` steps are trained."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space_fn, curve = WORKLOADS[workload]
    recorder = Recorder(budget, in_flight)
    sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=in_flight > 0)
    study = optuna.create_study(directions=["minimize"] * len(OBJECTIVES[workload]), sampler=sampler)

    def objective(trial: Any) -> tuple[float, ...]:
        values = run_curve(curve, space_fn(pruning._OptunaSpace(trial)), recorder, lambda step, values: False)
        if values is None:
            raise optuna.TrialPruned()  # only the budget stops an optuna trial
        return tuple(values)

    if workload in DATASETS:
        pruning._data(DATASETS[workload])

    def stop_at_budget(study: Any, trial: Any) -> None:
        if recorder.spent:
            study.stop()

    study.optimize(objective, n_trials=100 * budget, n_jobs=max(1, in_flight), callbacks=[stop_at_budget])
    recorder.wait_idle()
    return recorder


# ---- hypervolume against compute -----------------------------------------------------------------------------------


def hv_curve(finished: list[tuple[int, float, list[float]]], reference: list[float]) -> list[list[float]]:
    """[steps, seconds, hypervolume] at each finished trial that raised the hypervolume, in order of compute."""
    from parzen import hypervolume

    points: list[list[float]] = []
    curve: list[list[float]] = []
    best = 0.0
    for steps, seconds, values in finished:
        points.append(values)
        hv = hypervolume(points, reference)
        if hv > best:
            best = hv
            curve.append([steps, round(seconds, 3), hv])
    return curve


def hv_at(curve: list[list[float]], compute: float) -> float:
    """The hypervolume once `compute` steps had been trained (0 before a trial finished inside the reference)."""
    return max((hv for steps, _, hv in curve if steps <= compute), default=0.0)


def compute_to(curve: list[list[float]], target: float, budget: float) -> tuple[float, float]:
    """(steps, seconds) at which the hypervolume first reached `target` within the budget (inf if never)."""
    for steps, seconds, hv in curve:
        if steps > budget:
            break
        if hv >= target - 1e-12:
            return float(steps), seconds
    return math.inf, math.inf


def front_at(finished: list[tuple[int, float, list[float]]], compute: float) -> list[list[float]]:
    """The Pareto set of the trials finished by `compute` (what ``trials.best_trials`` held then)."""
    from parzen.trial.pareto import pareto_mask

    points = np.array([values for steps, _, values in finished if steps <= compute], dtype=float)
    if not len(points):
        return []
    front = np.unique(points[pareto_mask(points)], axis=0)
    return [[round(float(v), 6) for v in row] for row in front]


def run_record(workload: str, method: str, recorder: Recorder, budget: int) -> dict[str, Any]:
    """What the results file keeps of one run (compact: no per-trial rows)."""
    curve = hv_curve(recorder.finished, REFERENCE[workload])
    return {
        "settings": settings(method, workload),
        "code": code_version(parse_method(method)[0]),
        "budget": budget,
        "steps": recorder.steps,
        "seconds": round(time.perf_counter() - recorder.start, 2),
        "trials": recorder.started,
        "pruned": recorder.pruned,
        "finished": sum(steps <= budget for steps, *_ in recorder.finished),
        "hv_curve": curve,
        "hv_grid": [hv_at(curve, budget * i / GRID) for i in range(1, GRID + 1)],
        "final_hv": hv_at(curve, budget),
        "front": front_at(recorder.finished, budget),
    }


# ---- the results file ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def locked(path: Path) -> Iterator[dict[str, Any]]:
    """The results file, read and rewritten under a lock (several processes may add runs to it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(path.read_text()) if path.exists() else {}
        data.setdefault("runs", {})
        yield data
        data["reference"] = REFERENCE
        annotate(data["runs"])
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, separators=(",", ":")))
        tmp.replace(path)


def run_key(workload: str, mode: str, method: str, seed: int) -> str:
    return f"{workload}/{mode}/{method}/{seed}"


def _runs(runs: dict[str, Any], workload: str, mode: str, method: str, seeds: range | None = None) -> list[Any]:
    """The method's runs made with its current settings, by seed (all seeds in the file unless `seeds`)."""
    prefix = f"{workload}/{mode}/{method}/"
    wanted = settings(method, workload)
    found = {int(k[len(prefix) :]): r for k, r in runs.items() if k.startswith(prefix) and r["settings"] == wanted}
    return [found[s] for s in sorted(found) if seeds is None or s in seeds]


def target(runs: dict[str, Any], workload: str, mode: str, seeds: range | None = None) -> float | None:
    """The median final hypervolume of parzen's unpruned runs (None before one exists)."""
    base = _runs(runs, workload, mode, "parzen_none", seeds)
    return float(np.median([r["final_hv"] for r in base])) if base else None


def annotate(runs: dict[str, Any]) -> None:
    """Give every run its setting's current target and its compute to it (the target moves as seeds are added)."""
    for key, run in runs.items():
        workload, mode, *_ = key.split("/")
        if workload not in WORKLOADS:
            continue
        goal = target(runs, workload, mode)
        if goal is not None:
            run["target"] = goal
            run["to_target"] = compute_to(run["hv_curve"], goal, run["budget"])[0]


# ---- summary ------------------------------------------------------------------------------------------------------


def summarise(runs: dict[str, Any], workload: str, mode: str, methods: list[str], seeds: range | None) -> list[Any]:
    """Per method: seeds reaching the target, compute to it (and the ratio to unpruned), final hypervolume, tests.

    As in pruning.py: a method's compute to the target is the compute by which half its
    seeds had reached it (the ceil(n/2)-th smallest, infinite when fewer than half did);
    the unpruned run is measured the same way, and 'x fewer steps' is its compute over
    the method's, with an 80% bootstrap interval over the seeds of both. The final
    hypervolumes are compared to the unpruned run's by a two-sided Mann-Whitney test.
    """
    from scipy.stats import mannwhitneyu

    goal = target(runs, workload, mode, seeds)
    base = _runs(runs, workload, mode, "parzen_none", seeds)
    if goal is None:
        return []
    base_to = [compute_to(r["hv_curve"], goal, r["budget"])[0] for r in base]
    base_final = [r["final_hv"] for r in base]
    rows = []
    for method in methods:
        found = _runs(runs, workload, mode, method, seeds)
        if not found:
            continue
        to = [compute_to(r["hv_curve"], goal, r["budget"])[0] for r in found]
        final = [r["final_hv"] for r in found]
        half = [r["hv_grid"][GRID // 2 - 1] for r in found]
        compute = pruning._half_reached(to)
        base_compute = pruning._half_reached(base_to)
        same = method == "parzen_none"
        rows.append(
            {
                "method": method,
                "seeds": len(found),
                "reached": sum(math.isfinite(c) for c in to),
                "target": goal,
                "budget": float(np.median([r["budget"] for r in found])),
                "compute": compute,
                "ratio": base_compute / compute if math.isfinite(compute) else math.nan,
                "interval": pruning.ratio_interval(base_to, to),
                "final_hv": float(np.median(final)),
                "half_hv": float(np.median(half)),
                "p": math.nan if same else float(mannwhitneyu(final, base_final, alternative="two-sided").pvalue),
                "beats": pruning.beat_probability([-v for v in final], [-v for v in base_final]),
                "half_beats": pruning.beat_probability([-v for v in half], [-v for v in base_final]),
                "trials": float(np.median([r["trials"] for r in found])),
                "pruned": float(np.median([r["pruned"] / max(1, r["trials"]) for r in found])),
            }
        )
    return rows


def _row(row: dict[str, Any]) -> str:
    if math.isfinite(row["compute"]):
        compute, ratio = f"{row['compute']:.0f}", f"{row['ratio']:.2f}x"
    else:
        compute, ratio = "not reached", "-"
    low, high = row["interval"]
    interval = "-" if math.isnan(low) else f"{low:.2f}-{high:.2f}x".replace("inf", "∞")
    p = "-" if math.isnan(row["p"]) else f"{row['p']:.3f}"
    return (
        f"| {row['method']} | {row['reached']}/{row['seeds']} | {compute} | {ratio} | {interval} | "
        f"{row['final_hv']:.4g} | {row['beats']:.2f} | {p} | {row['half_hv']:.4g} | {row['half_beats']:.2f} | "
        f"{row['trials']:.0f} | {row['pruned']:.0%} |"
    )


def render(runs: dict[str, Any], methods: list[str], seeds: range | None = None) -> str:
    """The Markdown tables, one per workload and mode."""
    lines = [
        "## Pruning with several objectives: hypervolume per unit of compute",
        "",
        "Every method trains until the same compute budget is spent (the steps of a fixed number of unpruned "
        "trials). Quality is the hypervolume of the Pareto set of the finished trials against a fixed "
        "reference point per workload. The target is the median final hypervolume of parzen's unpruned run; "
        "'compute to target' is the steps by which half the seeds had reached it ('not reached' when fewer "
        "than half did), 'x fewer steps' the unpruned run's compute to target over the method's (80% "
        "bootstrap interval over seeds). 'final HV' is the median hypervolume at the budget; 'beats' the "
        "probability that a run of the method ends above an unpruned run (ties half), p its two-sided "
        "Mann-Whitney test; 'HV at half' and 'half beats' read the runs at half the budget against the "
        "unpruned run at the full budget. Successive halving: first rung at 3 steps, reduction factor 3. "
        "optuna cannot prune a multi-objective study (optuna 5.1: `Trial.report` raises NotImplementedError), "
        "so its row is unpruned. 8 in flight: parzen's ThreadExecutor, optuna's n_jobs=8 (constant liar), "
        "steps counted as reported. Regenerate: `python benchmarks/mo_pruning.py run` then `summary`.",
        "",
    ]
    for workload in WORKLOADS:
        for mode in MODES:
            rows = summarise(runs, workload, mode, methods, seeds)
            if not rows:
                continue
            budget = rows[0]["budget"]
            lines += [
                f"### {workload}, {mode}",
                "",
                f"Objectives {OBJECTIVES[workload]}, reference {REFERENCE[workload]}; budget {budget:.0f} steps "
                f"({budget / FULL_STEPS[workload]:.0f} unpruned trials), target HV {rows[0]['target']:.4g}.",
                "",
                "| method | reached | compute to target | x fewer steps | 80% interval | final HV | beats unpruned "
                "| p | HV at half | half beats unpruned full | trials | pruned |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|",
                *(_row(row) for row in rows),
                "",
            ]
    return "\n".join(lines)


# ---- command line ---------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    for method in args.methods:
        parse_method(method)  # refuse a bad name before hours of runs
    for workload in args.workloads:
        for mode in args.modes:
            in_flight = 8 if mode != "sequential" else 0
            for seed in range(args.seed_from, args.seeds):
                for method in args.methods:
                    key = run_key(workload, mode, method, seed)
                    with locked(args.out) as data:
                        if data["runs"].get(key, {}).get("settings") == settings(method, workload):
                            continue
                    budget = (args.trials or TRIALS[workload]) * FULL_STEPS[workload]
                    runner = parzen_run if method.startswith("parzen") else optuna_run
                    recorder = runner(workload, method, seed, budget, in_flight)
                    record = run_record(workload, method, recorder, budget)
                    with locked(args.out) as data:
                        data["runs"][key] = record
                    print(
                        f"{key}: {record['trials']} trials ({record['pruned']} pruned), final HV "
                        f"{record['final_hv']:.4g}, {record['seconds']:.0f} s",
                        flush=True,
                    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    go = commands.add_parser("run", help="run (or resume) the benchmark, then print the summary")
    go.add_argument("--seeds", type=int, default=5)
    go.add_argument("--seed-from", type=int, default=0, help="the first seed (to split seeds between processes)")
    go.add_argument("--trials", type=int, help="compute budget: this many unpruned trials' steps (default: TRIALS)")
    go.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    go.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    go.add_argument("--methods", nargs="+", default=list(METHODS))
    show = commands.add_parser("summary", help="print the Markdown tables from the results file")
    show.add_argument("--seeds", type=int, help="only seeds below this (default: every seed in the file)")
    show.add_argument("--methods", nargs="+", help="rows (default: the main methods, then any variant in the file)")
    for command in (go, show):
        command.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args)
    with locked(args.out) as data:
        runs = data["runs"]
    methods = args.methods or _methods_in(runs)
    print(render(runs, methods, range(args.seeds) if args.seeds else None))
    return 0


def _methods_in(runs: dict[str, Any]) -> list[str]:
    """The main methods first, then the variants the file holds."""
    found = {key.split("/")[2] for key in runs}
    return [*METHODS, *sorted(found - set(METHODS))]


if __name__ == "__main__":
    sys.exit(main())
