"""Interactions and the item catalogue read from a workspace's analytical store.

Interactions come from two tables (Ibis expressions, so they run on any Ibis backend):

- order lines: each sale line of a known customer is a purchase (``purchase`` weight, basket =
  its order), each return line counts against the item (``returned`` weight, basket = the
  return order). The weight is per line, whatever the quantity. Non-product lines (postage,
  fees) and guest lines are left out. ``Order Completed`` events are not read: their products
  arrive as order lines.
- events: Segment-spec ``track`` events named in ``view_events`` (``Product Viewed``) and
  ``cart_events`` (``Product Added``) with a ``product_id`` property, weighted ``view`` and
  ``cart``; their basket is the customer's day (UTC), as events carry no session id.

Users are canonical customer ids (anonymous visitors only with ``include_anonymous``), items are
product ids, and only data strictly before ``as_of`` is read. Time decay is applied later, by
:meth:`Interactions.matrix`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ibis
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from growthloop.errors import ModelError
from growthloop.profile import json_text
from growthloop.recommend._candidates import Catalogue
from growthloop.recommend._interactions import Interactions
from growthloop.store import AnalyticalStore

__all__ = [
    "InteractionWeights",
    "catalogue_from_store",
    "interactions_from_store",
    "order_line_entries",
]


@dataclass(frozen=True)
class InteractionWeights:
    """Weight of each kind of interaction.

    Parameters
    ----------
    purchase
        Per sale order line (> 0).
    cart, view
        Per cart-add and product-view event (>= 0; 0 leaves those events out).
    returned
        Per return order line (<= 0; 0 ignores returns).
    cart_events, view_events
        The event names that count as cart-adds and as views.
    """

    purchase: float = 1.0
    cart: float = 0.3
    view: float = 0.1
    returned: float = -1.0
    cart_events: tuple[str, ...] = ("Product Added",)
    view_events: tuple[str, ...] = ("Product Viewed",)

    def __post_init__(self) -> None:
        for name, value, rule, ok in (
            ("purchase", self.purchase, "> 0", self.purchase > 0),
            ("cart", self.cart, ">= 0", self.cart >= 0),
            ("view", self.view, ">= 0", self.view >= 0),
            ("returned", self.returned, "<= 0", self.returned <= 0),
        ):
            if not (math.isfinite(value) and ok):
                raise ModelError(
                    f"interaction weight {name}={value!r} must be a finite number {rule}; "
                    f"pass for example {getattr(InteractionWeights, name)}"
                )
        both = sorted(set(self.cart_events) & set(self.view_events))
        if both:
            raise ModelError(
                f"event {both[0]!r} is both a cart event and a view event; name it in one list"
            )

    def event_weights(self) -> dict[str, float]:
        """Event name to weight, for the events that count (weight above 0)."""
        weights = dict.fromkeys(self.view_events, self.view)
        weights.update(dict.fromkeys(self.cart_events, self.cart))
        return {name: w for name, w in weights.items() if w > 0}


def interactions_from_store(
    store: AnalyticalStore,
    *,
    weights: InteractionWeights | None = None,
    as_of: datetime | None = None,
    include_anonymous: bool = False,
) -> Interactions:
    """The store's purchases, returns, cart-adds and views before ``as_of`` as interactions.

    Entries are ordered by time, user, item, basket and weight, so the same store always gives
    the same log.

    Raises
    ------
    ModelError
        If there is no interaction before ``as_of``.
    """
    weights = weights or InteractionWeights()
    db = store.ibis
    parts = [_order_entries(db, weights, as_of)]
    events = _event_entries(db, weights, as_of, include_anonymous)
    if events is not None:
        parts.append(events)
    expr = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    table = expr.order_by(["time", "user", "item", "basket", "weight"]).to_pyarrow()
    if table.num_rows == 0:
        moment = "" if as_of is None else f" before {as_of.isoformat()}"
        raise ModelError(
            f"the store has no purchases, cart-adds or views{moment}; load orders or events "
            "first (growthloop load), or choose a later as_of"
        )
    user, user_ids = _codes(table["user"])
    item, item_ids = _codes(table["item"])
    basket = pd.factorize(_strings(table["basket"]))[0]
    time = table["time"].to_numpy().astype("datetime64[s]")
    return Interactions(
        user_ids=user_ids,
        item_ids=item_ids,
        user=user.astype(np.int32),
        item=item.astype(np.int32),
        weight=table["weight"].to_numpy().astype(np.float32),
        time=time,
        basket=basket.astype(np.int64),
    )


def order_line_entries(
    interactions: Interactions, weights: InteractionWeights | None = None
) -> npt.NDArray[np.bool_]:
    """Which entries of a log read with ``weights`` are order lines (purchases and returns),
    not cart-adds or views: what an evaluation counts as relevant. Told apart by weight."""
    weights = weights or InteractionWeights()
    lines = {weights.purchase, weights.returned} - {0.0}
    shared = lines & set(weights.event_weights().values())
    if shared:
        raise ModelError(
            f"order lines and events share the weight {sorted(shared)[0]}, so purchases cannot "
            "be told from cart-adds or views; give events a different weight"
        )
    return np.isin(interactions.weight, np.asarray(sorted(lines), dtype=np.float32))


def _order_entries(db: Any, weights: InteractionWeights, as_of: datetime | None) -> Any:
    lines = db.table("v_order_lines")
    kinds = ["sale"] if weights.returned == 0 else ["sale", "return"]
    keep = [
        lines.canonical_id.notnull(),
        lines.product_id.notnull(),
        lines.line_kind.isin(kinds),
    ]
    if as_of is not None:
        keep.append(lines.ordered_at < as_of)
    lines = lines.filter(*keep)
    weight = ibis.ifelse(
        lines.line_kind == "sale", ibis.literal(weights.purchase), ibis.literal(weights.returned)
    )
    return lines.select(
        user=lines.canonical_id,
        item=lines.product_id,
        weight=weight.cast("float64"),
        time=lines.ordered_at,
        basket=ibis.literal("o:").concat(lines.order_id),
    )


def _event_entries(
    db: Any, weights: InteractionWeights, as_of: datetime | None, include_anonymous: bool
) -> Any:
    by_name = weights.event_weights()
    if not by_name:
        return None
    ev = db.table("v_events")
    keep = [ev.type == "track", ev.event.isin(list(by_name)), ev.canonical_id.notnull()]
    if not include_anonymous:
        keep.append(~ev.canonical_id.startswith("anon:"))
    if as_of is not None:
        keep.append(ev.timestamp < as_of)
    ev = ev.filter(*keep)
    ev = ev.mutate(item=json_text(ev.properties, "product_id"))
    ev = ev.filter(ev.item.notnull() & (ev.item != ""))
    weight = ibis.cases(*[(ev.event == name, w) for name, w in by_name.items()], else_=0.0)
    day = ev.timestamp.date().cast("string")
    return ev.select(
        user=ev.canonical_id,
        item=ev.item,
        weight=weight.cast("float64"),
        time=ev.timestamp,
        basket=ibis.literal("d:").concat(ev.canonical_id, ibis.literal(":"), day),
    )


def _strings(column: pa.ChunkedArray) -> npt.NDArray[np.object_]:
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)


def _codes(column: pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.object_]]:
    """Codes into the sorted distinct values (the vocabulary order ``from_frame`` uses)."""
    codes, uniques = pd.factorize(_strings(column), sort=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def catalogue_from_store(
    store: AnalyticalStore, item_ids: npt.NDArray[np.object_]
) -> Catalogue:
    """Facts about each of ``item_ids`` (in that order) from the ``products`` table.

    ``text`` is the title on its first line, then description, category, brand and tags;
    ``category`` is the product's
    or, where it has none, the one derived from its text (the ``product_categories`` table a
    profile build writes, when it exists); ``price`` is the list price (NaN when unknown).
    Items missing from ``products`` get empty text and category, a NaN price and are not
    ``available``: nothing is known to show about them.
    """
    db = store.ibis
    products = db.table("products")
    if store.has_table("product_categories"):
        derived = db.table("product_categories")
        products = products.left_join(derived, "product_id").select(
            products, derived.derived_category, derived.derived_tags
        )
    else:
        products = products.mutate(
            derived_category=ibis.null("string"), derived_tags=ibis.null("array<string>")
        )
    rows = (
        products.select(
            "product_id",
            "title",
            "description",
            "brand",
            "updated_at",
            category=ibis.coalesce(products.category, products.derived_category),
            tags=ibis.coalesce(products.tags, products.derived_tags),
            price=products.price.cast("float64"),
        )
        .order_by(["product_id", "updated_at"])
        .to_pandas()
        .drop_duplicates("product_id", keep="last")  # the latest record of a product
    )
    position = pd.Index(np.asarray(item_ids).astype(str)).get_indexer(rows["product_id"])
    rows = rows[position >= 0]
    position = position[position >= 0]
    n = len(item_ids)
    text = np.full(n, "", dtype=object)
    category = np.full(n, "", dtype=object)
    price = np.full(n, np.nan, dtype=np.float64)
    available = np.zeros(n, dtype=bool)
    text[position] = [
        _text(title, description, cat, brand, tags)
        for title, description, cat, brand, tags in zip(
            rows["title"], rows["description"], rows["category"], rows["brand"], rows["tags"],
            strict=True,
        )
    ]
    category[position] = rows["category"].fillna("").astype(str).to_numpy()
    price[position] = rows["price"].to_numpy(dtype=np.float64, na_value=np.nan)
    available[position] = True
    return Catalogue(text=text, category=category, price=price, available=available)


def _text(title: Any, *parts: Any) -> str:
    """The title on a line of its own (reasons quote the first line as the item's name), then
    the other non-empty parts joined by spaces; a list of tags becomes its words."""
    words: list[str] = []
    for part in parts:
        if part is None or (isinstance(part, float) and math.isnan(part)):
            continue
        if isinstance(part, str):
            words.append(part)
        else:  # tags: a list or array of strings
            words.extend(str(tag) for tag in part if tag)
    rest = " ".join(w.strip() for w in words if w and w.strip())
    name = title.strip() if isinstance(title, str) else ""
    return "\n".join(line for line in (name, rest) if line)
