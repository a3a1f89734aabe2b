"""A tuning script for `spark-submit`:

    PYSPARK_PYTHON=$(which python) spark-submit --master local[4] examples/spark_submit_tuning.py

The session comes from spark-submit (its --master is kept); trials run as Spark jobs.
"""

import sys

import numpy as np
from pyspark.sql import SparkSession

from parzen import SparkTrials, fmin, hp, space_eval, tpe

SPACE = {
    "x": hp.uniform("x", -5, 5),
    "lr": hp.loguniform("lr", np.log(1e-4), np.log(1)),
    "kind": hp.choice("kind", ["adam", "sgd"]),
}


def objective(p):
    penalty = 0.0 if p["kind"] == "adam" else 0.5
    return (p["x"] - 1) ** 2 + (np.log10(p["lr"]) + 2) ** 2 + penalty


def main() -> None:
    spark = SparkSession.builder.appName("parzen-spark-submit").getOrCreate()
    max_evals = int(sys.argv[1]) if len(sys.argv) > 1 else 24
    trials = SparkTrials(spark_session=spark)
    best = fmin(
        objective,
        SPACE,
        algo=tpe.suggest,
        trials=trials,
        max_evals=max_evals,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    print("master:", spark.sparkContext.master)
    print("parallelism:", trials.parallelism)
    print("finished:", trials.n_finished)
    print("best:", space_eval(SPACE, best))
    spark.stop()


if __name__ == "__main__":
    main()
