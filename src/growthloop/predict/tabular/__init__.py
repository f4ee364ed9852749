"""Churn and purchase-propensity classifiers trained on a labelled customer table.

Columns are detected and reported (numeric, boolean, categorical; ids, constants and dates
dropped with a reason); a logistic regression baseline and LightGBM are cross-validated side by
side, calibrated, and the better one (by ROC-AUC) is registered; scoring writes each row's
probability with its top reasons in words.
"""

from __future__ import annotations

from growthloop.predict.tabular._calibration import CALIBRATION_METHODS, Calibrator
from growthloop.predict.tabular._classifier import Evaluation, TabularClassifier
from growthloop.predict.tabular._columns import (
    ColumnPlan,
    ColumnSpec,
    TransformNotes,
    parse_label,
    plan_columns,
)
from growthloop.predict.tabular._estimators import LightGBMModel, LogisticModel
from growthloop.predict.tabular._explain import Reason
from growthloop.predict.tabular._metrics import binary_metrics, reliability_bins
from growthloop.predict.tabular._service import (
    ScoreResult,
    TrainingResult,
    file_fingerprint,
    read_table,
    score_file,
    score_table,
    train_from_file,
)

__all__ = [
    "CALIBRATION_METHODS",
    "Calibrator",
    "ColumnPlan",
    "ColumnSpec",
    "Evaluation",
    "LightGBMModel",
    "LogisticModel",
    "Reason",
    "ScoreResult",
    "TabularClassifier",
    "TrainingResult",
    "TransformNotes",
    "binary_metrics",
    "file_fingerprint",
    "parse_label",
    "plan_columns",
    "read_table",
    "reliability_bins",
    "score_file",
    "score_table",
    "train_from_file",
]
