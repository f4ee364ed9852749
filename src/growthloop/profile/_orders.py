"""Purchase behaviour per customer, point in time: RFM inputs, cadence, returns, diversity,
category and brand affinity, discount sensitivity, seasonality.

Recency counts calendar-day boundaries between the last order's date and the as-of date (as
DuckDB's and Spark's ``date_diff('day')`` do), not whole 24-hour periods.

Seasonality is the share of a customer's orders placed in the November-December gifting peak
(``peak_season_share``, months of the UTC order time): gift buyers place most of theirs there,
everyday buyers about a quarter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
from ibis import _

__all__ = ["PEAK_MONTHS", "category_spend", "order_features"]

PEAK_MONTHS = (11, 12)  # the gifting season: November and December


def order_features(db: Any, as_of: datetime, categories: Any) -> Any:
    """One row per canonical customer with at least one order line before ``as_of``.

    ``categories`` is a table ``(product_id, category, brand, list_price)``.
    """
    lines = db.table("v_order_lines")
    lines = lines.filter(
        lines.ordered_at < as_of, lines.canonical_id.notnull(), lines.line_kind != "non_product"
    )
    lines = lines.left_join(categories, "product_id").select(
        lines, categories.category, categories.brand, categories.list_price
    )
    sale = lines.line_kind == "sale"
    ret = lines.line_kind == "return"
    as_of_date = ibis.literal(as_of).date()
    base = lines.group_by("canonical_id").aggregate(
        orders=lines.order_id.nunique(where=sale),
        peak_orders=lines.order_id.nunique(where=sale & lines.ordered_at.month().isin(PEAK_MONTHS)),
        first_order_at=lines.ordered_at.min(where=sale),
        last_order_at=lines.ordered_at.max(where=sale),
        gross_revenue=lines.amount.sum(where=sale).cast("float64"),
        returned_revenue=(-lines.amount.sum(where=ret)).cast("float64"),
        items=lines.quantity.sum(where=sale),
        returned_items=(-lines.quantity.sum(where=ret)),
        distinct_products=lines.product_id.nunique(where=sale),
        distinct_categories=lines.category.nunique(where=sale),
        discounted_lines=(lines.unit_price < lines.list_price * 0.95).sum(where=sale),
        sale_lines=sale.sum(),
    )
    base = (
        base.mutate(
            returned_revenue=base.returned_revenue.fill_null(0.0),
            returned_items=base.returned_items.fill_null(0),
        )
        .mutate(
            monetary=_.gross_revenue - _.returned_revenue,
            average_order_value=ibis.ifelse(_.orders > 0, _.gross_revenue / _.orders, ibis.null()),
            return_rate=ibis.ifelse(_.items > 0, _.returned_items / _.items, ibis.null()),
            discount_share=ibis.ifelse(
                _.sale_lines > 0, _.discounted_lines / _.sale_lines, ibis.null()
            ),
            peak_season_share=ibis.ifelse(_.orders > 0, _.peak_orders / _.orders, ibis.null()),
            frequency=_.orders,
        )
        .drop("discounted_lines", "sale_lines", "peak_orders")
    )
    base = base.mutate(recency_days=as_of_date.delta(base.last_order_at.date(), unit="day"))

    # Cadence: days between consecutive orders.
    orders = (
        lines.filter(sale)
        .group_by(["canonical_id", "order_id"])
        .aggregate(at=lines.ordered_at.min())
    )
    window = ibis.window(group_by=orders.canonical_id, order_by=orders.at)
    gaps = orders.mutate(
        gap=(orders.at.epoch_seconds() - orders.at.lag().over(window).epoch_seconds()) / 86400.0
    )
    gaps = gaps.filter(gaps.gap.notnull())
    cadence = gaps.group_by("canonical_id").aggregate(
        mean_days_between_orders=gaps.gap.mean(), sd_days_between_orders=gaps.gap.std()
    )

    # Category and brand affinity: share of spend.
    spend = (
        lines.filter(sale & lines.category.notnull())
        .group_by(["canonical_id", "category"])
        .aggregate(spend=lines.amount.sum().cast("float64"))
    )
    total = spend.group_by("canonical_id").aggregate(total=spend.spend.sum())
    shares = spend.join(total, "canonical_id").mutate(share=_.spend / _.total)
    rank = ibis.window(
        group_by=shares.canonical_id, order_by=[ibis.desc(shares.share), shares.category]
    )
    ranked = shares.mutate(rank=ibis.row_number().over(rank))
    top = ranked.filter(ranked["rank"] == 0).select(
        "canonical_id", top_category="category", top_category_share="share"
    )
    brands = (
        lines.filter(sale & lines.brand.notnull())
        .group_by(["canonical_id", "brand"])
        .aggregate(spend=lines.amount.sum())
    )
    brank = ibis.window(
        group_by=brands.canonical_id, order_by=[ibis.desc(brands.spend), brands.brand]
    )
    top_brand = (
        brands.mutate(rank=ibis.row_number().over(brank))
        .filter(lambda t: t["rank"] == 0)
        .select("canonical_id", top_brand="brand")
    )

    return (
        base.left_join(cadence, "canonical_id")
        .select(base, cadence.mean_days_between_orders, cadence.sd_days_between_orders)
        .left_join(top, "canonical_id")
        .drop("canonical_id_right")
        .left_join(top_brand, "canonical_id")
        .drop("canonical_id_right")
    )


def category_spend(db: Any, as_of: datetime, categories: Any) -> Any:
    """Long table ``(canonical_id, category, share)`` of purchase spend before ``as_of``."""
    lines = db.table("v_order_lines")
    lines = lines.filter(
        lines.ordered_at < as_of, lines.canonical_id.notnull(), lines.line_kind == "sale"
    )
    joined = lines.join(categories, "product_id")
    spend = (
        joined.filter(joined.category.notnull())
        .group_by(["canonical_id", "category"])
        .aggregate(spend=joined.amount.sum().cast("float64"))
    )
    total = spend.group_by("canonical_id").aggregate(total=spend.spend.sum())
    return spend.join(total, "canonical_id").select(
        "canonical_id", "category", share=_.spend / _.total
    )
