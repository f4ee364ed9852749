"""Engagement per customer, point in time: browsing, carts, email engagement, channel and
device preference, active hours and weekdays.

``last_seen_at`` is the customer's latest event of any kind, emails sent to them included;
``last_visit_at`` is the latest event the customer made themselves on the site or app (pages,
product views, carts, orders): an email sent to a customer who stopped coming is not a visit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis

from growthloop.profile._json import json_text

__all__ = ["browse_categories", "event_features", "site_cells"]

_EMAIL = ("Email Sent", "Email Opened", "Email Clicked", "Email Bounced", "Unsubscribed")


def _known(db: Any, as_of: datetime) -> Any:
    events = db.table("v_events")
    return events.filter(events.timestamp < as_of, ~events.canonical_id.startswith("anon:"))


def _is_email(ev: Any) -> Any:
    # Page and identify events have no event name: they are not emails.
    return ev.event.isin(_EMAIL).fill_null(False)


def site_cells(db: Any, as_of: datetime) -> Any:
    """Counts of the customer's own (non-email) events by hour, weekday, device and channel.

    Events of one visit share most of these, so this table is several times smaller than the
    events; the preferred channel, device, hour and weekday are read from it.
    """
    ev = _known(db, as_of)
    site = ev.filter(~_is_email(ev))
    return site.group_by(
        "canonical_id",
        hour=site.timestamp.hour(),
        weekday=site.timestamp.day_of_week.full_name(),
        device=json_text(site.context, "device"),
        channel=json_text(site.context, "channel"),
    ).aggregate(n=site.count())


def _mode(cells: Any, column: str, name: str) -> Any:
    """Each customer's most frequent ``column`` value (ties: the smallest value)."""
    known = cells.filter(cells[column].notnull())
    counts = known.group_by(["canonical_id", column]).aggregate(n=known.n.sum())
    top = counts.group_by("canonical_id").aggregate(top=counts.n.max())
    best = counts.join(
        top, [counts.canonical_id == top.canonical_id, counts.n == top.top]
    ).select(counts.canonical_id, value=counts[column])
    return best.group_by("canonical_id").aggregate(**{name: best.value.min()})


def event_features(db: Any, as_of: datetime, cells: Any = None) -> Any:
    """One row per canonical customer with at least one event before ``as_of``.

    ``cells`` is :func:`site_cells` (computed here when not given).
    """
    ev = _known(db, as_of)
    name = ev.event
    is_email = _is_email(ev)
    sent = (name == "Email Sent").sum()
    opened = (name == "Email Opened").sum()
    clicked = (name == "Email Clicked").sum()
    features = ev.group_by("canonical_id").aggregate(
        events=ev.count(),
        product_views=(name == "Product Viewed").sum(),
        cart_adds=(name == "Product Added").sum(),
        checkouts=(name == "Order Completed").sum(),
        page_views=(ev.type == "page").sum(),
        emails_sent=sent,
        emails_opened=opened,
        emails_clicked=clicked,
        last_seen_at=ev.timestamp.max(),
        last_visit_at=ev.timestamp.max(where=~is_email),
    )
    cells = site_cells(db, as_of) if cells is None else cells
    for column, attribute in (
        ("channel", "preferred_channel"),
        ("device", "preferred_device"),
        ("hour", "active_hour"),
        ("weekday", "active_weekday"),
    ):
        features = features.left_join(_mode(cells, column, attribute), "canonical_id").drop(
            "canonical_id_right"
        )
    return features.mutate(
        email_open_rate=ibis.ifelse(
            features.emails_sent > 0, features.emails_opened / features.emails_sent, ibis.null()
        ),
        email_click_rate=ibis.ifelse(
            features.emails_sent > 0, features.emails_clicked / features.emails_sent, ibis.null()
        ),
        view_to_order_rate=ibis.ifelse(
            features.product_views > 0, features.checkouts / features.product_views, ibis.null()
        ),
    )


def browse_categories(db: Any, as_of: datetime, categories: Any) -> Any:
    """Long table ``(canonical_id, category, share)`` of product views before ``as_of``."""
    ev = _known(db, as_of)
    views = ev.filter(ev.event == "Product Viewed").select(
        "canonical_id",
        product_id=json_text(ev.properties, "product_id"),
        event_category=json_text(ev.properties, "category"),
    )
    joined = views.left_join(categories, "product_id").select(
        views.canonical_id, category=ibis.coalesce(views.event_category, categories.category)
    )
    known = joined.filter(joined.category.notnull())
    counts = known.group_by(["canonical_id", "category"]).aggregate(n=known.count())
    total = counts.group_by("canonical_id").aggregate(total=counts.n.sum())
    return counts.join(total, "canonical_id").select(
        "canonical_id", "category", share=counts.n / total.total
    )
