"""The workspace's purchases as the customer-base models see them.

A *purchase* is a customer-day: all sale lines of one customer on one calendar day (UTC), over
all their orders that day, count as one purchase worth the sum of those lines (the papers'
rule; Fader, Hardie & Lee 2005). Only ``line_kind = 'sale'`` lines of known customers count:
returns are ignored (a return does not undo the purchase occasion, and netting it could leave
purchases worth 0 or less, which the Gamma-Gamma model cannot take), non-product lines
(shipping, fees) are left out and guest orders have no customer to follow. Spend is therefore
gross of returns.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from growthloop.errors import ModelError
from growthloop.predict.clv import summary_from_transactions
from growthloop.predict.temporal import DataRange, data_range
from growthloop.store import AnalyticalStore

__all__ = [
    "DAYS_PER_UNIT",
    "HOLDOUT_SHARE",
    "MIN_REPEAT_BUYERS",
    "Purchases",
    "load_purchases",
    "plan_calibration",
]

#: The models work in weeks (with fractions), as the papers do.
DAYS_PER_UNIT = 7.0
#: Default holdout: the last quarter of the data period.
HOLDOUT_SHARE = 0.25
#: Fewer repeat buyers than this give no usable fit (the Gamma-Gamma model's minimum).
MIN_REPEAT_BUYERS = 10

_PURCHASE_DAYS = """
SELECT canonical_id, CAST(ordered_at AS DATE) AS day, CAST(sum(amount) AS DOUBLE) AS value
FROM v_order_lines
WHERE line_kind = 'sale' AND canonical_id IS NOT NULL
GROUP BY canonical_id, day
ORDER BY canonical_id, day
"""


@dataclass(frozen=True)
class Purchases:
    """One row per customer-day with a purchase: ``canonical_id``, ``day``, ``value``."""

    frame: pd.DataFrame
    range: DataRange

    @property
    def first_day(self) -> date:
        return self.range.first.date()

    @property
    def last_day(self) -> date:
        return self.range.last.date()

    def fingerprint(self) -> str:
        """``sha256:<hex>`` of the purchase days and their values."""
        hashed = pd.util.hash_pandas_object(self.frame, index=False).to_numpy()
        return f"sha256:{hashlib.sha256(hashed.tobytes()).hexdigest()}"

    def summary(self, calibration_end: date, observation_end: date | None = None) -> pd.DataFrame:
        """``summary_from_transactions`` in weeks: frequency, recency, T, monetary_value and,
        with a later ``observation_end``, frequency_holdout and duration_holdout."""
        return summary_from_transactions(
            self.frame,
            "canonical_id",
            "day",
            "value",
            calibration_end=calibration_end,
            observation_end=observation_end or calibration_end,
            freq="W",
        )

    def holdout_spend(self, calibration_end: date) -> pd.Series:
        """Each customer's total purchase value after ``calibration_end``."""
        later = self.frame[self.frame["day"] > pd.Timestamp(calibration_end)]
        return later.groupby("canonical_id")["value"].sum()


def load_purchases(store: AnalyticalStore) -> Purchases:
    """The workspace's customer-day purchases; an error when there are no sale lines."""
    found = data_range(store)  # raises when there is no sale line of a known customer
    frame = store.con.execute(_PURCHASE_DAYS).df()
    frame["day"] = pd.to_datetime(frame["day"])
    if (frame["value"] < 0).any():
        raise ModelError(
            "some sale lines have a negative amount; CLV needs purchase values >= 0 — check the "
            "order file's sign convention (`growthloop ingest orders --help`)"
        )
    return Purchases(frame, found)


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def plan_calibration(
    purchases: Purchases,
    calibration_end: date | datetime | None = None,
    holdout_days: int | None = None,
) -> date:
    """The last day of the calibration period (inclusive).

    Default: the last ``HOLDOUT_SHARE`` of the data period is held out. ``holdout_days`` holds
    out that many days instead; ``calibration_end`` names the day. A calibration end on the
    last purchase day leaves no holdout.
    """
    first, last = purchases.first_day, purchases.last_day
    if calibration_end is not None and holdout_days is not None:
        raise ModelError(
            "give either a calibration end or a number of holdout days, not both "
            "(--calibration-end, --holdout-days)"
        )
    if calibration_end is not None:
        end = _as_date(calibration_end)
    elif holdout_days is not None:
        if holdout_days < 0:
            raise ModelError(f"holdout_days = {holdout_days} must be >= 0")
        end = last - timedelta(days=holdout_days)
    else:
        span = (last - first).days
        end = first + timedelta(days=int(np.floor(span * (1 - HOLDOUT_SHARE))))
    if not first <= end <= last:
        raise ModelError(
            f"calibration end {end:%Y-%m-%d} is outside the data: purchases run from "
            f"{first:%Y-%m-%d} to {last:%Y-%m-%d}; pick a calibration end in that range "
            "(the last day leaves no holdout)"
        )
    return end


def check_repeat_buyers(summary: pd.DataFrame, period: str) -> None:
    """Refuse a summary with fewer than ``MIN_REPEAT_BUYERS`` repeat buyers who spent > 0."""
    repeat_buyers = int(((summary["frequency"] > 0) & (summary["monetary_value"] > 0)).sum())
    if repeat_buyers < MIN_REPEAT_BUYERS:
        raise ModelError(
            f"{period} has {repeat_buyers:,} repeat buyer(s) (customers who bought on a second "
            f"day) among {len(summary):,} customers; CLV models need at least "
            f"{MIN_REPEAT_BUYERS} — load more orders or choose a later --calibration-end"
        )
