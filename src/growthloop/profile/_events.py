"""Engagement per customer, point in time: browsing, carts, email engagement, channel and
device preference, active hours and weekdays.

``last_seen_at`` is the customer's latest event of any kind, emails sent to them included;
``last_visit_at`` is the latest event the customer made themselves on the site or app (pages,
product views, carts, orders): an email sent to a customer who stopped coming is not a visit.

The events are by far the largest table, so the engagement attributes read them in two passes,
one over each part: the customer's own events into :func:`site_cells`, the emails by customer.
Every attribute is then read from these two much smaller tables. The preferred hour, weekday,
channel and device are the most frequent value (ties: the smallest value; weekdays by name).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import ibis

from growthloop.profile._json import json_texts

__all__ = ["browse_categories", "event_features", "site_cells"]

_EMAIL = ("Email Sent", "Email Opened", "Email Clicked", "Email Bounced", "Unsubscribed")
_HOURS = tuple(range(24))
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _known(db: Any, as_of: datetime) -> Any:
    events = db.table("v_events")
    return events.filter(events.timestamp < as_of, ~events.canonical_id.startswith("anon:"))


def _is_email(ev: Any) -> Any:
    # Page and identify events have no event name: they are not emails.
    return ev.event.isin(_EMAIL).fill_null(False)


def site_cells(db: Any, as_of: datetime) -> Any:
    """The customer's own (non-email) events by hour, weekday (0 = Monday), device and channel.

    Each cell counts its events (``n``), product views, cart adds, checkouts and page views, and
    keeps the latest event time. Events of one visit share a cell, so this table is several
    times smaller than the events; the engagement counts and the preferred channel, device, hour
    and weekday are read from it.
    """
    ev = _known(db, as_of)
    site = ev.filter(~_is_email(ev))
    name = site.event
    device, channel = json_texts(site.context, "device", "channel")
    return site.group_by(
        "canonical_id",
        hour=site.timestamp.hour(),
        weekday=site.timestamp.day_of_week.index().cast("int8"),
        device=device,
        channel=channel,
    ).aggregate(
        n=site.count(),
        product_views=site.count(where=name == "Product Viewed"),
        cart_adds=site.count(where=name == "Product Added"),
        checkouts=site.count(where=name == "Order Completed"),
        page_views=site.count(where=site.type == "page"),
        last_visit_at=site.timestamp.max(),
    )


def _emails(db: Any, as_of: datetime) -> Any:
    """Per customer: the email events (sent, opened, clicked, ...) and the latest one."""
    ev = _known(db, as_of)
    email = ev.filter(_is_email(ev))
    name = email.event
    return email.group_by("canonical_id").aggregate(
        email_events=email.count(),
        emails_sent=(name == "Email Sent").sum(),
        emails_opened=(name == "Email Opened").sum(),
        emails_clicked=(name == "Email Clicked").sum(),
        last_email_at=email.timestamp.max(),
    )


def _mode(cells: Any, column: str, name: str) -> Any:
    """Each customer's most frequent ``column`` value (ties: the smallest value)."""
    known = cells.filter(cells[column].notnull())
    counts = known.group_by(["canonical_id", column]).aggregate(n=known.n.sum())
    value = counts[column]
    return counts.group_by("canonical_id").aggregate(
        **{name: value.first(order_by=[ibis.desc(counts.n), value])}
    )


def _coded_mode(cells: Any, column: str, name: str, labels: Sequence[Any]) -> Any:
    """Each customer's most frequent ``column`` value, a code ``0 .. len(labels) - 1`` that
    stands for ``labels[code]``, as its label (ties: the smallest label).

    Like :func:`_mode`, but a plain max per customer instead of an ordered pick, which costs
    about half: the count and the label's rank are packed into one number,
    ``count * size + (size - 1 - rank)``, so the largest count wins and then the smallest label.
    """
    size = len(labels)
    codes = sorted(range(size), key=lambda code: labels[code])  # codes in label order
    known = cells.filter(cells[column].notnull())
    counts = known.group_by(["canonical_id", column]).aggregate(n=known.n.sum())
    rank = counts[column].cases(*((code, r) for r, code in enumerate(codes)))
    best = counts.group_by("canonical_id").aggregate(
        packed=(counts.n * size + (size - 1 - rank)).max()
    )
    top = size - 1 - best.packed % size
    return best.select(
        "canonical_id", **{name: top.cases(*((r, labels[code]) for r, code in enumerate(codes)))}
    )


def event_features(db: Any, as_of: datetime, cells: Any = None) -> Any:
    """One row per canonical customer with at least one event before ``as_of``.

    ``cells`` is :func:`site_cells` (computed here when not given).
    """
    cells = site_cells(db, as_of) if cells is None else cells
    visits = cells.group_by("canonical_id").aggregate(
        # DuckDB sums integers into HUGEINT, which Ibis types int64 (so a cast to int64 would be
        # left out): through decimal, ``events`` stays a BIGINT count.
        site_events=cells.n.sum().cast("decimal(38, 0)"),
        product_views=cells.product_views.sum(),
        cart_adds=cells.cart_adds.sum(),
        checkouts=cells.checkouts.sum(),
        page_views=cells.page_views.sum(),
        last_visit_at=cells.last_visit_at.max(),
    )
    modes = (
        _mode(cells, "channel", "preferred_channel"),
        _mode(cells, "device", "preferred_device"),
        _coded_mode(cells, "hour", "active_hour", _HOURS),
        _coded_mode(cells, "weekday", "active_weekday", _WEEKDAYS),
    )
    for mode in modes:
        visits = visits.left_join(mode, "canonical_id").drop("canonical_id_right")
    # Customers who only received emails have no site cells, and the other way round.
    emails = _emails(db, as_of)
    features = visits.outer_join(emails, "canonical_id").select(
        canonical_id=ibis.coalesce(visits.canonical_id, emails.canonical_id),
        events=(visits.site_events.fill_null(0) + emails.email_events.fill_null(0)).cast(
            "int64"
        ),
        product_views=visits.product_views.fill_null(0),
        cart_adds=visits.cart_adds.fill_null(0),
        checkouts=visits.checkouts.fill_null(0),
        page_views=visits.page_views.fill_null(0),
        emails_sent=emails.emails_sent.fill_null(0),
        emails_opened=emails.emails_opened.fill_null(0),
        emails_clicked=emails.emails_clicked.fill_null(0),
        last_seen_at=ibis.greatest(visits.last_visit_at, emails.last_email_at),
        last_visit_at=visits.last_visit_at,
        preferred_channel=visits.preferred_channel,
        preferred_device=visits.preferred_device,
        active_hour=visits.active_hour.cast("int64"),
        active_weekday=visits.active_weekday,
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
    viewed = ev.filter(ev.event == "Product Viewed")
    product_id, event_category = json_texts(viewed.properties, "product_id", "category")
    views = viewed.select("canonical_id", product_id=product_id, event_category=event_category)
    joined = views.left_join(categories, "product_id").select(
        views.canonical_id, category=ibis.coalesce(views.event_category, categories.category)
    )
    known = joined.filter(joined.category.notnull())
    counts = known.group_by(["canonical_id", "category"]).aggregate(n=known.count())
    total = counts.group_by("canonical_id").aggregate(total=counts.n.sum())
    return counts.join(total, "canonical_id").select(
        "canonical_id", "category", share=counts.n / total.total
    )
