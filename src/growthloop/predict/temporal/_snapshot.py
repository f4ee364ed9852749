"""Point-in-time profile snapshots with their labels: what the temporal models learn from.

A snapshot is the customer profile built ``as_of`` a cutoff into a scratch table (never the live
``profiles``), so its features use only data strictly before the cutoff. Labels come from the
purchases (sale order lines) in the ``horizon`` days from the cutoff on:

- churn: among customers with at least one purchase before the cutoff, ``churned`` is 1 when
  they make no purchase in the window;
- propensity: among every customer in the snapshot, ``purchased`` is 1 when they buy in the
  window — with a category, when they buy a product of that category (the catalogue's
  category, or the derived one of ``product_categories`` where it has none).

To the profile's columns the snapshot adds recent-activity features computed at the cutoff
(:data:`TREND_FEATURES`: orders and spend in the last 30/90 days and the 90 before, the latest
gap between orders, active months, days since the last order over the mean gap).
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from growthloop.errors import ModelError
from growthloop.profile import build_profiles
from growthloop.store import AnalyticalStore

__all__ = [
    "ID_COLUMN",
    "KINDS",
    "NOT_FEATURES",
    "TREND_FEATURES",
    "Snapshot",
    "Target",
    "known_categories",
    "read_snapshot",
    "snapshot_fingerprint",
    "take_snapshot",
]

KINDS = ("churn", "propensity")
ID_COLUMN = "canonical_id"
# Profile columns that are not model features: bookkeeping, raw timestamps (their information
# is in recency, tenure and cadence), lists, and the RFM cell (its three scores are features).
NOT_FEATURES = (
    "as_of",
    "created_at",
    "first_order_at",
    "last_order_at",
    "last_seen_at",
    "last_visit_at",
    "reachable_channels",
    "interest_tags",
    "rfm_cell",
)
# Recent-activity features added to the profile at each cutoff (``?``: the cutoff): the trend
# of orders and spend (last 30/90 days against the 90 before), the latest gap between orders
# and the active months of the last year. With ``overdue_ratio`` (days since the last order
# over the customer's mean gap) they tell a customer slowing down from one with a long but
# regular cadence, which recency and frequency alone do not.
TREND_FEATURES = (
    "orders_last_30d",
    "orders_last_90d",
    "orders_prior_90d",
    "spend_last_90d",
    "spend_prior_90d",
    "last_gap_days",
    "active_months_last_year",
    "overdue_ratio",
)
_TREND_SQL = """
SELECT o.canonical_id,
    count(*) FILTER (WHERE o.ordered_at >= c.at - INTERVAL 30 DAY) AS orders_last_30d,
    count(*) FILTER (WHERE o.ordered_at >= c.at - INTERVAL 90 DAY) AS orders_last_90d,
    count(*) FILTER (WHERE o.ordered_at >= c.at - INTERVAL 180 DAY
        AND o.ordered_at < c.at - INTERVAL 90 DAY) AS orders_prior_90d,
    coalesce(sum(o.spend) FILTER (WHERE o.ordered_at >= c.at - INTERVAL 90 DAY), 0)
        AS spend_last_90d,
    coalesce(sum(o.spend) FILTER (WHERE o.ordered_at >= c.at - INTERVAL 180 DAY
        AND o.ordered_at < c.at - INTERVAL 90 DAY), 0) AS spend_prior_90d,
    max(o.gap_days) FILTER (WHERE o.newest = 1) AS last_gap_days,
    count(DISTINCT date_trunc('month', o.ordered_at))
        FILTER (WHERE o.ordered_at >= c.at - INTERVAL 365 DAY) AS active_months_last_year
FROM (
    SELECT *,
        date_diff('day', lag(ordered_at) OVER w, ordered_at) AS gap_days,
        row_number() OVER (PARTITION BY canonical_id ORDER BY ordered_at DESC) AS newest
    FROM (
        SELECT l.canonical_id, l.order_id, min(l.ordered_at) AS ordered_at,
            sum(l.amount)::DOUBLE AS spend
        FROM v_order_lines l, (SELECT ?::TIMESTAMP AS at) c
        WHERE l.line_kind = 'sale' AND l.canonical_id IS NOT NULL AND l.ordered_at < c.at
        GROUP BY l.canonical_id, l.order_id
    )
    WINDOW w AS (PARTITION BY canonical_id ORDER BY ordered_at)
) o, (SELECT ?::TIMESTAMP AS at) c
GROUP BY o.canonical_id
"""
_CATEGORY_SQL = (
    "SELECT p.product_id FROM products p LEFT JOIN product_categories d USING (product_id) "
    "WHERE lower(coalesce(p.category, d.derived_category)) = lower(?)"
)


@dataclass(frozen=True)
class Target:
    """What is predicted: churn, or a purchase (of ``category``) within ``horizon_days``."""

    kind: str
    horizon_days: int
    category: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ModelError(f"kind {self.kind!r} is unknown; use one of {', '.join(KINDS)}")
        if self.category is not None and self.kind != "propensity":
            raise ModelError("a category applies to propensity models only")

    @property
    def label_column(self) -> str:
        return "churned" if self.kind == "churn" else "purchased"

    @property
    def classes(self) -> tuple[str, str]:
        if self.kind == "churn":
            return "stayed", "churned"
        return "no purchase", "purchased"

    def population(self) -> str:
        """Who is labelled (and scored)."""
        if self.kind == "churn":
            return "customers with at least one purchase before the cutoff"
        return "every customer in the profile"

    def describe(self) -> str:
        if self.kind == "churn":
            return f"no purchase in the {self.horizon_days} days after the cutoff"
        what = f"a {self.category!r} product" if self.category else "anything"
        return f"buys {what} in the {self.horizon_days} days after the cutoff"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "horizon_days": self.horizon_days,
            "category": self.category,
            "label": self.describe(),
            "population": self.population(),
        }

    def default_name(self) -> str:
        if self.category is None:
            return self.kind
        slug = re.sub(r"[^a-z0-9]+", "-", self.category.lower()).strip("-")
        return f"{self.kind}-{slug}"[:63] if slug else self.kind


@dataclass(frozen=True)
class Snapshot:
    """One labelled snapshot: features (with ``canonical_id``) and 0/1 labels."""

    role: str
    cutoff: datetime
    frame: pd.DataFrame
    labels: np.ndarray
    build_seconds: float

    @property
    def rows(self) -> int:
        return len(self.labels)

    @property
    def positives(self) -> int:
        return int(self.labels.sum())


def known_categories(store: AnalyticalStore) -> list[str]:
    """Every product category (catalogue or derived), sorted."""
    derived = "product_categories" if store.has_table("product_categories") else None
    if derived is None:
        sql = "SELECT DISTINCT category FROM products WHERE category IS NOT NULL"
    else:
        sql = (
            "SELECT DISTINCT coalesce(p.category, d.derived_category) FROM products p "
            "LEFT JOIN product_categories d USING (product_id) "
            "WHERE coalesce(p.category, d.derived_category) IS NOT NULL"
        )
    return sorted(str(r[0]) for r in store.con.execute(sql).fetchall())


def _check_category(store: AnalyticalStore, category: str) -> None:
    known = known_categories(store)
    if category.lower() not in {c.lower() for c in known}:
        shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
        raise ModelError(
            f"no product has the category {category!r}; the categories are: {shown or 'none'}"
        )


def read_snapshot(
    store: AnalyticalStore,
    table: str,
    target: Target,
    *,
    cutoff: datetime,
    labelled: bool = True,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The population's features from snapshot ``table`` and (when ``labelled``) their labels,
    ordered by ``canonical_id``."""
    if target.category is not None:
        _check_category(store, target.category)
    where = "WHERE p.orders > 0" if target.kind == "churn" else ""
    params: list[Any] = []
    label_sql, join_sql = "NULL", ""
    if labelled:
        category_sql = ""
        if target.category is not None:
            category_sql = f"AND l.product_id IN ({_CATEGORY_SQL})"
            params.append(target.category)
        join_sql = (
            "LEFT JOIN (SELECT DISTINCT l.canonical_id FROM v_order_lines l "
            "WHERE l.line_kind = 'sale' AND l.canonical_id IS NOT NULL "
            f"AND l.ordered_at >= ? AND l.ordered_at < ? {category_sql}) b USING (canonical_id)"
        )
        params = [cutoff, cutoff + timedelta(days=target.horizon_days), *params]
        label_sql = (
            "b.canonical_id IS NULL" if target.kind == "churn" else "b.canonical_id IS NOT NULL"
        )
    present = {str(r[0]) for r in store.con.execute(f"DESCRIBE {table}").fetchall()}
    excluded = ", ".join(c for c in NOT_FEATURES if c in present)
    counts = ", ".join(
        f"coalesce(t.{c}, 0) AS {c}" for c in TREND_FEATURES if c.startswith(("orders", "spend"))
    )
    frame = store.con.execute(
        f"SELECT p.* EXCLUDE ({excluded}), {counts}, t.last_gap_days, "
        "coalesce(t.active_months_last_year, 0) AS active_months_last_year, "
        "p.recency_days / nullif(p.mean_days_between_orders, 0) AS overdue_ratio, "
        f"{label_sql} AS __label FROM {table} p LEFT JOIN ({_TREND_SQL}) t USING (canonical_id) "
        f"{join_sql} {where} ORDER BY p.canonical_id",
        [cutoff, cutoff, *params],
    ).df()
    labels = frame.pop("__label").to_numpy(dtype=float)
    return frame, np.nan_to_num(labels).astype(int)


def take_snapshot(
    store: AnalyticalStore, target: Target, *, role: str, cutoff: datetime
) -> Snapshot:
    """Build the profile as of ``cutoff`` into a scratch table, read it with labels, drop it."""
    started = time.perf_counter()
    table = f"_snapshot_{role}"
    try:
        build_profiles(store, as_of=cutoff, table=table, interest_tags=False)
        frame, labels = read_snapshot(store, table, target, cutoff=cutoff)
    finally:
        store.con.execute(f"DROP TABLE IF EXISTS {table}")
    return Snapshot(role, cutoff, frame, labels, time.perf_counter() - started)


def snapshot_fingerprint(snapshots: list[Snapshot]) -> str:
    """``sha256:<hex>`` of the snapshots' cutoffs, features and labels."""
    digest = hashlib.sha256()
    for snap in snapshots:
        digest.update(f"{snap.role}:{snap.cutoff.isoformat()}:{list(snap.frame.columns)}".encode())
        hashed = pd.util.hash_pandas_object(snap.frame, index=False).to_numpy()
        digest.update(hashed.tobytes())
        digest.update(snap.labels.astype(np.int8).tobytes())
    return f"sha256:{digest.hexdigest()}"
