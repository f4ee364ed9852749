"""Explanations a marketer can read: global feature importance and per-row reasons in words.

A reason is one feature's contribution to a row's log-odds (LightGBM ``pred_contrib`` or the
logistic regression's ``coef · (x − mean)``), written as e.g. "Contract = Month-to-month raises
churn risk (+0.42)" or "tenure 2 (low) raises churn risk (+0.55)". Numbers are log-odds points
before calibration: +0.4 multiplies the odds by about 1.5. Numeric values are called low below
the training table's 25th percentile and high above its 75th.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from growthloop.predict.tabular._columns import _BOOLEAN_PAIRS, ColumnSpec

__all__ = ["OUTCOMES", "Reason", "describe", "top_reasons"]

OUTCOMES = {"churn": "churn risk", "propensity": "purchase propensity"}


@dataclass(frozen=True)
class Reason:
    """One feature's push on one row's prediction."""

    feature: str
    value: str
    contribution: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "value": self.value,
            "contribution": round(self.contribution, 4),
            "text": self.text,
        }


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _value_text(spec: ColumnSpec, value: Any) -> tuple[str, str]:
    """(value as shown, the phrase naming feature and value)."""
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    if spec.kind == "numeric":
        if missing:
            return "missing", f"{spec.name} missing"
        low, high = spec.quantiles or (-math.inf, math.inf)
        level = "low" if value <= low else "high" if value >= high else "mid-range"
        return _number(value), f"{spec.name} {_number(value)} ({level})"
    if spec.kind == "boolean":
        if missing:
            return "missing", f"{spec.name} missing"
        pair = next(p for p in _BOOLEAN_PAIRS if p[0] == spec.true_token)
        shown = (pair[0] if value >= 0.5 else pair[1]).capitalize()
        return shown, f"{spec.name} = {shown}"
    if missing:
        return "unseen", f"{spec.name} = a value not seen in training"
    return str(value), f"{spec.name} = {value}"


def describe(spec: ColumnSpec, value: Any, contribution: float, outcome: str) -> Reason:
    """One reason in words."""
    shown, phrase = _value_text(spec, value)
    verb = "raises" if contribution >= 0 else "lowers"
    return Reason(
        spec.name, shown, contribution, f"{phrase} {verb} {outcome} ({contribution:+.2f})"
    )


def top_reasons(
    features: list[ColumnSpec],
    X: pd.DataFrame,
    contributions: np.ndarray,
    *,
    outcome: str,
    top: int = 3,
) -> list[list[Reason]]:
    """The ``top`` features with the largest absolute contribution, per row."""
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :top]
    columns = [X[spec.name].to_numpy(dtype=object) for spec in features]
    out = []
    for row, picks in enumerate(order):
        out.append(
            [
                describe(features[j], columns[j][row], float(contributions[row, j]), outcome)
                for j in picks
            ]
        )
    return out
