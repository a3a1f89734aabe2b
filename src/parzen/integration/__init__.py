"""parzen's TPE inside other tuning frameworks: an optuna sampler and a Ray Tune searcher.

Each module imports its framework (``parzen.integration.optuna`` needs optuna,
``parzen.integration.ray`` needs ``ray[tune]``); ``import parzen`` imports neither.
"""
