"""Looking up one customer: canonical id, merged identities with the links that explain them,
stored attributes, and recent activity."""

from __future__ import annotations

from typing import Any

from growthloop.errors import NotFoundError
from growthloop.store import AnalyticalStore

__all__ = ["find_canonical_id", "show_customer"]


def find_canonical_id(store: AnalyticalStore, identity: str) -> str:
    """The canonical id of any identity: a customer id, ``anon:`` id, email, phone or
    anonymous id."""
    text = identity.strip()
    hit = store.scalar(
        "SELECT canonical_id FROM identities WHERE value = ? OR canonical_id = ? "
        "ORDER BY kind = 'customer' DESC LIMIT 1",
        [text, text],
    )
    if hit is None and text.lower() != text:
        hit = store.scalar(
            "SELECT canonical_id FROM identities WHERE kind = 'email' AND value = ? LIMIT 1",
            [text.lower()],
        )
    if hit is not None:
        return str(hit)
    for sql in (
        "SELECT customer_id FROM customers WHERE customer_id = ? LIMIT 1",
        "SELECT customer_id FROM order_lines WHERE customer_id = ? LIMIT 1",
        "SELECT user_id FROM events WHERE user_id = ? LIMIT 1",
    ):
        if store.scalar(sql, [text]) is not None:
            return text
    raise NotFoundError(
        f"no customer has the identity {text!r} (tried customer ids, emails, phones and "
        "anonymous ids); check the id or load the data that mentions it"
    )


def show_customer(store: AnalyticalStore, identity: str, *, recent: int = 10) -> dict[str, Any]:
    """Everything known about the customer behind ``identity``."""
    canonical = find_canonical_id(store, identity)
    identities = store.rows(
        "SELECT kind, value FROM identities WHERE canonical_id = ? ORDER BY kind, value",
        [canonical],
    )
    if not identities:
        identities = [{"kind": "customer", "value": canonical}]
    customer_ids = [i["value"] for i in identities if i["kind"] == "customer"] or [canonical]
    links = store.rows(
        """SELECT left_kind, left_value, right_kind, right_value, source, load_id, linked_at
        FROM identity_links l WHERE EXISTS (
            SELECT 1 FROM identities i WHERE i.canonical_id = ? AND i.kind = l.left_kind
              AND i.value = l.left_value) ORDER BY linked_at, left_value, right_value""",
        [canonical],
    )
    merges = store.rows(
        "SELECT absorbed_id, merged_at, load_id FROM identity_merges WHERE canonical_id = ? "
        "ORDER BY merged_at",
        [canonical],
    )
    records = store.rows(
        "SELECT customer_id, email, phone, name, country, timezone, created_at, traits "
        "FROM customers WHERE list_contains(?, customer_id) ORDER BY customer_id",
        [customer_ids],
    )
    orders = store.rows(
        """SELECT count(DISTINCT order_id) FILTER (WHERE line_kind = 'sale') AS orders,
                  sum(amount) FILTER (WHERE line_kind IN ('sale', 'return')) AS net_revenue,
                  count(*) FILTER (WHERE line_kind = 'return') AS return_lines,
                  min(ordered_at) AS first_order_at, max(ordered_at) AS last_order_at
        FROM v_order_lines WHERE canonical_id = ?""",
        [canonical],
    )[0]
    recent_orders = store.rows(
        "SELECT order_id, ordered_at, order_kind, items, total_amount, currency FROM v_orders "
        "WHERE canonical_id = ? ORDER BY ordered_at DESC LIMIT ?",
        [canonical, recent],
    )
    recent_events = store.rows(
        "SELECT timestamp, type, coalesce(event, name) AS event, message_id FROM v_events "
        "WHERE canonical_id = ? ORDER BY timestamp DESC LIMIT ?",
        [canonical, recent],
    )
    profile = None
    if store.has_table("profiles"):
        found = store.rows("SELECT * FROM profiles WHERE canonical_id = ?", [canonical])
        profile = found[0] if found else None
    segments = store.rows(
        "SELECT segment_id, entered_at FROM segment_membership WHERE canonical_id = ? "
        "AND exited_at IS NULL ORDER BY segment_id",
        [canonical],
    )
    return {
        "canonical_id": canonical,
        "profile": profile,
        "segments": segments,
        "identities": identities,
        "links": links,
        "merges": merges,
        "records": records,
        "orders": orders,
        "recent_orders": recent_orders,
        "recent_events": recent_events,
    }
