"""Arrow schemas of the output files and the building of event, order and truth tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from growthloop.generate._activity import (
    EMAIL_CLICKED,
    EMAIL_OPENED,
    EMAIL_SENT,
    IDENTIFY,
    KIND_NAMES,
    ORDER_COMPLETED,
    PAGE,
    PAGE_NAMES,
    PRODUCT_ADDED,
    PRODUCT_VIEWED,
    Activity,
)
from growthloop.generate._calendar import TIMESTAMP, Calendar
from growthloop.generate._catalogue import CATEGORIES, Catalogue
from growthloop.generate._customers import CONTEXTS, MAX_DEVICES, Profiles
from growthloop.generate._geo import COUNTRIES, CURRENCIES
from growthloop.generate._segments import SEGMENTS, Latent
from growthloop.generate._strings import concat, hex_ids, mix64, numbered_ids, take

__all__ = [
    "SCHEMAS",
    "Lookups",
    "affinity_table",
    "events_table",
    "orders_table",
    "truth_table",
]

_SALT_MESSAGE = 0x3E55A6E1D
_MIN_AFFINITY = 0.05
_MAX_AFFINITIES = 4

_STRING = pa.string()
SCHEMAS: dict[str, pa.Schema] = {
    "customers": pa.schema([
        ("customer_id", _STRING), ("email", _STRING), ("phone", _STRING), ("name", _STRING),
        ("country", _STRING), ("timezone", _STRING), ("created_at", TIMESTAMP),
        ("signup_source", _STRING), ("birth_year", pa.int32()), ("gender", _STRING),
        ("marketing_opt_in", pa.bool_()),
    ]),
    "products": pa.schema([
        ("product_id", _STRING), ("title", _STRING), ("description", _STRING),
        ("category", _STRING), ("price", pa.float64()), ("currency", _STRING),
        ("tags", _STRING), ("brand", _STRING),
    ]),
    "orders": pa.schema([
        ("order_id", _STRING), ("customer_id", _STRING), ("product_id", _STRING),
        ("quantity", pa.int32()), ("unit_price", pa.float64()), ("ordered_at", TIMESTAMP),
        ("currency", _STRING), ("country", _STRING), ("returned_order_id", _STRING),
    ]),
    "events": pa.schema([
        ("message_id", _STRING), ("type", _STRING), ("event", _STRING), ("name", _STRING),
        ("user_id", _STRING), ("anonymous_id", _STRING), ("timestamp", TIMESTAMP),
        ("properties", _STRING), ("traits", _STRING), ("context", _STRING),
    ]),
    "truth_customers": pa.schema([
        ("customer_id", _STRING), ("segment", _STRING), ("created_at", TIMESTAMP),
        ("churn_at", TIMESTAMP), ("session_rate", pa.float64()),
        ("conversion_rate", pa.float64()), ("purchase_rate", pa.float64()),
        ("churn_hazard", pa.float64()), ("price_sensitivity", pa.float64()),
        ("email_opt_in", pa.bool_()), ("email_open_rate", pa.float64()),
        ("email_click_rate", pa.float64()), ("favourite_category", _STRING),
    ]),
    "truth_affinity": pa.schema([
        ("customer_id", _STRING), ("category", _STRING), ("rank", pa.int8()),
        ("affinity", pa.float64()),
    ]),
}


@dataclass(frozen=True)
class Lookups:
    """Strings shared by every chunk, indexed by small integer codes."""

    kind_type: pa.Array
    kind_event: pa.Array
    page_names: pa.Array
    page_properties: pa.Array  # (page, category)
    product_open: pa.Array  # (product, currency): JSON object without its closing brace
    product_properties: pa.Array
    quantities: pa.Array
    campaign_ids: pa.Array
    campaign_properties: pa.Array
    contexts: pa.Array
    context_open: pa.Array
    currencies: pa.Array
    countries: pa.Array
    segments: pa.Array
    categories: pa.Array

    @classmethod
    def build(cls, catalogue: Catalogue, campaigns: int) -> Lookups:
        """Precompute the strings of the catalogue and campaigns."""
        types = ["page", "identify"] + ["track"] * (len(KIND_NAMES) - 2)
        events = [None, None, *KIND_NAMES[2:]]
        pages = []
        for page in PAGE_NAMES:
            for category in CATEGORIES:
                path = {"Home": "/", "Category": f"/c/{category.slug}", "Search": "/search",
                        "Deals": "/deals", "Account": "/account"}[page]
                title = category.name if page == "Category" else page
                pages.append(f'{{"path":"{path}","title":"{title}"}}')
        products = len(catalogue.price_gbp)
        product_index = np.repeat(np.arange(products), len(CURRENCIES))
        currency_index = np.tile(np.arange(len(CURRENCIES)), products)
        prices = pa.array(catalogue.local_price.ravel(), pa.float64()).cast(_STRING)
        product_open = concat(
            '{"product_id":"', take(catalogue.product_ids, product_index), '","category":"',
            take(catalogue.category_names, catalogue.category[product_index]), '","price":',
            prices, ',"currency":"', take(pa.array(CURRENCIES), currency_index), '"',
        )
        campaign_ids = numbered_ids("CMP", np.arange(1, campaigns + 1, dtype=np.int64), 4)
        contexts = [f'{{"channel":"{c}","device":"{d}"' for c, d in CONTEXTS]
        return cls(
            kind_type=pa.array(types, _STRING),
            kind_event=pa.array(events, _STRING),
            page_names=pa.array(PAGE_NAMES, _STRING),
            page_properties=pa.array(pages, _STRING),
            product_open=product_open,
            product_properties=concat(product_open, "}"),
            quantities=pa.array([str(q) for q in range(1000)], _STRING),
            campaign_ids=campaign_ids,
            campaign_properties=concat('{"campaign_id":"', campaign_ids, '"}'),
            contexts=pa.array([c + "}" for c in contexts] + ['{"channel":"email"}'], _STRING),
            context_open=pa.array(contexts, _STRING),
            currencies=pa.array(CURRENCIES, _STRING),
            countries=pa.array([c.code for c in COUNTRIES], _STRING),
            segments=pa.array([s.name for s in SEGMENTS], _STRING),
            categories=catalogue.category_names,
        )


def _assemble(n: int, groups: list[tuple[npt.NDArray[np.int64], pa.Array]]) -> pa.Array:
    """An array of length ``n`` whose entries at each group's positions are its values."""
    positions = np.concatenate([g[0] for g in groups])
    values = pa.concat_arrays([g[1] for g in groups])
    inverse = np.empty(n, dtype=np.int64)
    inverse[positions] = np.arange(len(positions), dtype=np.int64)
    return values.take(pa.array(inverse))


def events_table(
    activity: Activity,
    profiles: Profiles,
    lookups: Lookups,
    calendar: Calendar,
    *,
    chunk: int,
    seed: int,
    first_order: int,
    lo: int,
    hi: int,
) -> pa.Table:
    """Events ``lo .. hi - 1`` of the chunk in the Segment shape, JSON columns as strings.

    Message ids are unique: they scramble the chunk number and the event's position in it.
    """
    ev = activity.events
    n = hi - lo

    def column(values: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
        return values[lo:hi].astype(np.int64)

    kind, customer, device = column(ev.kind), column(ev.customer), column(ev.device)
    campaign, product, page = column(ev.campaign), column(ev.product), column(ev.page)
    user_known = ev.user_known[lo:hi]
    sequence = (np.uint64(chunk) << np.uint64(36)) | np.arange(lo, hi, dtype=np.uint64)
    message_id = hex_ids("m-", mix64(sequence, _SALT_MESSAGE ^ seed))
    currency = profiles.currency[customer]

    def having(*kinds: int) -> npt.NDArray[np.int64]:
        return np.flatnonzero(np.isin(kind, kinds)).astype(np.int64)

    pages, identifies, views = having(PAGE), having(IDENTIFY), having(PRODUCT_VIEWED)
    adds, orders = having(PRODUCT_ADDED), having(ORDER_COMPLETED)
    emails = having(EMAIL_SENT, EMAIL_OPENED, EMAIL_CLICKED)
    order_index = column(ev.order)[orders]
    order_ids = numbered_ids("O", first_order + 1 + order_index, 10)
    revenue = pa.array(activity.revenue[order_index], pa.float64()).cast(_STRING)
    page_key = page[pages] * len(CATEGORIES) + column(ev.page_category)[pages]
    quantity = np.minimum(column(ev.quantity)[adds], 999)
    properties = _assemble(n, [
        (pages, take(lookups.page_properties, page_key)),
        (identifies, pa.nulls(len(identifies), _STRING)),
        (views, take(lookups.product_properties,
                     product[views] * len(CURRENCIES) + currency[views])),
        (adds, concat(take(lookups.product_open, product[adds] * len(CURRENCIES) + currency[adds]),
                      ',"quantity":', take(lookups.quantities, quantity), "}")),
        (orders, concat('{"order_id":"', order_ids, '","revenue":', revenue, ',"currency":"',
                        take(lookups.currencies, currency[orders]), '"}')),
        (emails, take(lookups.campaign_properties, campaign[emails])),
    ])

    device_context = profiles.device_context[customer, np.maximum(device, 0)]
    context_code = np.where(device < 0, len(CONTEXTS), device_context)
    plain = np.flatnonzero((device < 0) | (campaign < 0)).astype(np.int64)
    campaigned = np.flatnonzero((device >= 0) & (campaign >= 0)).astype(np.int64)
    context = _assemble(n, [
        (plain, take(lookups.contexts, context_code[plain])),
        (campaigned, concat(take(lookups.context_open, context_code[campaigned]),
                            ',"campaign":{"source":"email","medium":"email","name":"',
                            take(lookups.campaign_ids, campaign[campaigned]), '"}}')),
    ])

    is_identify = kind == IDENTIFY
    traits = _assemble(n, [
        (np.flatnonzero(is_identify).astype(np.int64),
         take(profiles.traits, customer[is_identify])),
        (np.flatnonzero(~is_identify).astype(np.int64),
         pa.nulls(int((~is_identify).sum()), _STRING)),
    ])
    device_key = customer * MAX_DEVICES + np.maximum(device, 0)
    return pa.table(
        {
            "message_id": message_id,
            "type": take(lookups.kind_type, kind),
            "event": take(lookups.kind_event, kind),
            "name": take(lookups.page_names, np.maximum(page, 0), mask=kind != PAGE),
            "user_id": take(profiles.customer_ids, customer, mask=~user_known),
            "anonymous_id": take(profiles.anonymous_ids, device_key, mask=device < 0),
            "timestamp": calendar.timestamps(ev.second[lo:hi]),
            "properties": properties,
            "traits": traits,
            "context": context,
        },
        schema=SCHEMAS["events"],
    )


def orders_table(
    activity: Activity,
    profiles: Profiles,
    catalogue: Catalogue,
    lookups: Lookups,
    calendar: Calendar,
    first_order: int,
    first_return: int,
) -> pa.Table:
    """The chunk's order lines: sales on "O" orders, returns on "R" orders."""
    lines = activity.lines
    sale_ids = numbered_ids("O", first_order + 1 + lines.order, 10)
    return_ids = numbered_ids("R", first_return + 1 + lines.order, 10)
    original = numbered_ids("O", first_order + 1 + np.maximum(lines.returned_order, 0), 10)
    is_return = pa.array(lines.is_return)
    return pa.table(
        {
            "order_id": pc.if_else(is_return, return_ids, sale_ids),
            "customer_id": take(profiles.customer_ids, lines.customer, mask=lines.guest),
            "product_id": take(catalogue.product_ids, lines.product),
            "quantity": pa.array(lines.quantity.astype(np.int32), pa.int32()),
            "unit_price": pa.array(lines.unit_price, pa.float64()),
            "ordered_at": calendar.timestamps(lines.second),
            "currency": take(lookups.currencies, profiles.currency[lines.customer]),
            "country": take(lookups.countries, profiles.country[lines.customer]),
            "returned_order_id": take(original, np.arange(len(lines), dtype=np.int64),
                                      mask=~lines.is_return),
        },
        schema=SCHEMAS["orders"],
    )


def truth_table(
    latent: Latent,
    profiles: Profiles,
    lookups: Lookups,
    calendar: Calendar,
    dropout_day: npt.NDArray[np.float64],
    last_session_event: npt.NDArray[np.int64],
) -> pa.Table:
    """The latent segment and parameters of each customer of the chunk.

    ``churn_at`` is the dropout time, or the end of the session in progress at that moment.
    """
    churned = dropout_day < calendar.days
    dropout = np.floor(np.where(churned, dropout_day, 0.0) * 86_400.0).astype(np.int64)
    churn_second = np.maximum(dropout, last_session_event + 1)
    favourite = np.argmax(latent.affinity, axis=1)
    return pa.table(
        {
            "customer_id": profiles.customer_ids,
            "segment": take(lookups.segments, latent.segment),
            "created_at": profiles.table.column("created_at"),
            "churn_at": calendar.timestamps(churn_second, mask=~churned),
            "session_rate": pa.array(latent.session_rate),
            "conversion_rate": pa.array(latent.conversion),
            "purchase_rate": pa.array(latent.purchase_rate),
            "churn_hazard": pa.array(latent.churn_hazard),
            "price_sensitivity": pa.array(latent.price_sensitivity),
            "email_opt_in": pa.array(latent.opt_in),
            "email_open_rate": pa.array(latent.open_rate),
            "email_click_rate": pa.array(latent.click_rate),
            "favourite_category": take(lookups.categories, favourite.astype(np.int64)),
        },
        schema=SCHEMAS["truth_customers"],
    )


def affinity_table(latent: Latent, profiles: Profiles, lookups: Lookups) -> pa.Table:
    """Each customer's strongest category affinities (long format)."""
    order = np.argsort(-latent.affinity, axis=1, kind="stable")[:, :_MAX_AFFINITIES]
    weight = np.take_along_axis(latent.affinity, order, axis=1)
    keep = weight >= _MIN_AFFINITY
    keep[:, 0] = True
    customer, rank = np.nonzero(keep)
    return pa.table(
        {
            "customer_id": take(profiles.customer_ids, customer.astype(np.int64)),
            "category": take(lookups.categories, order[customer, rank].astype(np.int64)),
            "rank": pa.array((rank + 1).astype(np.int8), pa.int8()),
            "affinity": pa.array(weight[customer, rank], pa.float64()),
        },
        schema=SCHEMAS["truth_affinity"],
    )
