"""Building the customer profile (用户画像): one row per canonical customer, point in time.

Three layers, as marketers think of them:

- coarse: country, timezone, signup date and source, tenure;
- medium: reachable channels, consent, identities;
- fine: purchase behaviour (RFM inputs, cadence, returns, diversity, affinities, discount
  sensitivity, share of orders in the November-December peak) and engagement (browsing, carts,
  email opens and clicks, channel, device, active hours and weekdays, days since the last
  visit), and interest tags.

``as_of`` makes the profile use only data strictly before that instant, so models can be trained
without leakage. Everything is one Ibis expression, so it runs on any Ibis backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb
import ibis
import ibis.expr.datatypes as dt

from growthloop.profile._catalogue import derive_categories, product_categories
from growthloop.profile._events import browse_categories, event_features, site_cells
from growthloop.profile._json import json_text
from growthloop.profile._orders import category_spend, order_features, product_spend
from growthloop.profile._scores import attach_scores
from growthloop.segment._rfm import rfm_expr
from growthloop.store import AnalyticalStore

__all__ = ["ProfileBuild", "build_profiles", "default_as_of", "profile_expr"]

_TAG_MIN_SCORE = 0.2
_TAG_MAX = 3
_BROWSE_WEIGHT = 0.3


@dataclass(frozen=True)
class ProfileBuild:
    """What a profile build produced."""

    as_of: datetime
    customers: int
    columns: list[str]
    elapsed_seconds: float


def default_as_of(store: AnalyticalStore) -> datetime:
    """The day after the latest order or event (midnight UTC), or today when the store is empty."""
    latest = store.scalar(
        "SELECT greatest((SELECT max(ordered_at) FROM order_lines), "
        "(SELECT max(timestamp) FROM events))"
    )
    if latest is None:
        now = datetime.now()
        return datetime(now.year, now.month, now.day)
    return datetime(latest.year, latest.month, latest.day) + timedelta(days=1)


def _interest_tags(db: Any, as_of: datetime, categories: Any, products: Any = None) -> Any:
    bought = category_spend(db, as_of, categories, products).mutate(weight=ibis.literal(1.0))
    browsed = browse_categories(db, as_of, categories).mutate(weight=ibis.literal(_BROWSE_WEIGHT))
    both = bought.union(browsed)
    scored = both.group_by(["canonical_id", "category"]).aggregate(
        score=(both.share * both.weight).sum()
    )
    total = scored.group_by("canonical_id").aggregate(total=scored.score.sum())
    normed = scored.join(total, "canonical_id").mutate(score=scored.score / total.total)
    rank = ibis.window(
        group_by=normed.canonical_id, order_by=[ibis.desc(normed.score), normed.category]
    )
    top = normed.mutate(rank=ibis.row_number().over(rank))
    top = top.filter(top["rank"] < _TAG_MAX, top.score >= _TAG_MIN_SCORE)
    return top.group_by("canonical_id").aggregate(
        interest_tags=top.category.collect(order_by=top["rank"])
    )


Stage = Callable[[str, Any], Any]


def _inline(name: str, expr: Any) -> Any:
    return expr


def profile_expr(
    db: Any, as_of: datetime, *, stage: Stage = _inline, interest_tags: bool = True
) -> Any:
    """The profile table as an Ibis expression (see the module docstring).

    ``stage(name, expr)`` may materialise an intermediate result and return a table of it;
    by default everything stays one expression. ``interest_tags=False`` leaves the tags
    empty (NULL): model snapshots do not use them and they cost a pass over product views.
    """
    products = db.table("products")
    derived = product_categories(db)
    categories = products.left_join(derived, "product_id").select(
        products.product_id,
        category=ibis.coalesce(products.category, derived.derived_category),
        brand=products.brand,
        list_price=products.price,
    )
    categories = stage("categories", categories)
    customers = db.table("v_customers")
    customers = stage(
        "customers",
        customers.filter(customers.created_at.isnull() | (customers.created_at < as_of)),
    )
    bought = stage("bought", product_spend(db, as_of, categories))
    orders = stage("orders", order_features(db, as_of, categories, bought))
    events = stage("events", event_features(db, as_of, stage("site", site_cells(db, as_of))))
    ids = (
        customers.select("canonical_id")
        .union(orders.select("canonical_id"))
        .union(events.select("canonical_id"))
        .distinct()
    )
    identities = db.table("identities")
    identity_counts = identities.group_by("canonical_id").aggregate(identities=identities.count())
    joined = (
        ids.left_join(customers, "canonical_id")
        .drop("canonical_id_right")
        .left_join(orders, "canonical_id")
        .drop("canonical_id_right")
        .left_join(events, "canonical_id")
        .drop("canonical_id_right")
        .left_join(identity_counts, "canonical_id")
        .drop("canonical_id_right")
    )
    if interest_tags:
        tags = stage("tags", _interest_tags(db, as_of, categories, bought))
        joined = joined.left_join(tags, "canonical_id").drop("canonical_id_right")
    else:
        joined = joined.mutate(interest_tags=ibis.null(dt.Array(dt.string)))
    as_of_date = ibis.literal(as_of).date()
    started = ibis.coalesce(joined.created_at, joined.first_order_at, joined.last_seen_at)
    consent = json_text(joined.traits, "marketing_opt_in").lower().isin(["true", "yes", "1", "y"])
    has_email = joined.email.notnull()
    has_phone = joined.phone.notnull()
    channels = ibis.array(
        [
            ibis.ifelse(has_email & consent.fill_null(False), "email", ibis.null("string")),
            ibis.ifelse(has_phone & consent.fill_null(False), "sms", ibis.null("string")),
        ]
    ).filter(lambda c: c.notnull())
    return joined.select(
        # coarse
        "canonical_id",
        "country",
        "timezone",
        "created_at",
        signup_source=json_text(joined.traits, "signup_source"),
        tenure_days=as_of_date.delta(started.date(), unit="day"),
        # medium
        has_email=has_email,
        has_phone=has_phone,
        marketing_consent=consent,
        reachable_channels=channels,
        identities=joined.identities.fill_null(1),
        # fine: purchases
        orders=joined.orders.fill_null(0),
        frequency=joined.frequency.fill_null(0),
        recency_days=joined.recency_days,
        monetary=joined.monetary.fill_null(0.0),
        gross_revenue=joined.gross_revenue.fill_null(0.0),
        average_order_value=joined.average_order_value,
        items=joined.items.fill_null(0),
        first_order_at=joined.first_order_at,
        last_order_at=joined.last_order_at,
        mean_days_between_orders=joined.mean_days_between_orders,
        sd_days_between_orders=joined.sd_days_between_orders,
        return_rate=joined.return_rate,
        distinct_products=joined.distinct_products.fill_null(0),
        distinct_categories=joined.distinct_categories.fill_null(0),
        top_category=joined.top_category,
        top_category_share=joined.top_category_share,
        top_brand=joined.top_brand,
        discount_share=joined.discount_share,
        peak_season_share=joined.peak_season_share,
        # fine: engagement
        events=joined.events.fill_null(0),
        product_views=joined.product_views.fill_null(0),
        cart_adds=joined.cart_adds.fill_null(0),
        page_views=joined.page_views.fill_null(0),
        emails_sent=joined.emails_sent.fill_null(0),
        email_open_rate=joined.email_open_rate,
        email_click_rate=joined.email_click_rate,
        view_to_order_rate=joined.view_to_order_rate,
        preferred_channel=joined.preferred_channel,
        preferred_device=joined.preferred_device,
        active_hour=joined.active_hour,
        active_weekday=joined.active_weekday,
        last_seen_at=joined.last_seen_at,
        last_visit_at=joined.last_visit_at,
        days_since_last_visit=as_of_date.delta(joined.last_visit_at.date(), unit="day"),
        interest_tags=joined.interest_tags,
        as_of=ibis.literal(as_of),
    )


def build_profiles(
    store: AnalyticalStore,
    *,
    as_of: datetime | None = None,
    table: str = "profiles",
    rfm_bins: int = 5,
    interest_tags: bool = True,
) -> ProfileBuild:
    """Materialise the profile, with RFM scores and segments, as ``table`` (replacing it).

    ``interest_tags=False`` skips the tags (left NULL), for snapshots that do not use them.
    """
    started = time.perf_counter()
    moment = as_of or default_as_of(store)
    derive_categories(store)
    db = store.ibis

    def stage(name: str, expr: Any) -> Any:
        # Intermediate results as temp tables: smaller queries compile and run faster.
        sql = ibis.to_sql(expr, dialect="duckdb")
        store.con.execute(f"CREATE OR REPLACE TEMP TABLE _profile_{name} AS {sql}")
        staged.append(f"_profile_{name}")
        return db.table(f"_profile_{name}")

    staged: list[str] = []
    try:
        expr = rfm_expr(
            profile_expr(db, moment, stage=stage, interest_tags=interest_tags), bins=rfm_bins
        )
        sql = ibis.to_sql(expr, dialect="duckdb")
        store.con.execute(f"CREATE OR REPLACE TABLE {table} AS {sql}")
    except duckdb.OutOfMemoryException as exc:
        raise store.memory_error(exc) from exc
    finally:
        for name in staged:
            store.con.execute(f"DROP TABLE IF EXISTS {name}")
    if table == "profiles":  # the live profile carries the latest model scores; snapshots don't
        attach_scores(store)
    count = int(store.scalar(f"SELECT count(*) FROM {table}"))
    columns = [str(r[0]) for r in store.con.execute(f"DESCRIBE {table}").fetchall()]
    return ProfileBuild(moment, count, columns, time.perf_counter() - started)
