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

__all__ = ["PEAK_MONTHS", "category_spend", "order_features", "product_spend"]

PEAK_MONTHS = (11, 12)  # the gifting season: November and December


def _own_lines(db: Any, as_of: datetime) -> Any:
    """Product lines (sales and returns) of known customers before ``as_of``."""
    lines = db.table("v_order_lines")
    return lines.filter(
        lines.ordered_at < as_of, lines.canonical_id.notnull(), lines.line_kind != "non_product"
    )


def _lines(db: Any, as_of: datetime, categories: Any) -> Any:
    """:func:`_own_lines` with the product's category, brand and list price."""
    lines = _own_lines(db, as_of)
    return lines.left_join(categories, "product_id").select(
        lines, categories.category, categories.brand, categories.list_price
    )


def product_spend(db: Any, as_of: datetime, categories: Any) -> Any:
    """``(canonical_id, product_id, spend)`` of sale lines: the base of the affinities."""
    lines = _lines(db, as_of, categories)
    sales = lines.filter(lines.line_kind == "sale")
    return sales.group_by(["canonical_id", "product_id"]).aggregate(
        spend=sales.amount.sum().cast("float64")
    )


def _shares(spend: Any, key: str) -> Any:
    """``(canonical_id, key, spend, share)``: each customer's spend split by ``key``."""
    known = spend.filter(spend[key].notnull())
    by_key = known.group_by(["canonical_id", key]).aggregate(spend=known.spend.sum())
    total = by_key.group_by("canonical_id").aggregate(total=by_key.spend.sum())
    return by_key.join(total, "canonical_id").select(
        "canonical_id", key, "spend", share=_.spend / _.total
    )


def _top(shares: Any, key: str) -> Any:
    """Each customer's ``key`` of the largest share (ties: the first ``key`` alphabetically)."""
    return shares[key].first(order_by=[ibis.desc(shares.share), shares[key]])


def order_features(
    db: Any,
    as_of: datetime,
    categories: Any,
    products: Any = None,
    category_shares: Any = None,
) -> Any:
    """One row per canonical customer with at least one order line before ``as_of``.

    ``categories`` is a table ``(product_id, category, brand, list_price)``; ``products`` is
    :func:`product_spend` and ``category_shares`` :func:`category_spend` (computed here when not
    given). Distinct counts come from per-order and per-product tables rather than DISTINCT
    aggregates over the lines.
    """
    lines = _lines(db, as_of, categories)
    sale = lines.line_kind == "sale"
    ret = lines.line_kind == "return"
    as_of_date = ibis.literal(as_of).date()
    base = lines.group_by("canonical_id").aggregate(
        first_order_at=lines.ordered_at.min(where=sale),
        last_order_at=lines.ordered_at.max(where=sale),
        gross_revenue=lines.amount.sum(where=sale).cast("float64"),
        returned_revenue=(-lines.amount.sum(where=ret)).cast("float64"),
        items=lines.quantity.sum(where=sale),
        returned_items=(-lines.quantity.sum(where=ret)),
        discounted_lines=(lines.unit_price < lines.list_price * 0.95).sum(where=sale),
        sale_lines=sale.sum(),
    )
    # One row per order: counts of orders, the peak season, and the gaps between orders. (From
    # its own read of the lines: sharing the joined lines above costs more than reading twice.)
    sales = _own_lines(db, as_of)
    sales = sales.filter(sales.line_kind == "sale")
    orders = sales.group_by(["canonical_id", "order_id"]).aggregate(at=sales.ordered_at.min())
    window = ibis.window(group_by=orders.canonical_id, order_by=orders.at)
    gaps = orders.mutate(
        gap=(orders.at.epoch_seconds() - orders.at.lag().over(window).epoch_seconds()) / 86400.0
    )
    # The first order has no gap (NULL), which the mean and spread skip.
    cadence = gaps.group_by("canonical_id").aggregate(
        orders=gaps.count(),
        peak_orders=gaps.at.month().isin(PEAK_MONTHS).sum(),
        mean_days_between_orders=gaps.gap.mean(),
        sd_days_between_orders=gaps.gap.std(),
    )
    # One row per product bought: diversity, category and brand affinity (share of spend).
    products = product_spend(db, as_of, categories) if products is None else products
    product_counts = products.group_by("canonical_id").aggregate(
        distinct_products=products.product_id.count()
    )
    if category_shares is None:
        category_shares = category_spend(db, as_of, categories, products)
    top = category_shares.group_by("canonical_id").aggregate(
        distinct_categories=category_shares.count(),
        top_category=_top(category_shares, "category"),
        top_category_share=category_shares.share.max(),  # the top category's share
    )
    brand_shares = _shares(_with_keys(products, categories), "brand")
    top_brand = brand_shares.group_by("canonical_id").aggregate(
        top_brand=_top(brand_shares, "brand")
    )

    joined = base
    for part in (cadence, product_counts, top, top_brand):
        joined = joined.left_join(part, "canonical_id").drop("canonical_id_right")
    features = (
        joined.mutate(
            orders=joined.orders.fill_null(0),
            peak_orders=joined.peak_orders.fill_null(0),
            distinct_products=joined.distinct_products.fill_null(0),
            distinct_categories=joined.distinct_categories.fill_null(0),
            returned_revenue=joined.returned_revenue.fill_null(0.0),
            returned_items=joined.returned_items.fill_null(0),
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
    return features.mutate(
        recency_days=as_of_date.delta(features.last_order_at.date(), unit="day")
    )


def _with_keys(products: Any, categories: Any) -> Any:
    return products.left_join(categories, "product_id").select(
        products.canonical_id, products.spend, categories.category, categories.brand
    )


def category_spend(db: Any, as_of: datetime, categories: Any, products: Any = None) -> Any:
    """Long table ``(canonical_id, category, spend, share)`` of purchase spend before ``as_of``.

    ``products`` is :func:`product_spend` (computed here when not given).
    """
    products = product_spend(db, as_of, categories) if products is None else products
    return _shares(_with_keys(products, categories), "category")
