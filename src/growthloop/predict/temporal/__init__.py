"""Churn and purchase propensity on the workspace's own customers, with a temporal split.

Features are point-in-time profile snapshots (only data before each cutoff); labels are the
purchases in the ``horizon`` days after it. LightGBM, logistic regression and an RFM-only
baseline are fitted on the train snapshot, calibrated on the validation snapshot and evaluated
on the test snapshot; the better full model is registered. Scoring writes the current scores,
with their top reasons, to the ``scores`` table and the profile (``churn_risk``,
``purchase_propensity``).
"""

from __future__ import annotations

from growthloop.predict.temporal._score import (
    PROFILE_COLUMNS,
    ProfileScores,
    profile_column,
    score_profiles,
    scores_of,
)
from growthloop.predict.temporal._snapshot import (
    KINDS,
    Snapshot,
    Target,
    known_categories,
    read_snapshot,
    snapshot_fingerprint,
    take_snapshot,
)
from growthloop.predict.temporal._split import DataRange, TemporalSplit, data_range, plan_split
from growthloop.predict.temporal._train import (
    MODELS,
    HeldOutReport,
    TemporalFit,
    TemporalTraining,
    fit_temporal,
    take_snapshots,
    train_on_profiles,
)

__all__ = [
    "KINDS",
    "MODELS",
    "PROFILE_COLUMNS",
    "DataRange",
    "HeldOutReport",
    "ProfileScores",
    "Snapshot",
    "Target",
    "TemporalFit",
    "TemporalSplit",
    "TemporalTraining",
    "data_range",
    "fit_temporal",
    "known_categories",
    "plan_split",
    "profile_column",
    "read_snapshot",
    "score_profiles",
    "scores_of",
    "snapshot_fingerprint",
    "take_snapshot",
    "take_snapshots",
    "train_on_profiles",
]
