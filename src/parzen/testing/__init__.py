"""Contract suites for your own plug-ins, as parzen runs them on its own (developer API, needs pytest).

* `parzen.testing.algorithms.AlgorithmContract`: what every ``suggest`` function keeps;
* `parzen.testing.executors.ExecutorContract`: what every `Executor` keeps.

Subclass one in a test module and pytest runs the whole contract against your
algorithm or executor (the docs' "Writing an algorithm" guide has a worked example).
"""
