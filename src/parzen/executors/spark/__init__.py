"""Trials on Apache Spark: `SparkTrials` and the executors it chooses from.

* `trials`: `SparkTrials`, hyperopt's API (``parallelism``, ``timeout``...) plus resources
  per trial and where trials run;
* `classic`: a single-task job per trial on a classic SparkContext (job group per trial);
* `connect`: a one-row query per trial on Spark Connect (tag per trial);
* `driver_threads`: trials in driver threads whose own Spark jobs are tagged per trial;
* `session`: the session (found or created) and its task slots; `profiles`: resources per
  trial (stage-level scheduling); `shipping`: the driver's parzen, shipped when an
  objective refers to it.
"""
