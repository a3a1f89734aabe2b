"""How many trials an executor holds under a per-trial request (no Spark needed)."""

import pytest

from parzen.exceptions import InvalidArgument
from parzen.executors.spark import profiles


@pytest.mark.parametrize(
    "shape, requests, expected",
    [
        ({"cpus": 4, "gpu": 2}, {"cpus": 1}, 4),
        ({"cpus": 4, "gpu": 2}, {"cpus": 2}, 2),
        ({"cpus": 4, "gpu": 2}, {"cpus": 1, "gpu": 1}, 2),  # GPUs are the limit
        ({"cpus": 4, "gpu": 2}, {"cpus": 1, "gpu": 0.5}, 4),  # two trials share each GPU
        ({"cpus": 8, "gpu": 2}, {"cpus": 1, "gpu": 0.25}, 8),
        ({"cpus": 3}, {"cpus": 2}, 1),
        ({"cpus": 4}, {"cpus": 1, "gpu": 1}, 0),  # no GPU on this executor
        ({"cpus": 2}, {"cpus": 4}, 0),
    ],
)
def test_fits(shape, requests, expected):
    assert profiles.fits(shape, requests) == expected


def test_the_largest_executor_is_named_when_nothing_fits():
    text = profiles._largest([{"cpus": 2.0, "gpu": 1.0}, {"cpus": 4.0}], {"cpus": 1.0, "gpu": 2.0})
    assert "has 1 gpu (spark.executor.resource.gpu.amount)" in text and "at most 1 gpu per trial" in text


@pytest.mark.parametrize("value", [0, -1, 0.3, 1.5, float("nan"), True, "1"])
def test_gpus_per_trial_is_whole_or_a_unit_fraction(value):
    with pytest.raises(InvalidArgument, match="gpus_per_trial"):
        profiles.build(None, value, None)


def test_nothing_asked_builds_no_profile():
    assert profiles.build(None, None, None) is None
