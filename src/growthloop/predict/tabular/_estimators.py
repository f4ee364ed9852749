"""The two model families: a regularised logistic regression baseline and LightGBM.

Both take the features made by :meth:`ColumnPlan.transform` (floats with NaN for missing,
pandas categoricals) and give raw (uncalibrated) probabilities, per-feature contributions to
the log-odds of each row, and a global importance per feature.

- ``logistic``: scikit-learn Pipeline — median imputation and standard scaling of numeric and
  boolean columns, one-hot encoding of categorical ones (an unseen category encodes as all
  zeros), L2-regularised logistic regression (``C``). A row's contribution of a feature is
  ``coef · (x − mean x)`` summed over the feature's encoded columns; importance is the largest
  ``|coef|`` among them (on the standardised scale).
- ``lightgbm``: ``LGBMClassifier`` with native categorical handling and missing values, one
  thread and ``deterministic=True`` so runs repeat (and a busy machine does not stall OpenMP
  threads). Contributions are LightGBM's ``pred_contrib`` (SHAP values in log-odds); importance
  is the total gain of the splits on a feature.
"""

from __future__ import annotations

import os
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from growthloop.errors import NotFittedError

__all__ = ["EXPLAIN_THREADS", "FAMILIES", "LightGBMModel", "LogisticModel", "make_model"]

FAMILIES = ("lightgbm", "logistic")
EXPLAIN_THREADS = 2  # threads for LightGBM's per-row contributions (reasons)


def _check_fitted(model: object, attribute: str) -> None:
    if not hasattr(model, attribute):
        raise NotFittedError(
            f"This {type(model).__name__} instance is not fitted yet. Call 'fit' before using it."
        )


def _categorical(X: pd.DataFrame) -> list[str]:
    return [str(c) for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]


class LogisticModel:
    """Regularised logistic regression with imputation, scaling and one-hot encoding.

    Parameters
    ----------
    C : float
        Inverse L2 regularisation strength (scikit-learn's ``C``).
    """

    def __init__(self, C: float = 1.0, max_iter: int = 2000) -> None:
        self.C = C
        self.max_iter = max_iter

    def get_params(self) -> dict[str, Any]:
        return {"C": self.C, "max_iter": self.max_iter}

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> LogisticModel:
        categorical = _categorical(X)
        numeric = [str(c) for c in X.columns if c not in categorical]
        encoders = ColumnTransformer(
            [
                (
                    "num",
                    Pipeline(
                        [
                            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                            ("scale", StandardScaler()),
                        ]
                    ),
                    numeric,
                ),
                (
                    "cat",
                    OneHotEncoder(
                        categories=[list(X[c].cat.categories) for c in categorical],
                        handle_unknown="ignore",
                        sparse_output=False,
                    ),
                    categorical,
                ),
            ],
            sparse_threshold=0.0,
        )
        self.pipeline_ = Pipeline(
            [
                ("encode", encoders),
                ("model", LogisticRegression(C=self.C, max_iter=self.max_iter)),
            ]
        ).fit(X, y)
        # Which original feature each encoded column belongs to, and the training means.
        groups = list(numeric)
        for column in categorical:
            groups += [column] * len(X[column].cat.categories)
        self.groups_ = np.array(groups)
        self.features_ = [str(c) for c in X.columns]
        self.encoded_mean_ = encoders.transform(X).mean(axis=0)
        return self

    def predict_raw(self, X: pd.DataFrame) -> np.ndarray:
        _check_fitted(self, "pipeline_")
        return np.asarray(self.pipeline_.predict_proba(X)[:, 1], dtype=float)

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Per-feature log-odds contributions (rows × features, in ``X``'s column order)."""
        _check_fitted(self, "pipeline_")
        encoded = self.pipeline_.named_steps["encode"].transform(X)
        coef = self.pipeline_.named_steps["model"].coef_[0]
        parts = (encoded - self.encoded_mean_) * coef
        return np.column_stack(
            [parts[:, self.groups_ == name].sum(axis=1) for name in self.features_]
        )

    def importance(self) -> dict[str, float]:
        _check_fitted(self, "pipeline_")
        coef = np.abs(self.pipeline_.named_steps["model"].coef_[0])
        return {name: float(coef[self.groups_ == name].max()) for name in self.features_}


class LightGBMModel:
    """Gradient-boosted trees (LightGBM) with native categorical and missing-value handling.

    Parameters are LightGBM's. The defaults are deliberately small trees with strong
    regularisation, suited to customer tables of thousands of rows; ``n_jobs`` is 1 and
    ``deterministic`` is on. ``monotone`` maps feature names to +1 (the prediction may only
    rise with the feature) or -1 (only fall); features absent from the table are ignored.
    """

    def __init__(
        self,
        n_estimators: int = 300,
        learning_rate: float = 0.03,
        num_leaves: int = 7,
        min_child_samples: int = 40,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 5.0,
        seed: int = 0,
        n_jobs: int = 1,
        monotone: dict[str, int] | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.seed = seed
        self.n_jobs = n_jobs
        self.monotone = monotone

    def get_params(self) -> dict[str, Any]:
        return {
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "reg_lambda": self.reg_lambda,
            "seed": self.seed,
            "n_jobs": self.n_jobs,
            "monotone": self.monotone,
        }

    def _renamed(self, X: pd.DataFrame) -> pd.DataFrame:
        # LightGBM refuses some characters in feature names; positions are safe.
        return X.set_axis([f"f{i}" for i in range(X.shape[1])], axis=1)

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> LightGBMModel:
        monotone = self.monotone or {}
        constraints = [int(monotone.get(str(c), 0)) for c in X.columns]
        constrained: dict[str, Any] = {}
        if any(constraints):
            constrained = {
                "monotone_constraints": constraints,
                "monotone_constraints_method": "intermediate",
            }
        self.model_ = lgb.LGBMClassifier(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            random_state=self.seed,
            n_jobs=self.n_jobs,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
            **constrained,
        ).fit(self._renamed(X), y)
        self.features_ = [str(c) for c in X.columns]
        return self

    def predict_raw(self, X: pd.DataFrame) -> np.ndarray:
        _check_fitted(self, "model_")
        proba = np.asarray(self.model_.predict_proba(self._renamed(X)), dtype=float)
        return proba[:, 1]

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """SHAP values from ``pred_contrib`` (rows × features, log-odds; bias left out).

        TreeSHAP costs far more than a prediction (about 15 times at 300 trees of 7 leaves),
        so it runs on up to :data:`EXPLAIN_THREADS` threads whatever ``n_jobs`` is: rows are
        independent, so the values do not depend on the thread count.
        """
        _check_fitted(self, "model_")
        threads = max(1, min(EXPLAIN_THREADS, os.cpu_count() or 1))
        contrib = self.model_.booster_.predict(
            self._renamed(X), pred_contrib=True, num_threads=threads
        )
        return np.asarray(contrib, dtype=float)[:, :-1]

    def importance(self) -> dict[str, float]:
        _check_fitted(self, "model_")
        gain = self.model_.booster_.feature_importance(importance_type="gain")
        return {name: float(g) for name, g in zip(self.features_, gain, strict=True)}


def make_model(family: str, params: dict[str, Any] | None = None) -> LogisticModel | LightGBMModel:
    """A new, unfitted model of ``family`` with ``params``."""
    if family == "logistic":
        return LogisticModel(**(params or {}))
    return LightGBMModel(**(params or {}))
