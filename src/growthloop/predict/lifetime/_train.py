"""Training CLV models on the workspace: holdout evaluation, refit on all data, registration.

The transaction model (BG/NBD by default, Pareto/NBD on request) and the Gamma-Gamma spend
model are first fitted on the calibration period and judged on the holdout period after it:
predicted against actual repeat purchases per customer (equation (10) of Fader, Hardie & Lee
2005 for BG/NBD), overall and by calibration frequency, and predicted against actual spend.
Then both are refitted on all the data, and that fit is registered (kind ``clv``) with the
holdout metrics: the metrics describe how the method forecasts this shop, the registered
parameters use every purchase.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from growthloop.errors import ModelError
from growthloop.predict.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    TransactionModel,
)
from growthloop.predict.lifetime._data import (
    DAYS_PER_UNIT,
    Purchases,
    check_repeat_buyers,
    load_purchases,
    plan_calibration,
)
from growthloop.predict.registry import ModelVersion, register_model
from growthloop.store import AnalyticalStore, OperationalStore

__all__ = ["TRANSACTION_MODELS", "ClvModel", "ClvTraining", "HoldoutReport", "train_clv"]

TRANSACTION_MODELS: dict[str, type[TransactionModel]] = {
    "bgnbd": BetaGeoModel,
    "pareto": ParetoNBDModel,
}
_FREQUENCY_BUCKETS = (0, 1, 2, 3, 4, 5, 6)  # and "7+"
_FEATURES = [
    {"name": "frequency", "dtype": "int", "description": "repeat purchase days"},
    {"name": "recency", "dtype": "float", "unit": "weeks", "description": "first to last purchase"},
    {"name": "T", "dtype": "float", "unit": "weeks", "description": "first purchase to the end"},
    {"name": "monetary_value", "dtype": "float", "description": "mean value of repeat purchases"},
]


@dataclass
class ClvModel:
    """The registered artifact: a fitted transaction model and spend model, in weeks.

    ``through`` is the last purchase day the models were fitted on.
    """

    transaction: TransactionModel
    spend: GammaGammaModel
    through: date
    days_per_unit: float = DAYS_PER_UNIT


@dataclass(frozen=True)
class HoldoutReport:
    """Forecasts of the calibration fit against what happened in the holdout period."""

    calibration_end: date
    holdout_end: date
    customers: int
    purchases: dict[str, float | None]
    by_frequency: list[dict[str, Any]]
    spend: dict[str, float | None]
    calibration_params: dict[str, dict[str, float]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "calibration_end": self.calibration_end.isoformat(),
            "holdout_end": self.holdout_end.isoformat(),
            "holdout_days": (self.holdout_end - self.calibration_end).days,
            "customers": self.customers,
            "purchases": self.purchases,
            "by_frequency": self.by_frequency,
            "spend": self.spend,
            "calibration_params": self.calibration_params,
        }


@dataclass(frozen=True)
class ClvTraining:
    """What ``train clv`` did: the registered model, its all-data fit and the holdout report."""

    model: ModelVersion
    artifact: ClvModel
    first_day: date
    last_day: date
    customers: int
    repeat_buyers: int
    holdout: HoldoutReport | None
    fit_seconds: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": {
                "name": self.model.name,
                "version": self.model.version,
                "kind": self.model.kind,
                "status": self.model.status,
                "artifact_path": self.model.artifact_path,
            },
            "data": {
                "first_purchase": self.first_day.isoformat(),
                "last_purchase": self.last_day.isoformat(),
                "customers": self.customers,
                "repeat_buyers": self.repeat_buyers,
            },
            "transaction_model": self.artifact.transaction.to_dict(),
            "spend_model": self.artifact.spend.to_dict(),
            "holdout": self.holdout.to_dict() if self.holdout else None,
            "fit_seconds": self.fit_seconds,
            "notes": self.notes,
        }


def _fit(
    summary: pd.DataFrame, model: str, penalizer: float, through: date
) -> tuple[ClvModel, list[str]]:
    transaction = TRANSACTION_MODELS[model](penalizer=penalizer).fit(
        summary["frequency"], summary["recency"], summary["T"]
    )
    spenders = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    notes = []
    skipped = int((summary["frequency"] > 0).sum()) - len(spenders)
    if skipped:
        notes.append(
            f"{skipped:,} repeat buyer(s) whose repeat purchases were all worth 0 are left out "
            "of the spend model"
        )
    spend = GammaGammaModel(penalizer=penalizer).fit(
        spenders["frequency"], spenders["monetary_value"]
    )
    correlation = float(np.corrcoef(spenders["frequency"], spenders["monetary_value"])[0, 1])
    if abs(correlation) > 0.3:
        notes.append(
            f"frequency and spend per purchase are correlated ({correlation:+.2f}) among repeat "
            "buyers; the Gamma-Gamma model assumes they are independent, so CLV is less reliable"
        )
    return ClvModel(transaction, spend, through), notes


def _correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson's r; None when it is undefined (fewer than 2 rows or a constant)."""
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _evaluate(
    fitted: ClvModel, purchases: Purchases, calibration_end: date
) -> HoldoutReport:
    """The calibration fit's holdout forecasts against the actual purchases and spend."""
    holdout_end = purchases.last_day
    summary = purchases.summary(calibration_end, holdout_end)
    x, t_x, big_t = summary["frequency"], summary["recency"], summary["T"]
    duration = (holdout_end - calibration_end).days / DAYS_PER_UNIT
    predicted = fitted.transaction.expected_purchases(duration, x, t_x, big_t)
    actual = summary["frequency_holdout"].to_numpy(dtype=float)
    error = predicted - actual
    total_predicted, total_actual = float(predicted.sum()), float(actual.sum())
    purchases_report: dict[str, float | None] = {
        "actual_total": total_actual,
        "predicted_total": total_predicted,
        "total_error": (total_predicted - total_actual) / total_actual if total_actual else 0.0,
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "correlation": _correlation(predicted, actual),
    }
    buckets = np.minimum(x.to_numpy(), _FREQUENCY_BUCKETS[-1] + 1)
    by_frequency = []
    for bucket in (*_FREQUENCY_BUCKETS, _FREQUENCY_BUCKETS[-1] + 1):
        rows = buckets == bucket
        if rows.any():
            by_frequency.append(
                {
                    "frequency": str(bucket) if bucket <= _FREQUENCY_BUCKETS[-1] else f"{bucket}+",
                    "customers": int(rows.sum()),
                    "actual_mean": float(actual[rows].mean()),
                    "predicted_mean": float(predicted[rows].mean()),
                }
            )
    order_value = fitted.spend.expected_spend(x, summary["monetary_value"])
    spent = purchases.holdout_spend(calibration_end).reindex(summary.index).fillna(0.0)
    bought = actual > 0
    actual_order_value = spent.to_numpy()[bought] / actual[bought]
    predicted_revenue = float((predicted * order_value).sum())
    actual_revenue = float(spent.sum())
    spend_report: dict[str, float | None] = {
        "customers_with_holdout_purchases": int(bought.sum()),
        "order_value_actual_mean": float(actual_order_value.mean()) if bought.any() else 0.0,
        "order_value_predicted_mean": float(order_value[bought].mean()) if bought.any() else 0.0,
        "order_value_mae": (
            float(np.abs(order_value[bought] - actual_order_value).mean()) if bought.any() else 0.0
        ),
        "order_value_correlation": _correlation(order_value[bought], actual_order_value),
        "revenue_actual": actual_revenue,
        "revenue_predicted": predicted_revenue,
        "revenue_error": (
            (predicted_revenue - actual_revenue) / actual_revenue if actual_revenue else 0.0
        ),
    }
    return HoldoutReport(
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        customers=len(summary),
        purchases=purchases_report,
        by_frequency=by_frequency,
        spend=spend_report,
        calibration_params={
            "transaction": dict(fitted.transaction.params_),
            "spend": dict(fitted.spend.params_),
        },
    )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def train_clv(
    *,
    analytical: AnalyticalStore,
    operational: OperationalStore,
    models_dir: Path,
    calibration_end: date | datetime | None = None,
    holdout_days: int | None = None,
    model: str = "bgnbd",
    penalizer: float = 0.0,
    name: str = "clv",
    clock: Callable[[], datetime] | None = None,
) -> ClvTraining:
    """Evaluate the CLV models on a holdout period, refit them on all data and register them.

    Parameters
    ----------
    calibration_end
        Last day of the calibration period (default: the last 25 % of the data period is
        held out); the last purchase day leaves no holdout, so nothing is evaluated.
    holdout_days
        Hold out this many days at the end instead.
    model
        ``"bgnbd"`` (BG/NBD) or ``"pareto"`` (Pareto/NBD).
    penalizer
        L2 penalty on the parameters of both models (see ``docs/models.md``).

    Raises
    ------
    ModelError
        No sale lines, a calibration end outside the data, or too few repeat buyers.
    ConvergenceError
        A model did not converge (try a small penalizer or the other transaction model).
    """
    if model not in TRANSACTION_MODELS:
        raise ModelError(
            f"model = {model!r} is not a transaction model; use one of "
            f"{', '.join(TRANSACTION_MODELS)}"
        )
    started = time.perf_counter()
    purchases = load_purchases(analytical)
    end = plan_calibration(purchases, calibration_end, holdout_days)
    last = purchases.last_day
    holdout = None
    if end < last:
        calibration = purchases.summary(end)
        check_repeat_buyers(calibration, f"the calibration period (to {end:%Y-%m-%d})")
        calibration_fit, _ = _fit(calibration, model, penalizer, end)
        holdout = _evaluate(calibration_fit, purchases, end)
    summary = purchases.summary(last)
    check_repeat_buyers(summary, f"the data (to {last:%Y-%m-%d})")
    fitted, notes = _fit(summary, model, penalizer, last)
    if holdout is None:
        notes.append("the calibration end is the last purchase day: no holdout, no metrics")
    repeat_buyers = int((summary["frequency"] > 0).sum())
    metrics: dict[str, Any] = {
        "evaluated_on": (
            "holdout period after the calibration end (calibration fit)" if holdout else "nothing"
        ),
        "customers": len(summary),
        "repeat_buyers": repeat_buyers,
        "log_likelihood": fitted.transaction.log_likelihood_,
        "spend_log_likelihood": fitted.spend.log_likelihood_,
    }
    if holdout:
        metrics["holdout"] = holdout.to_dict()
        metrics.update(
            {f"holdout_purchases_{k}": v for k, v in holdout.purchases.items()},
        )
    params = {
        "source": "workspace",
        "transaction_model": model,
        "penalizer": penalizer,
        "time_unit": "weeks",
        "purchase": "customer-day: the sale lines of one customer on one UTC day",
        "returns": "ignored (spend is gross)",
        "calibration_end": end.isoformat(),
        "refit": "on all data after the holdout evaluation",
        "transaction": fitted.transaction.to_dict(),
        "spend": fitted.spend.to_dict(),
    }
    label = "BG/NBD" if model == "bgnbd" else "Pareto/NBD"
    registered = register_model(
        store=operational,
        models_dir=models_dir,
        kind="clv",
        name=name,
        artifact=fitted,
        features=_FEATURES,
        metrics=metrics,
        params=params,
        training_from=_midnight(purchases.first_day),
        training_to=_midnight(last) + timedelta(days=1),
        data_fingerprint=purchases.fingerprint(),
        description=(
            f"{label} + Gamma-Gamma on {len(summary):,} customers' purchase days to "
            f"{last:%Y-%m-%d}"
            + (f", evaluated on the holdout after {end:%Y-%m-%d}" if holdout else "")
        ),
        promote_if_first=True,
        clock=clock,
    )
    return ClvTraining(
        model=registered,
        artifact=fitted,
        first_day=purchases.first_day,
        last_day=last,
        customers=len(summary),
        repeat_buyers=repeat_buyers,
        holdout=holdout,
        fit_seconds=time.perf_counter() - started,
        notes=notes,
    )
