"""scikit-learn integration: `HyperoptSearchCV`, a ``*SearchCV`` whose candidates parzen chooses.

    from parzen import hp
    from parzen.sklearn import HyperoptSearchCV

    search = HyperoptSearchCV(Ridge(), space={"alpha": hp.loguniform("alpha", -5, 2)}, max_evals=30)
    search.fit(X, y)
    search.best_params_, search.cv_results_, search.trials_

The same class and parameters as ``hyperopt.sklearn.HyperoptSearchCV``, built on
scikit-learn's ``BaseSearchCV``: each trial cross-validates one candidate (the point of
`space`, a dict of the estimator's parameters) and its loss is minus the mean test
score, so ``fmin`` maximises the score. Needs scikit-learn (not imported by
``import parzen``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_array

from parzen._hyperopt.trials import Trials
from parzen.driver.fmin import fmin
from parzen.exceptions import InvalidArgument
from parzen.trial import STATUS_FAIL, STATUS_OK

__all__ = ["HyperoptSearchCV"]


def _validate_y(search: Any, y: Any, multi_output: bool) -> Any:
    """The target as checked by scikit-learn (``validate_data`` from 1.6, ``_validate_data`` before)."""
    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # scikit-learn < 1.6
        return search._validate_data(X="no_validation", y=y, multi_output=multi_output)
    return validate_data(search, X="no_validation", y=y, multi_output=multi_output)


class HyperoptSearchCV(BaseSearchCV):
    """Hyperparameter search over `space` with parzen's ``fmin`` (TPE unless `algo` says otherwise).

    hyperopt's ``hyperopt.sklearn.HyperoptSearchCV``, same parameters. After ``fit``:
    ``trials_`` holds the trials, and ``best_params_``, ``best_score_``, ``cv_results_``,
    ``best_estimator_`` are scikit-learn's.

    Args:
        estimator: the scikit-learn estimator to tune.
        space: the estimator's parameter names mapped to ``hp.*`` expressions (or constants).
        max_evals: how many candidates are cross-validated.
        trials: the `Trials` a second ``fit`` continues (with `warm_start`).
        algo: a parzen suggest function (``parzen.tpe.suggest`` when None).
        warm_start: continue from `trials` on the next ``fit`` instead of starting afresh.
        scoring: as scikit-learn's: a scorer name or callable (one metric); None: the estimator's score.
        n_jobs: as scikit-learn's: parallel jobs for the folds of one candidate.
        refit: refit the best candidate on the whole data.
        cv: as scikit-learn's: folds, a splitter or an iterable of splits.
        verbose: as scikit-learn's.
        pre_dispatch: as scikit-learn's.
        random_state: an int seed or a ``numpy.random.Generator``, for reproducible candidates.
        error_score: as scikit-learn's: the score of a candidate whose fit fails.
        return_train_score: as scikit-learn's.
    """

    _required_parameters = ["estimator", "space", "max_evals"]

    def __init__(
        self,
        estimator: Any,
        space: Any,
        max_evals: int,
        trials: Trials | None = None,
        algo: Any = None,
        warm_start: bool = False,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: bool = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: Any = "2*n_jobs",
        random_state: Any = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
    ):
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.space = space
        self.max_evals = max_evals
        self.trials = trials
        self.algo = algo
        self.warm_start = warm_start
        self.random_state = random_state

    def _check_input_parameters(self, X: Any, y: Any = None, groups: Any = None, split_params: Any = None) -> None:
        """Refuse what scikit-learn's estimator checks expect refused, before any trial runs.

        scikit-learn >= 1.7 calls this hook from ``BaseSearchCV.fit``; `fit` calls it for older ones.
        """
        if self.scoring is not None and not (isinstance(self.scoring, str) or callable(self.scoring)):
            raise ValueError(
                f"scoring must be a string, a callable or None (multi-metric scoring is not supported), "
                f"got {self.scoring!r}"
            )
        check_array(X, accept_sparse=True)
        if y is not None:
            if is_classifier(self.estimator):
                y = _validate_y(self, y, multi_output=True)
                check_classification_targets(y)
                if len(unique_labels(y)) < 2:
                    raise ValueError("Classifier can't train when only one class is present.")
            else:
                _validate_y(self, y, multi_output=False)
        if not isinstance(self.refit, bool):
            raise ValueError(f"refit must be a boolean, got {type(self.refit).__name__} {self.refit!r}")

    def fit(self, X: Any, y: Any = None, groups: Any = None, **fit_params: Any) -> HyperoptSearchCV:
        """Cross-validate `max_evals` candidates chosen by ``fmin``, then refit the best (if `refit`).

        Args:
            X: the training data.
            y: the targets (None for unsupervised estimators).
            groups: group labels for a group-aware `cv` splitter.
            **fit_params: passed to the estimator's ``fit``.

        Returns:
            The fitted search.
        """
        self._check_input_parameters(X, y)
        super().fit(X, y=y, groups=groups, **fit_params)
        return self

    def _rng(self) -> np.random.Generator | None:
        if self.random_state is None or isinstance(self.random_state, np.random.Generator):
            return self.random_state
        if isinstance(self.random_state, (int, np.integer)) and not isinstance(self.random_state, bool):
            return np.random.default_rng(int(self.random_state))
        raise ValueError(f"random_state must be an int seed, a numpy Generator or None, got {self.random_state!r}")

    def _trials(self) -> Trials:
        """Fresh trials, or (with warm_start) the ones a previous fit used."""
        if not self.warm_start or not hasattr(self, "trials_"):
            self.trials_ = self.trials if (self.warm_start and self.trials is not None) else Trials()
        return self.trials_

    def _run_search(self, evaluate_candidates: Any) -> None:
        """One trial per candidate: its loss is minus its mean cross-validated test score."""

        def objective(params: dict[str, Any]) -> dict[str, Any]:
            if not isinstance(params, dict):
                raise InvalidArgument(
                    f"HyperoptSearchCV: the space must evaluate to a dict of estimator parameters, got {params!r}"
                )
            score = float(evaluate_candidates([params])["mean_test_score"][-1])
            if not math.isfinite(score):
                return {"status": STATUS_FAIL, "error": f"mean test score {score} (see error_score)", "params": params}
            return {"loss": -score, "status": STATUS_OK, "params": params}

        fmin(
            objective,
            space=self.space,
            algo=self.algo,
            max_evals=self.max_evals,
            rstate=self._rng(),
            trials=self._trials(),
            show_progressbar=False,
            verbose=False,
        )
