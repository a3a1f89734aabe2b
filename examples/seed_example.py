"""The seed example: tune a random forest with TPE, trials running on Spark.

Run with `make demo`. With no cluster configured, SparkTrials starts an embedded
local-mode Spark whose executors use this interpreter. `--report FILE` writes the
run's HTML report (figures, best parameters, failures) at the end.
"""

import argparse

from parzen.pyll import scope
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score

from parzen import STATUS_OK, SparkTrials, fmin, hp, space_eval, tpe

X, y = load_breast_cancer(return_X_y=True)

param_space = {
    "criterion": hp.choice("criterion", ["gini", "entropy"]),
    "n_estimators": scope.int(hp.quniform("n_estimators", 10, 100, 10)),
    "max_depth": scope.int(hp.quniform("max_depth", 2, 8, 1)),
    "max_features": hp.choice("max_features", ["sqrt", 10, 15]),
}


def objective(params):
    """Cross-validated accuracy of a random forest; fmin minimises, so return its negative."""
    model = RandomForestClassifier(random_state=0, n_jobs=1, **params)
    accuracy = cross_val_score(model, X, y, cv=3).mean()
    return {"loss": -accuracy, "status": STATUS_OK}


def main(max_evals: int = 40, parallelism: int | None = None, report: str | None = None) -> dict:
    trials = SparkTrials(parallelism=parallelism)
    best = fmin(objective, space=param_space, algo=tpe.suggest, trials=trials, max_evals=max_evals)
    params = space_eval(param_space, best)
    print(f"trials: {len(trials)} ({trials.n_failed} failed), best accuracy {-trials.best_loss:.4f}")
    print("best parameters:", params)
    if report:
        from parzen.plotting import write_report

        print(f"report of this run: {write_report(trials, report)}")
    return params


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", help="write the run's HTML report to this file")
    main(report=parser.parse_args().report)
