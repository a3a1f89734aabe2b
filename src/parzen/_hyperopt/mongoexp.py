"""hyperopt's ``mongoexp`` (``MongoTrials``, MongoDB workers) has no parzen equivalent; importing it says why."""

from parzen.exceptions import NotProvided

raise NotProvided(
    "parzen does not provide hyperopt.mongoexp (MongoTrials and hyperopt-mongo-worker). To run trials in "
    "parallel use SparkTrials (a Spark cluster, or local[*] on one machine); to keep trials durably use "
    "fmin(..., trials_save_file='tuning.db') (SQLite, resumable). See docs/migrating-from-hyperopt.md"
)
