"""A churn or propensity classifier trained on a labelled customer table.

:class:`TabularClassifier` plans the columns (:mod:`._columns`), cross-validates both model
families (:mod:`._estimators`) with seeded stratified k-fold, calibrates their out-of-fold
probabilities (:mod:`._calibration`), keeps the family with the higher cross-validated ROC-AUC
(a tie goes to logistic regression, the simpler model), refits it on every row and fits its
calibrator on the out-of-fold predictions.

:meth:`TabularClassifier.fit_holdout` is the temporal variant: fit on one table (an earlier
snapshot), choose and calibrate on a later held-out table instead of on folds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from growthloop.errors import ModelError, NotFittedError
from growthloop.predict.tabular._calibration import Calibrator, choose_calibration, cross_fitted
from growthloop.predict.tabular._columns import ColumnPlan, TransformNotes, plan_columns
from growthloop.predict.tabular._estimators import (
    FAMILIES,
    LightGBMModel,
    LogisticModel,
    make_model,
)
from growthloop.predict.tabular._explain import OUTCOMES, Reason, top_reasons
from growthloop.predict.tabular._metrics import binary_metrics, reliability_bins

__all__ = ["Evaluation", "TabularClassifier"]

log = logging.getLogger(__name__)

_MODELS = ("auto", *FAMILIES)


@dataclass(frozen=True)
class Evaluation:
    """Cross-validated results of one model family (calibrated out-of-fold probabilities)."""

    family: str
    metrics: dict[str, float]
    fold_roc_auc: list[float]
    reliability: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "metrics": self.metrics,
            "fold_roc_auc": self.fold_roc_auc,
            "reliability": self.reliability,
        }


class TabularClassifier:
    """Churn or purchase-propensity classifier on a labelled table.

    Parameters
    ----------
    kind : str
        What is predicted (``churn``, ``propensity``, ...); used in explanations.
    model : {"auto", "lightgbm", "logistic"}
        ``auto`` evaluates both families and keeps the one with the higher ROC-AUC.
    calibration : {"auto", "isotonic", "sigmoid", "none"}
        ``auto``: isotonic from 1,000 rows on, else sigmoid (Platt).
    folds : int
        Stratified k-fold splits for evaluation and calibration (2-20).
    seed : int
        Seeds the fold split and LightGBM.
    id_column, label_column : str or None
        Columns kept out of the features.
    logistic_params, lightgbm_params : dict or None
        Passed to :class:`LogisticModel` and :class:`LightGBMModel`.
    zero_one_as_boolean : bool
        Whether numeric columns holding only 0 and 1 are booleans (see :func:`plan_columns`);
        off for tables whose booleans are typed, such as profile snapshots.

    Attributes
    ----------
    plan_ : ColumnPlan
    evaluations_ : dict[str, Evaluation]
    chosen_ : str
    calibration_method_ : str
    estimator_ : LogisticModel or LightGBMModel
    calibrator_ : Calibrator
    importance_ : list[dict]
        Per feature: LightGBM gain share and logistic |coef| (for the families evaluated).
    classes_ : tuple[str, str]
        The negative and positive label values.
    """

    def __init__(
        self,
        *,
        kind: str = "churn",
        model: str = "auto",
        calibration: str = "auto",
        folds: int = 5,
        seed: int = 0,
        id_column: str | None = None,
        label_column: str | None = None,
        logistic_params: dict[str, Any] | None = None,
        lightgbm_params: dict[str, Any] | None = None,
        zero_one_as_boolean: bool = True,
    ) -> None:
        self.kind = kind
        self.model = model
        self.calibration = calibration
        self.folds = folds
        self.seed = seed
        self.id_column = id_column
        self.label_column = label_column
        self.logistic_params = logistic_params
        self.lightgbm_params = lightgbm_params
        self.zero_one_as_boolean = zero_one_as_boolean

    def get_params(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model": self.model,
            "calibration": self.calibration,
            "folds": self.folds,
            "seed": self.seed,
            "id_column": self.id_column,
            "label_column": self.label_column,
            "logistic_params": self.logistic_params,
            "lightgbm_params": self.lightgbm_params,
            "zero_one_as_boolean": self.zero_one_as_boolean,
        }

    def _validate(self, y: np.ndarray) -> None:
        if self.model not in _MODELS:
            raise ModelError(f"model {self.model!r} is unknown; use one of {', '.join(_MODELS)}")
        if not 2 <= self.folds <= 20:
            raise ModelError(f"folds must be between 2 and 20, got {self.folds}")
        smallest = int(min(y.sum(), len(y) - y.sum()))
        if smallest < self.folds:
            raise ModelError(
                f"the rarer class has only {smallest} rows; {self.folds}-fold cross-validation "
                f"needs at least {self.folds} (add rows or lower --folds)"
            )

    def _params(self, family: str) -> dict[str, Any]:
        if family == "logistic":
            return dict(self.logistic_params or {})
        return {"seed": self.seed, **(self.lightgbm_params or {})}

    def fit(
        self,
        frame: pd.DataFrame,
        y: np.ndarray,
        *,
        classes: tuple[str, str] = ("0", "1"),
        progress: Callable[[int, int], None] | None = None,
    ) -> TabularClassifier:
        """Plan the columns, cross-validate, choose, refit and calibrate.

        ``y`` holds 0/1 labels for the rows of ``frame``; ``classes`` names them.
        """
        y = np.asarray(y, dtype=int)
        if len(y) != len(frame):
            raise ModelError(f"{len(frame)} rows but {len(y)} labels")
        self._validate(y)
        self.plan_ = plan_columns(
            frame,
            id_column=self.id_column,
            label_column=self.label_column,
            zero_one_as_boolean=self.zero_one_as_boolean,
        )
        X, _ = self.plan_.transform(frame)
        self.calibration_method_ = choose_calibration(self.calibration, len(y))
        fold_of = self._fold_of(y)
        families = FAMILIES if self.model == "auto" else (self.model,)
        steps, done = len(families) * (self.folds + 1), 0
        self.evaluations_: dict[str, Evaluation] = {}
        raw_oof: dict[str, np.ndarray] = {}
        finals: dict[str, LogisticModel | LightGBMModel] = {}
        for family in families:
            oof = np.empty(len(y), dtype=float)
            for fold in range(self.folds):
                held = fold_of == fold
                model = make_model(family, self._params(family)).fit(X[~held], y[~held])
                oof[held] = model.predict_raw(X[held])
                done += 1
                if progress:
                    progress(done, steps)
            raw_oof[family] = oof
            self.evaluations_[family] = self._evaluate(family, oof, y, fold_of)
            finals[family] = make_model(family, self._params(family)).fit(X, y)
            done += 1
            if progress:
                progress(done, steps)
        return self._choose(finals, raw_oof, y, classes)

    def fit_holdout(
        self,
        frame: pd.DataFrame,
        y: np.ndarray,
        holdout: pd.DataFrame,
        holdout_y: np.ndarray,
        *,
        classes: tuple[str, str] = ("0", "1"),
        progress: Callable[[int, int], None] | None = None,
    ) -> TabularClassifier:
        """Temporal validation: fit on ``frame``, choose and calibrate on ``holdout``.

        ``holdout`` is a later table with the same columns (e.g. a profile snapshot taken one
        horizon after the training one). Each family is fitted on every row of ``frame``; the
        family with the higher ROC-AUC on ``holdout`` is kept and its calibrator is fitted on
        its ``holdout`` predictions. :attr:`evaluations_` holds the holdout metrics, each fold
        of the holdout calibrated by a calibrator fitted on the other folds.
        """
        y = np.asarray(y, dtype=int)
        holdout_y = np.asarray(holdout_y, dtype=int)
        for table, labels, what in ((frame, y, "training"), (holdout, holdout_y, "holdout")):
            if len(labels) != len(table):
                raise ModelError(f"{len(table)} {what} rows but {len(labels)} labels")
            self._validate(labels)
        self.plan_ = plan_columns(
            frame,
            id_column=self.id_column,
            label_column=self.label_column,
            zero_one_as_boolean=self.zero_one_as_boolean,
        )
        X, _ = self.plan_.transform(frame)
        X_holdout, _ = self.plan_.transform(holdout)
        self.calibration_method_ = choose_calibration(self.calibration, len(holdout_y))
        fold_of = self._fold_of(holdout_y)
        families = FAMILIES if self.model == "auto" else (self.model,)
        self.evaluations_ = {}
        raw: dict[str, np.ndarray] = {}
        finals: dict[str, LogisticModel | LightGBMModel] = {}
        for done, family in enumerate(families, start=1):
            finals[family] = make_model(family, self._params(family)).fit(X, y)
            raw[family] = finals[family].predict_raw(X_holdout)
            self.evaluations_[family] = self._evaluate(family, raw[family], holdout_y, fold_of)
            if progress:
                progress(done, len(families))
        return self._choose(finals, raw, holdout_y, classes)

    def _fold_of(self, y: np.ndarray) -> np.ndarray:
        """Each row's fold of a seeded stratified k-fold split."""
        splitter = StratifiedKFold(n_splits=self.folds, shuffle=True, random_state=self.seed)
        fold_of = np.empty(len(y), dtype=int)
        for fold, (_, held) in enumerate(splitter.split(np.zeros(len(y)), y)):
            fold_of[held] = fold
        return fold_of

    def _evaluate(
        self, family: str, raw: np.ndarray, y: np.ndarray, fold_of: np.ndarray
    ) -> Evaluation:
        """Metrics of ``raw`` predictions of unseen rows, calibrated fold by fold."""
        calibrated = cross_fitted(raw, y, fold_of, self.calibration_method_)
        return Evaluation(
            family=family,
            metrics=binary_metrics(y, calibrated),
            fold_roc_auc=[
                binary_metrics(y[fold_of == f], calibrated[fold_of == f])["roc_auc"]
                for f in range(self.folds)
            ],
            reliability=reliability_bins(y, calibrated),
        )

    def _choose(
        self,
        finals: dict[str, LogisticModel | LightGBMModel],
        raw: dict[str, np.ndarray],
        y: np.ndarray,
        classes: tuple[str, str],
    ) -> TabularClassifier:
        """Keep the family with the higher ROC-AUC; calibrate it on its unseen-row predictions
        ``raw`` with labels ``y``."""
        self.chosen_ = max(
            finals,
            key=lambda f: (self.evaluations_[f].metrics["roc_auc"], f == "logistic"),
        )
        self.estimator_ = finals[self.chosen_]
        self.calibrator_ = Calibrator(self.calibration_method_).fit(raw[self.chosen_], y)
        self.importance_ = self._importance(finals)
        self.classes_ = classes
        self.n_features_in_ = len(self.plan_.features)
        log.info(
            "chose %s (ROC-AUC %.3f)",
            self.chosen_,
            self.evaluations_[self.chosen_].metrics["roc_auc"],
        )
        return self

    def _importance(self, finals: dict[str, LogisticModel | LightGBMModel]) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {
            name: {"feature": name} for name in self.plan_.feature_names
        }
        if "lightgbm" in finals:
            gain = finals["lightgbm"].importance()
            total = sum(gain.values()) or 1.0
            for name, value in gain.items():
                rows[name]["lightgbm_gain_share"] = value / total
        if "logistic" in finals:
            for name, value in finals["logistic"].importance().items():
                rows[name]["logistic_abs_coef"] = value
        key = "lightgbm_gain_share" if self.chosen_ == "lightgbm" else "logistic_abs_coef"
        return sorted(rows.values(), key=lambda r: -float(r.get(key, 0.0)))

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimator_"):
            raise NotFittedError(
                "This TabularClassifier instance is not fitted yet. Call 'fit' with a labelled "
                "table before using it."
            )

    def prepare(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, TransformNotes]:
        """The model's features from a raw table, checked against the training feature set."""
        self._check_fitted()
        return self.plan_.transform(frame)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities of the negative and positive class (rows × 2)."""
        X, _ = self.prepare(frame)
        p = self.calibrator_.transform(self.estimator_.predict_raw(X))
        return np.column_stack([1 - p, p])

    def explain(self, X: pd.DataFrame, *, top: int = 3) -> list[list[Reason]]:
        """The ``top`` reasons per row of prepared features ``X`` (see :meth:`prepare`)."""
        self._check_fitted()
        outcome = OUTCOMES.get(self.kind, f"{self.kind} likelihood")
        return top_reasons(
            self.plan_.features,
            X,
            self.estimator_.contributions(X),
            outcome=outcome,
            top=top,
        )

    @property
    def plan(self) -> ColumnPlan:
        self._check_fitted()
        return self.plan_
