"""Building the customer profile (用户画像): one row per canonical customer, point in time.

Three layers, as marketers think of them:

- coarse: country, timezone, signup date and source, tenure;
- medium: reachable channels, consent, identities;
- fine: purchase behaviour (RFM inputs, cadence, returns, diversity, affinities, discount
  sensitivity, share of orders in the November-December peak) and engagement (browsing, carts,
  email opens and clicks, channel, device, active hours and weekdays, days since the last
  visit), and interest tags.

``as_of`` makes the profile use only data strictly before that instant, so models can be trained
without leakage. Everything is written as Ibis expressions, so it runs on any Ibis backend;
:func:`build_profiles` materialises the intermediate results one at a time (largest first) and
drops each as soon as the rest no longer reads it, which keeps the memory they hold small.
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
from growthloop.profile._events import event_features, site_cells
from growthloop.profile._json import json_texts
from growthloop.profile._orders import category_spend, order_features, product_spend
from growthloop.profile._scores import attach_scores
from growthloop.profile._tags import interest_tags as tags_expr
from growthloop.segment._rfm import rfm_scores
from growthloop.store import AnalyticalStore

__all__ = ["ProfileBuild", "build_profiles", "default_as_of", "profile_expr"]

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


Stage = Callable[[str, Any], Any]
Release = Callable[[Any], None]


def _inline(name: str, expr: Any) -> Any:
    return expr


def _keep(table: Any) -> None:
    return None


def profile_expr(
    db: Any,
    as_of: datetime,
    *,
    stage: Stage = _inline,
    release: Release = _keep,
    interest_tags: bool = True,
    rfm_bins: int | None = None,
) -> Any:
    """The profile table as an Ibis expression (see the module docstring).

    ``stage(name, expr)`` may materialise an intermediate result and return a table of it;
    ``release(table)`` is then called with each staged table the rest no longer reads, so it
    can be dropped. By default everything stays one expression. ``interest_tags=False`` leaves
    the tags empty (NULL): model snapshots do not use them and they cost a pass over product
    views. With ``rfm_bins``, the RFM scores and segments (:func:`rfm_scores`, read from the
    purchase features alone) follow the other columns.
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
    # The largest intermediate results first, each released as soon as it has been read.
    cells = stage("site", site_cells(db, as_of))
    events = stage("events", event_features(db, as_of, cells))
    release(cells)
    bought = stage("bought", product_spend(db, as_of, categories))
    category_shares = stage("category_spend", category_spend(db, as_of, categories, bought))
    orders = stage("orders", order_features(db, as_of, categories, bought, category_shares))
    release(bought)
    rfm = None if rfm_bins is None else stage("rfm", rfm_scores(orders, rfm_bins))
    tags = None
    if interest_tags:
        tags = stage("tags", tags_expr(db, as_of, categories, category_shares))
    release(category_shares)
    customers = db.table("v_customers")
    customers = customers.filter(customers.created_at.isnull() | (customers.created_at < as_of))
    signup_source, opt_in = json_texts(customers.traits, "signup_source", "marketing_opt_in")
    customers = stage(
        "customers",
        customers.select(
            "canonical_id",
            "email",
            "phone",
            "country",
            "timezone",
            "created_at",
            signup_source=signup_source,
            marketing_opt_in=opt_in,
        ),
    )
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
    if tags is not None:
        joined = joined.left_join(tags, "canonical_id").drop("canonical_id_right")
    else:
        joined = joined.mutate(interest_tags=ibis.null(dt.Array(dt.string)))
    as_of_date = ibis.literal(as_of).date()
    started = ibis.coalesce(joined.created_at, joined.first_order_at, joined.last_seen_at)
    consent = joined.marketing_opt_in.lower().isin(["true", "yes", "1", "y"])
    has_email = joined.email.notnull()
    has_phone = joined.phone.notnull()
    channels = ibis.array(
        [
            ibis.ifelse(has_email & consent.fill_null(False), "email", ibis.null("string")),
            ibis.ifelse(has_phone & consent.fill_null(False), "sms", ibis.null("string")),
        ]
    ).filter(lambda c: c.notnull())
    profile = joined.select(
        # coarse
        "canonical_id",
        "country",
        "timezone",
        "created_at",
        signup_source=joined.signup_source,
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
    if rfm is None:
        return profile
    return profile.left_join(rfm, "canonical_id").drop("canonical_id_right")


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

    def release(staged_table: Any) -> None:
        # Temp tables live in memory, next to the queries' own: drop each one early.
        store.con.execute(f"DROP TABLE IF EXISTS {staged_table.get_name()}")

    staged: list[str] = []
    try:
        profile = profile_expr(
            db, moment, stage=stage, release=release, interest_tags=interest_tags,
            rfm_bins=rfm_bins,
        )
        sql = ibis.to_sql(profile, dialect="duckdb")
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
