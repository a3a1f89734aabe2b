"""Problems of the portfolio benchmark: COCO's BBOB functions and a scikit-learn tuning suite.

BBOB: function f (1-24) in dimension d, instance i, on its box [-5, 5]^d written as d ``hp.uniform``;
the loss is the regret f(x) - f(xopt). An instance is one replicate.

scikit-learn: in the style of the 2020 black-box optimisation challenge (bayesmark): a model, a data
set that ships with scikit-learn and a metric, the search space of bayesmark's model (log scales and
integers as there), the loss a 3-fold cross-validated error. The fold split is fixed per problem,
so the loss is a deterministic function of the point.
"""

from __future__ import annotations

import functools
import math
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Task:
    """One problem: a parzen space builder and a loss of the flat point."""

    name: str
    group: str  # BBOB: the function group; scikit-learn: the model
    build_space: Callable[[], Any]
    loss: Callable[[dict[str, Any]], float]


# --- BBOB -------------------------------------------------------------------------------------------------

BBOB_GROUPS = {
    "separable": range(1, 6),
    "moderate": range(6, 10),
    "ill-conditioned": range(10, 15),
    "multimodal": range(15, 20),
    "weak structure": range(20, 25),
}


def bbob_group(f: int) -> str:
    return next(name for name, fs in BBOB_GROUPS.items() if f in fs)


@functools.cache
def _suite() -> Any:
    import cocoex

    return cocoex.Suite("bbob", "instances:1-100", "")


@functools.cache
def _optimum(f: int, d: int, i: int) -> float:
    """f(xopt): cocoex writes xopt to a file in the working directory, so ask it in a temporary one."""
    problem = _suite().get_problem_by_function_dimension_instance(f, d, i)
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            problem._best_parameter("print")
            xopt = np.atleast_1d(np.loadtxt("._bbob_problem_best_parameter.txt"))
        finally:
            os.chdir(here)
    return float(problem(xopt))


def bbob(f: int, d: int, i: int) -> Task:
    problem = _suite().get_problem_by_function_dimension_instance(f, d, i)
    best = _optimum(f, d, i)
    labels = [f"x{j}" for j in range(d)]

    def build_space() -> dict:
        from parzen import hp

        return {label: hp.uniform(label, -5.0, 5.0) for label in labels}

    def loss(point: dict[str, Any]) -> float:
        return max(float(problem(np.array([point[label] for label in labels]))) - best, 0.0)

    return Task(f"bbob_f{f}_d{d}", bbob_group(f), build_space, loss)


# --- scikit-learn (bayesmark's models and spaces) -----------------------------------------------------------


@functools.cache
def _data(name: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """(X, y, is_classification), features standardised as bayesmark does."""
    from sklearn import datasets
    from sklearn.preprocessing import StandardScaler

    loader = {
        "breast": datasets.load_breast_cancer,
        "digits": datasets.load_digits,
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
        "diabetes": datasets.load_diabetes,
    }[name]
    x, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(x), y, name != "diabetes"


def _space_dt(hp: Any) -> dict:
    return {
        "max_depth": hp.uniformint("max_depth", 1, 15),
        "min_samples_split": hp.uniform("min_samples_split", 0.01, 0.99),
        "min_samples_leaf": hp.uniform("min_samples_leaf", 0.01, 0.49),
        "min_weight_fraction_leaf": hp.uniform("min_weight_fraction_leaf", 0.01, 0.49),
        "max_features": hp.uniform("max_features", 0.01, 0.99),
        "min_impurity_decrease": hp.uniform("min_impurity_decrease", 0.0, 0.5),
    }


def _space_svm(hp: Any) -> dict:
    return {
        "C": hp.loguniform("C", math.log(1.0), math.log(1e3)),
        "gamma": hp.loguniform("gamma", math.log(1e-4), math.log(1e-3)),
        "tol": hp.loguniform("tol", math.log(1e-5), math.log(1e-1)),
    }


def _space_knn(hp: Any) -> dict:
    return {"n_neighbors": hp.uniformint("n_neighbors", 1, 25), "p": hp.uniformint("p", 1, 4)}


def _space_ada(hp: Any) -> dict:
    return {
        "n_estimators": hp.uniformint("n_estimators", 10, 100),
        "learning_rate": hp.loguniform("learning_rate", math.log(1e-4), math.log(1e1)),
    }


def _space_lasso(hp: Any) -> dict:
    return {
        "C": hp.loguniform("C", math.log(1e-2), math.log(1e2)),
        "intercept_scaling": hp.loguniform("intercept_scaling", math.log(1e-2), math.log(1e2)),
    }


def _space_mlp(hp: Any) -> dict:
    return {
        "hidden_layer_sizes": hp.uniformint("hidden_layer_sizes", 50, 200),
        "alpha": hp.loguniform("alpha", math.log(1e-5), math.log(1e1)),
        "batch_size": hp.uniformint("batch_size", 10, 250),
        "learning_rate_init": hp.loguniform("learning_rate_init", math.log(1e-5), math.log(1e-1)),
        "tol": hp.loguniform("tol", math.log(1e-5), math.log(1e-1)),
        "validation_fraction": hp.uniform("validation_fraction", 0.1, 0.9),
        "beta_1": hp.uniform("beta_1", 0.5, 0.99),
        "beta_2": hp.uniform("beta_2", 0.9, 1.0 - 1e-6),
        "epsilon": hp.loguniform("epsilon", math.log(1e-9), math.log(1e-6)),
    }


def _space_hgb(hp: Any) -> dict:
    """Histogram gradient boosting with early stopping: 11 numeric parameters (not one of bayesmark's spaces:
    a numeric tuning problem past ten parameters, where auto's rule decides between local search and the GP)."""
    return {
        "learning_rate": hp.loguniform("learning_rate", math.log(1e-3), math.log(1.0)),
        "max_iter": hp.uniformint("max_iter", 10, 200),
        "max_leaf_nodes": hp.uniformint("max_leaf_nodes", 2, 64),
        "max_depth": hp.uniformint("max_depth", 2, 12),
        "min_samples_leaf": hp.uniformint("min_samples_leaf", 1, 60),
        "l2_regularization": hp.loguniform("l2_regularization", math.log(1e-6), math.log(10.0)),
        "max_features": hp.uniform("max_features", 0.1, 1.0),
        "max_bins": hp.uniformint("max_bins", 16, 255),
        "validation_fraction": hp.uniform("validation_fraction", 0.1, 0.3),
        "n_iter_no_change": hp.uniformint("n_iter_no_change", 2, 20),
        "tol": hp.loguniform("tol", math.log(1e-7), math.log(1e-1)),
    }


def _space_rf(hp: Any) -> dict:
    space = _space_dt(hp)
    space["criterion"] = hp.choice("criterion", ["gini", "entropy"])  # a categorical, as bayesmark's RF has
    return space


def _model(model: str, params: dict[str, Any], classification: bool) -> Any:
    from sklearn import ensemble, linear_model, neighbors, neural_network, svm, tree

    p = dict(params)
    integers = ["max_depth", "n_neighbors", "p", "n_estimators", "hidden_layer_sizes", "batch_size"]
    if model == "hgb":  # dt's min_samples_leaf is a fraction; hgb's a count
        integers += ["max_iter", "max_leaf_nodes", "min_samples_leaf", "max_bins", "n_iter_no_change"]
    for name in integers:
        if name in p:
            p[name] = int(round(p[name]))
    if model == "dt":
        cls = tree.DecisionTreeClassifier if classification else tree.DecisionTreeRegressor
        return cls(random_state=0, **p)
    if model == "rf":
        criterion = ("gini", "entropy")[p.pop("criterion")] if classification else "squared_error"
        p.pop("criterion", None)
        cls = ensemble.RandomForestClassifier if classification else ensemble.RandomForestRegressor
        return cls(n_estimators=10, criterion=criterion, random_state=0, **p)
    if model == "svm":
        return svm.SVC(**p) if classification else svm.SVR(**p)
    if model == "knn":
        return neighbors.KNeighborsClassifier(**p) if classification else neighbors.KNeighborsRegressor(**p)
    if model == "ada":
        cls = ensemble.AdaBoostClassifier if classification else ensemble.AdaBoostRegressor
        return cls(random_state=0, **p)
    if model == "lasso":
        if classification:
            return linear_model.LogisticRegression(solver="liblinear", l1_ratio=1.0, **p)
        return linear_model.Lasso(alpha=1.0 / p["C"], random_state=0)
    if model == "hgb":
        cls = ensemble.HistGradientBoostingClassifier if classification else ensemble.HistGradientBoostingRegressor
        return cls(early_stopping=True, random_state=0, **p)
    if model == "mlp":
        cls = neural_network.MLPClassifier if classification else neural_network.MLPRegressor
        return cls(solver="adam", early_stopping=True, max_iter=40, random_state=0, **p)
    raise ValueError(model)


SPACES = {
    "dt": _space_dt,
    "rf": _space_rf,
    "svm": _space_svm,
    "knn": _space_knn,
    "ada": _space_ada,
    "lasso": _space_lasso,
    "mlp": _space_mlp,
    "hgb": _space_hgb,
}
# (model, data): the cheap-enough pairs of bayesmark's grid on this 2-core machine
SKLEARN_PROBLEMS = (
    ("dt", "breast"),
    ("dt", "wine"),
    ("dt", "diabetes"),
    ("rf", "breast"),
    ("rf", "wine"),
    ("svm", "breast"),
    ("svm", "digits"),
    ("svm", "wine"),
    ("knn", "breast"),
    ("knn", "digits"),
    ("ada", "breast"),
    ("ada", "wine"),
    ("lasso", "breast"),
    ("lasso", "digits"),
    ("mlp", "iris"),
    ("mlp", "wine"),
)


def sklearn_task(model: str, data: str) -> Task:
    """1 - accuracy (classification) or the mean absolute error over y's spread (regression), 3-fold."""
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

    x, y, classification = _data(data)
    folds = (
        StratifiedKFold(3, shuffle=True, random_state=0) if classification else KFold(3, shuffle=True, random_state=0)
    )
    scale = float(np.std(y))

    def build_space() -> dict:
        from parzen import hp

        return SPACES[model](hp)

    def loss(point: dict[str, Any]) -> float:
        estimator = _model(model, point, classification)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scoring = "accuracy" if classification else "neg_mean_absolute_error"
            score = float(np.mean(cross_val_score(estimator, x, y, cv=folds, scoring=scoring)))
        return 1.0 - score if classification else -score / scale

    return Task(f"sk_{model}_{data}", model, build_space, loss)


# --- mixed and conditional (the quality suite's problems, benchmarks/problems.py) -------------------------

# name -> family: "mixed" (numeric and categorical, flat), "conditional" (parameters active under some choices)
MIXED_PROBLEMS = {
    "mixed": "mixed",
    "svc": "mixed",
    "distractor": "mixed",
    "conditional": "conditional",
    "decoy": "conditional",
}


def mixed_task(name: str) -> Task:
    """A quality-suite problem; the loss is the regret of the evaluated point (its value where no optimum is known)."""
    from problems import PROBLEMS

    problem = PROBLEMS[name]
    compiled: dict[str, Any] = {}

    def build_space() -> Any:
        from parzen.space import compile_space

        space = problem.space("parzen")
        compiled["space"] = compile_space(space)
        return space

    def loss(point: dict[str, Any]) -> float:
        if "space" not in compiled:
            build_space()
        value = float(problem.objective(compiled["space"].eval(point)))
        return value - problem.optimum if problem.optimum is not None else value

    return Task(name, MIXED_PROBLEMS[name], build_space, loss)
