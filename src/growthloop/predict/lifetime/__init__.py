"""Customer lifetime value on the workspace's own purchases.

The customer-base models of :mod:`growthloop.predict.clv` (BG/NBD or Pareto/NBD with
Gamma-Gamma) are evaluated on a holdout period, refitted on all purchases and registered as
kind ``clv`` (``growthloop train clv``); scoring (``growthloop score clv``) writes each
customer's CLV, probability alive, expected purchases in 90 days, expected order value and next
order date to the ``scores`` table and the profile (``clv``, ``p_alive``, ...), where rule
segments can use them.
"""

from __future__ import annotations

from growthloop.predict.lifetime._data import (
    HOLDOUT_SHARE,
    MIN_REPEAT_BUYERS,
    Purchases,
    load_purchases,
    plan_calibration,
)
from growthloop.predict.lifetime._score import (
    CLV_COLUMNS,
    ClvScores,
    clv_columns,
    score_clv,
    score_customers,
)
from growthloop.predict.lifetime._train import (
    TRANSACTION_MODELS,
    ClvModel,
    ClvTraining,
    HoldoutReport,
    train_clv,
)

__all__ = [
    "CLV_COLUMNS",
    "HOLDOUT_SHARE",
    "MIN_REPEAT_BUYERS",
    "TRANSACTION_MODELS",
    "ClvModel",
    "ClvScores",
    "ClvTraining",
    "HoldoutReport",
    "Purchases",
    "clv_columns",
    "load_purchases",
    "plan_calibration",
    "score_clv",
    "score_customers",
    "train_clv",
]
