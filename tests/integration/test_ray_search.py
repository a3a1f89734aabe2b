"""ParzenSearch in real Ray Tune runs (`make test-ray`: Ray is not in the test extra, see pyproject.toml).

One local Ray (2 CPUs) for the module; each test runs a small tune.Tuner."""

import math
import os
import sys

import numpy as np
import pytest

if not os.environ.get("PARZEN_TEST_RAY"):
    # Ray leaves its threads in the process that ran ray.init; the Spark tests' Ctrl-C test timed out
    # after them in one full run, so these tests run in a pytest process of their own: `make test-ray`.
    pytest.skip("run by `make test-ray`, in a process of its own", allow_module_level=True)
pytest.importorskip("ray.tune", reason="ray[tune] is installed by `make test-ray` (pip install 'parzen[ray]')")
import ray  # noqa: E402
from ray import tune  # noqa: E402

from parzen import hp  # noqa: E402
from parzen.exceptions import InvalidSpace  # noqa: E402
from parzen.integration.ray import ParzenSearch, convert_search_space  # noqa: E402

pytestmark = pytest.mark.slow
# Ray's workers cannot import this test module: ship its functions by value, as a user script would be
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def quadratic(config):
    loss = (config["x"] - 2) ** 2 + (math.log10(config["lr"]) + 2) ** 2 + (config["act"] != "relu")
    if config["x"] > 4.5:
        raise ValueError("x too large")  # a trial that errors
    return {"loss": loss + config["layers"] / 10}


def run(search, param_space, num_samples=30, mode="min"):
    tuner = tune.Tuner(
        quadratic,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            search_alg=search, metric="loss", mode=mode, num_samples=num_samples, max_concurrent_trials=2
        ),  # fmt: skip
    )
    return tuner.fit()


TUNE_SPACE = {
    "x": tune.uniform(-5, 5),
    "lr": tune.loguniform(1e-4, 1e-1),
    "layers": tune.randint(1, 5),
    "act": tune.choice(["relu", "tanh"]),
}


def test_tune_param_space_is_searched_by_parzen_tpe():
    search = ParzenSearch(random_state_seed=0)
    results = run(search, TUNE_SPACE)
    assert len(results) == 30 and len(search.trials) == 30
    best = results.get_best_result().config
    assert abs(best["x"] - 2) < 1.5 and best["act"] == "relu" and 1 <= best["layers"] <= 4
    assert search.trials.n_failed == sum(r.error is not None for r in results)  # errored trials recorded


def test_a_parzen_space_with_conditional_choices():
    space = {
        "x": hp.uniform("x", -5, 5),
        "lr": hp.loguniform("lr", math.log(1e-4), math.log(1e-1)),
        "layers": hp.randint("layers", 1, 5),
        "act": hp.choice("act", ["relu", "tanh"]),
    }
    search = ParzenSearch(space=space, metric="loss", mode="min", random_state_seed=1,
                          points_to_evaluate=[{"x": 2.0, "lr": 0.01, "layers": 1, "act": 0}])  # fmt: skip
    tuner = tune.Tuner(quadratic, tune_config=tune.TuneConfig(search_alg=search, num_samples=12))
    results = tuner.fit()
    assert len(results) == 12 and search.trials.records[0].params == {"x": 2.0, "lr": 0.01, "layers": 1, "act": 0}
    assert results.get_best_result(metric="loss", mode="min").metrics["loss"] == pytest.approx(0.1)


def test_conversion_of_tune_domains():
    space = convert_search_space({
        "q": tune.quniform(0, 10, 2), "n": tune.randn(0, 1), "li": tune.lograndint(1, 100),
        "nested": {"c": tune.choice([1, {"deep": tune.uniform(0, 1)}])}, "const": 3,
    })  # fmt: skip
    from parzen.space import compile_space, sample

    compiled = compile_space(space)
    assert set(compiled.labels) == {"q", "n", "li", "nested/c", "nested/c/1/deep"}
    for _ in range(20):
        point = sample(space, np.random.default_rng())
        assert point["q"] in (0, 2, 4, 6, 8, 10) and 1 <= point["li"] <= 99 and point["const"] == 3
    with pytest.raises(InvalidSpace, match="'g' is a grid_search"):
        convert_search_space({"g": tune.grid_search([1, 2])})


def test_metric_and_mode_are_required():
    search = ParzenSearch(space={"x": hp.uniform("x", 0, 1)})
    with pytest.raises(RuntimeError, match="needs metric and mode"):
        search.suggest("t1")
