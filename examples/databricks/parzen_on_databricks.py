# Databricks notebook source
# MAGIC %md
# MAGIC # Hyperparameter tuning with parzen (hyperopt's API) on Databricks
# MAGIC
# MAGIC hyperopt left the Databricks ML runtimes after 16.4 LTS. parzen keeps its API (`fmin`, `hp`, `tpe`,
# MAGIC `SparkTrials`) and its automatic MLflow tracking: one parent run per `fmin`, one child run per trial.
# MAGIC This notebook runs unchanged on a dedicated (classic) cluster and on standard access mode or
# MAGIC serverless compute (Spark Connect, no `sparkContext`): it only uses the notebook's `spark`.

# COMMAND ----------

# MAGIC %pip install parzen

# COMMAND ----------

import mlflow
import numpy as np
from parzen.pyll import scope
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score

from parzen import STATUS_OK, SparkTrials, fmin, hp, space_eval, tpe

X, y = load_breast_cancer(return_X_y=True)  # ships with scikit-learn: no download
MAX_EVALS = 32

# COMMAND ----------

# MAGIC %md
# MAGIC ## The search space and the objective
# MAGIC `mlflow.log_metric` inside the objective needs no `start_run`: it lands in the trial's child run,
# MAGIC on the executor that runs the trial.

# COMMAND ----------

space = {
    "criterion": hp.choice("criterion", ["gini", "entropy"]),
    "n_estimators": scope.int(hp.quniform("n_estimators", 10, 60, 10)),
    "max_depth": scope.int(hp.quniform("max_depth", 2, 8, 1)),
    "max_features": hp.choice("max_features", ["sqrt", 0.5, 1.0]),
}


def objective(params):
    model = RandomForestClassifier(random_state=0, n_jobs=1, **params)
    accuracy = float(np.mean(cross_val_score(model, X, y, cv=3)))
    mlflow.log_metric("cv_accuracy", accuracy)
    return {"loss": -accuracy, "status": STATUS_OK}


# COMMAND ----------

# MAGIC %md
# MAGIC ## Tune on the cluster
# MAGIC 24 trials run at once, each a Spark job of its own; tracking is automatic on Databricks.

# COMMAND ----------

trials = SparkTrials(parallelism=24, spark_session=spark)
best = fmin(objective, space, algo=tpe.suggest, max_evals=MAX_EVALS, trials=trials)
best_params = space_eval(space, best)  # values, not choice indices (the same as trials.best_params)
print("best parameters:", best_params)

# COMMAND ----------

# MAGIC %md
# MAGIC ## The MLflow runs
# MAGIC The queries that worked with Databricks' hyperopt work here: the parent run is tagged
# MAGIC `runSource = hyperoptAutoTracking`, its children carry `mlflow.parentRunId`. Choices are logged as
# MAGIC their values (`params.criterion = 'gini'`), the index alongside (`params.criterion.index`).

# COMMAND ----------

parent = mlflow.search_runs(
    filter_string="tags.runSource = 'hyperoptAutoTracking'", order_by=["start_time DESC"], max_results=1
)
parent_run_id = parent.loc[0, "run_id"]
display(parent[["run_id", "metrics.best_trial_loss", "metrics.successful_trials_count", "tags.best_trial_run_id"]])

children = mlflow.search_runs(filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'", order_by=["metrics.loss"])
columns = ["tags.parzen.tid", "params.criterion", "params.n_estimators", "params.max_depth", "params.max_features"]
display(children[columns + ["metrics.loss", "metrics.cv_accuracy", "tags.trial_status"]])

# COMMAND ----------

best_run = mlflow.get_run(parent.loc[0, "tags.best_trial_run_id"])
print("best trial's run:", best_run.info.run_id, best_run.data.params)
