"""hyperopt's ``atpe`` (Adaptive TPE) has no parzen equivalent: importing it says what to use."""

from parzen.exceptions import NotProvided

raise NotProvided(
    "parzen does not provide hyperopt.atpe (Adaptive TPE, which needed lightgbm and a pre-trained model). "
    "Use parzen.tpe.suggest: on the benchmark in docs/benchmarks.md it ranks ahead of hyperopt's TPE. "
    "See docs/migrating-from-hyperopt.md"
)
