"""parzen.sklearn.HyperoptSearchCV: hyperopt's scikit-learn search class, on parzen's fmin.

scikit-learn's full estimator checks run in hyperopt's own suite (tests/_hyperopt/test_hyperopt_suite.py)."""

import pytest

pytest.importorskip("sklearn")
from sklearn.datasets import make_regression  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402

from parzen import Trials, hp, rand  # noqa: E402
from parzen.sklearn import HyperoptSearchCV  # noqa: E402


def data():
    return make_regression(n_samples=60, n_features=4, noise=5.0, random_state=0)


def test_search_finds_parameters_and_keeps_its_trials():
    X, y = data()
    search = HyperoptSearchCV(Ridge(), {"alpha": hp.loguniform("alpha", -6, 3)}, max_evals=12, random_state=0, cv=3)
    search.fit(X, y)
    assert len(search.trials_) == 12 and len(search.cv_results_["params"]) == 12
    assert search.best_score_ == pytest.approx(-search.trials_.best_loss)
    assert search.best_params_ == search.trials_.best_trial["result"]["params"]


def test_warm_start_continues_the_same_trials():
    X, y = data()
    trials = Trials()
    search = HyperoptSearchCV(Ridge(), {"alpha": hp.uniform("alpha", 0, 1)}, max_evals=5, trials=trials,
                              algo=rand.suggest, warm_start=True, random_state=1)  # fmt: skip
    search.fit(X, y)
    search.set_params(max_evals=8).fit(X, y)
    assert search.trials_ is trials and len(trials) == 8


def test_a_space_that_is_not_a_dict_of_parameters_is_refused():
    X, y = data()
    search = HyperoptSearchCV(Ridge(), hp.uniform("alpha", 0, 1), max_evals=3, random_state=0)
    with pytest.raises(ValueError, match="space must evaluate to a dict of estimator parameters"):
        search.fit(X, y)


def test_bad_random_state_is_refused():
    X, y = data()
    with pytest.raises(ValueError, match="random_state must be an int seed, a numpy Generator or None"):
        HyperoptSearchCV(Ridge(), {"alpha": hp.uniform("alpha", 0, 1)}, max_evals=3, random_state="x").fit(X, y)
