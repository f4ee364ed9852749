"""Evaluation of predicted probabilities for a binary outcome.

ROC-AUC and PR-AUC (average precision) measure ranking; the Brier score and log loss measure
probabilities (lower is better; ``brier_base_rate`` is what always predicting the base rate
scores). Lift and capture at the top q: among the q share of rows with the highest scores,
capture is the share of all positives found there and lift is their positive rate divided by
the base rate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

__all__ = ["binary_metrics", "lift_and_capture", "reliability_bins"]

_EPS = 1e-6


def lift_and_capture(y: np.ndarray, p: np.ndarray, top: float) -> tuple[float, float]:
    """Lift and capture among the ``top`` share of rows by score (ties broken by row order)."""
    count = max(1, math.ceil(top * len(y)))
    order = np.argsort(-p, kind="stable")[:count]
    positives = float(y.sum())
    found = float(y[order].sum())
    capture = found / positives if positives else 0.0
    base = positives / len(y)
    lift = (found / count) / base if base else 0.0
    return lift, capture


def binary_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC-AUC, PR-AUC, Brier, log loss, lift and capture at the top 10 % and 20 %."""
    base = float(y.mean())
    metrics = {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "brier_base_rate": base * (1 - base),
        "log_loss": float(log_loss(y, np.clip(p, _EPS, 1 - _EPS), labels=[0, 1])),
        "base_rate": base,
    }
    for top in (0.1, 0.2):
        lift, capture = lift_and_capture(y, p, top)
        metrics[f"lift_top{int(top * 100)}"] = lift
        metrics[f"capture_top{int(top * 100)}"] = capture
    return metrics


def reliability_bins(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """The reliability curve: equal-width probability bins with their mean predicted
    probability, observed positive rate and row count (empty bins left out)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.floor(p * bins).astype(int), 0, bins - 1)  # [lower, upper)
    out = []
    for b in range(bins):
        mask = index == b
        if not mask.any():
            continue
        out.append(
            {
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "mean_predicted": float(p[mask].mean()),
                "observed_rate": float(y[mask].mean()),
                "count": int(mask.sum()),
            }
        )
    return out
