"""Scoring every customer with a registered CLV model, into ``scores`` and the profile.

The customers' histories are summarised to the last purchase day in the store (so purchases
loaded since training count) and the registered parameters give, per customer, five rows in
the analytical table ``scores`` (the same table as churn and propensity: ``canonical_id,
model, version, kind, score, scored_at, as_of, profile_column, reasons``), one per profile
column:

- ``clv``: discounted expected revenue (times the margin) over the horizon;
- ``p_alive``: probability that the customer is still a customer;
- ``expected_purchases_90d``: expected purchase days in the next 90 days;
- ``expected_order_value``: expected spend per purchase (Gamma-Gamma, equation (5) of Fader &
  Hardie 2013);
- ``next_order_date``: the median date of the next purchase *if the customer is still alive*
  (stored as days after ``as_of``, capped at 100 years; attached to the profile as a date).

``kind`` is ``clv`` on every row (the model's kind, as for churn); ``profile_column`` tells the
rows apart. A model registered under another name gets suffixed columns (``clv_eu``,
``p_alive_eu``, ... for ``clv-eu``). ``reasons`` holds the history behind the numbers in words.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from growthloop.errors import ModelError
from growthloop.predict.lifetime._data import DAYS_PER_UNIT, load_purchases
from growthloop.predict.lifetime._train import ClvModel
from growthloop.predict.registry import ModelVersion, load_model
from growthloop.profile import SCORES_TABLE, attach_scores, replace_scores
from growthloop.store import AnalyticalStore, OperationalStore

__all__ = ["CLV_COLUMNS", "ClvScores", "clv_columns", "score_clv", "score_customers"]

#: The measures stored per customer, in order (profile column of the model named ``clv``).
CLV_COLUMNS = ("clv", "p_alive", "expected_purchases_90d", "expected_order_value",
               "next_order_date")
_DAYS_PER_MONTH = 365.25 / 12
_MAX_DAYS = 36_525.0  # next_order_date at most 100 years ahead


def clv_columns(name: str) -> dict[str, str]:
    """Measure -> profile column for the model ``name``: ``clv`` keeps the plain names,
    ``clv-eu`` gets ``clv_eu``, ``p_alive_eu``, ..."""
    rest = name[len("clv") :] if name.startswith("clv") else name
    slug = re.sub(r"[^a-z0-9]+", "_", rest.lower()).strip("_")
    return {m: f"{m}_{slug}" if slug else m for m in CLV_COLUMNS}


def score_customers(
    model: ClvModel,
    summary: pd.DataFrame,
    *,
    horizon_days: float = 365.0,
    discount_rate: float = 0.01,
    margin: float = 1.0,
) -> pd.DataFrame:
    """The five measures for each customer of ``summary`` (frequency, recency, T and
    monetary_value in weeks); ``discount_rate`` is per month, ``next_order_date`` in days."""
    if horizon_days <= 0:
        raise ModelError(f"horizon_days = {horizon_days!r} must be > 0")
    if not 0 <= margin <= 1:
        raise ModelError(f"margin = {margin!r} must be between 0 and 1 (1 gives revenue)")
    if discount_rate < 0:
        raise ModelError(f"discount_rate = {discount_rate!r} must be >= 0 (per month)")
    unit = model.days_per_unit
    x, t_x, big_t = summary["frequency"], summary["recency"], summary["T"]
    m = summary["monetary_value"]
    transaction = model.transaction
    next_days = transaction.next_purchase_time(x, t_x, big_t) * unit
    return pd.DataFrame(
        {
            "clv": model.spend.customer_lifetime_value(
                transaction, x, t_x, big_t, m,
                horizon=horizon_days / unit,
                discount_rate=discount_rate,
                margin=margin,
                step=_DAYS_PER_MONTH / unit,
            ),
            "p_alive": transaction.probability_alive(x, t_x, big_t),
            "expected_purchases_90d": transaction.expected_purchases(90.0 / unit, x, t_x, big_t),
            "expected_order_value": model.spend.expected_spend(x, m),
            "next_order_date": np.minimum(next_days, _MAX_DAYS),
        },
        index=summary.index,
    )


@dataclass(frozen=True)
class ClvScores:
    """What scoring with a CLV model did."""

    model: ModelVersion
    rows: int
    as_of: datetime
    scored_at: datetime
    columns: dict[str, str]
    horizon_days: float
    discount_rate: float
    margin: float
    means: dict[str, float]
    elapsed_seconds: float
    notes: list[str] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": {"name": self.model.name, "version": self.model.version},
            "kind": self.model.kind,
            "rows": self.rows,
            "as_of": self.as_of.isoformat(),
            "scored_at": self.scored_at.isoformat(),
            "table": SCORES_TABLE,
            "profile_columns": list(self.columns.values()),
            "horizon_days": self.horizon_days,
            "discount_rate_per_month": self.discount_rate,
            "margin": self.margin,
            "means": self.means,
            "elapsed_seconds": self.elapsed_seconds,
            "notes": self.notes,
            "preview": self.preview,
        }


def _history_words(summary: pd.DataFrame, last_day: pd.Timestamp) -> pd.Series:
    """``"3 repeat purchases, the last on 2024-11-02"`` per customer."""
    first = last_day - pd.to_timedelta(np.round(summary["T"] * DAYS_PER_UNIT), unit="D")
    latest = first + pd.to_timedelta(np.round(summary["recency"] * DAYS_PER_UNIT), unit="D")
    x = summary["frequency"].astype(int)
    plural = np.where(x == 1, "", "s")
    repeat = (
        x.astype(str) + " repeat purchase" + plural + ", the last on "
        + latest.dt.strftime("%Y-%m-%d")
    )
    single = "one purchase, on " + first.dt.strftime("%Y-%m-%d")
    return pd.Series(np.where(x > 0, repeat, single), index=summary.index)


def score_clv(
    *,
    analytical: AnalyticalStore,
    operational: OperationalStore,
    models_dir: Path,
    name: str = "clv",
    version: int | None = None,
    horizon_days: float = 365.0,
    discount_rate: float = 0.01,
    margin: float = 1.0,
    clock: Callable[[], datetime] | None = None,
) -> ClvScores:
    """Score every customer who has bought with a registered CLV model (the promoted version
    unless ``version`` is given), store the five measures and attach them to ``profiles``."""
    started = time.perf_counter()
    found, artifact = load_model(
        store=operational, models_dir=models_dir, name=name, version=version
    )
    if not isinstance(artifact, ClvModel):
        raise ModelError(
            f"model {found.name!r} v{found.version} is a {found.kind} model, not a CLV model; "
            "train one with `growthloop train clv`"
        )
    purchases = load_purchases(analytical)
    summary = purchases.summary(purchases.last_day)
    measures = score_customers(
        artifact, summary, horizon_days=horizon_days, discount_rate=discount_rate, margin=margin
    )
    as_of = datetime.combine(purchases.last_day, datetime.min.time()) + timedelta(days=1)
    scored_at = (clock or (lambda: datetime.now(UTC).replace(tzinfo=None)))()
    columns = clv_columns(found.name)
    history = _history_words(summary, pd.Timestamp(purchases.last_day))
    assumptions = (
        f"{horizon_days:g} days, {discount_rate:.1%} a month discount, margin {margin:.0%}"
    )
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "canonical_id": measures.index.to_numpy(),
                    "score": measures[measure].to_numpy(dtype=float),
                    "profile_column": column,
                    "reason_1": history.to_numpy(),
                    "reason_2": assumptions if measure == "clv" else "",
                }
            )
            for measure, column in columns.items()
        ],
        ignore_index=True,
    )
    replace_scores(
        analytical,
        long,
        model=found.name,
        version=found.version,
        kind=found.kind,
        scored_at=scored_at,
        as_of=as_of,
        columns="score, profile_column, list_filter([reason_1, reason_2], lambda r: r <> '')",
    )
    attached = attach_scores(analytical)
    notes = [] if attached else [
        "no profiles yet: the scores are in the table `scores` and join the profile at "
        "`growthloop profile build`"
    ]
    if artifact.through < purchases.last_day:
        notes.append(
            f"the model was fitted on purchases to {artifact.through:%Y-%m-%d}; histories are "
            f"summarised to {purchases.last_day:%Y-%m-%d} (retrain to update the parameters)"
        )
    preview = measures.sort_values("clv", ascending=False).head(5)
    return ClvScores(
        model=found,
        rows=len(measures),
        as_of=as_of,
        scored_at=scored_at,
        columns=columns,
        horizon_days=horizon_days,
        discount_rate=discount_rate,
        margin=margin,
        means={m: float(measures[m].mean()) for m in CLV_COLUMNS},
        elapsed_seconds=time.perf_counter() - started,
        notes=notes,
        preview=preview.reset_index(names="canonical_id").to_dict("records"),
    )
