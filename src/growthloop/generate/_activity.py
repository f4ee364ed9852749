"""Expand sessions and emails into behavioural events and order lines (numeric columns)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from growthloop.generate._calendar import Calendar
from growthloop.generate._catalogue import CATEGORIES, Catalogue
from growthloop.generate._choice import ProductChooser, choose_rows
from growthloop.generate._customers import Profiles
from growthloop.generate._email import EmailActivity
from growthloop.generate._segments import Latent, segment_values
from growthloop.generate._sessions import IDENTIFY_EARLY, IDENTIFY_LATE, Sessions

__all__ = [
    "EMAIL_CLICKED",
    "EMAIL_OPENED",
    "EMAIL_SENT",
    "IDENTIFY",
    "KIND_NAMES",
    "ORDER_COMPLETED",
    "PAGE",
    "PAGE_NAMES",
    "PRODUCT_ADDED",
    "PRODUCT_VIEWED",
    "Activity",
    "Events",
    "OrderLines",
    "expand_activity",
]

PAGE, IDENTIFY, PRODUCT_VIEWED, PRODUCT_ADDED, ORDER_COMPLETED = 0, 1, 2, 3, 4
EMAIL_SENT, EMAIL_OPENED, EMAIL_CLICKED = 5, 6, 7
KIND_NAMES = ("page", "identify", "Product Viewed", "Product Added", "Order Completed",
              "Email Sent", "Email Opened", "Email Clicked")
PAGE_NAMES = ("Home", "Category", "Search", "Deals", "Account")
# Page mix: (Home, Category, Search, Deals, Account) for the first and the later pages.
_FIRST_PAGE = np.array([0.6, 0.25, 0.05, 0.1, 0.0])
_LATER_PAGE = np.array([0.1, 0.5, 0.2, 0.1, 0.1])
_DEALS_PAGE = PAGE_NAMES.index("Deals")
_GAP_SECONDS = 35.0
_RETURN_DAYS = (2.0, 21.0)


@dataclass(frozen=True)
class Events:
    """One entry per event of a chunk, in time order (narrow integer types to save memory)."""

    kind: npt.NDArray[np.int8]
    customer: npt.NDArray[np.int32]
    second: npt.NDArray[np.int64]
    user_known: npt.NDArray[np.bool_]  # the event carries the user id
    device: npt.NDArray[np.int8]  # -1 for emails (no anonymous id)
    campaign: npt.NDArray[np.int16]  # email campaign, or the one that opened the session; -1
    product: npt.NDArray[np.int32]  # product events; else -1
    quantity: npt.NDArray[np.int16]  # Product Added; else 0
    order: npt.NDArray[np.int32]  # Order Completed: index into the chunk's orders; else -1
    page: npt.NDArray[np.int8]  # page events: index into PAGE_NAMES; else -1
    page_category: npt.NDArray[np.int8]  # category shown on category pages

    def __len__(self) -> int:
        return len(self.kind)


@dataclass(frozen=True)
class OrderLines:
    """One entry per order line (sales and returns) of a chunk, in time order."""

    order: npt.NDArray[np.int64]  # index into the chunk's orders (sales) or returns
    is_return: npt.NDArray[np.bool_]
    returned_order: npt.NDArray[np.int64]  # returns: the sale order's index; else -1
    customer: npt.NDArray[np.int64]
    guest: npt.NDArray[np.bool_]
    product: npt.NDArray[np.int64]
    quantity: npt.NDArray[np.int64]
    unit_price: npt.NDArray[np.float64]
    second: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.order)


@dataclass(frozen=True)
class Activity:
    """Events and order lines of a chunk plus order totals."""

    events: Events
    lines: OrderLines
    orders: int  # sale orders in the chunk, numbered 0.. in time order
    returns: int  # return orders, numbered 0.. in time order
    revenue: npt.NDArray[np.float64]  # per sale order, in its currency
    last_session_event: npt.NDArray[np.int64]  # per customer: second of the last session event


def _positions(counts: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64],
                                                       npt.NDArray[np.int64],
                                                       npt.NDArray[np.int64]]:
    """Owner, position within owner and owner start offset for a ragged expansion."""
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    return owner, np.arange(int(offsets[-1]), dtype=np.int64) - offsets[owner], offsets


@dataclass(frozen=True)
class _Slots:
    """Products viewed in each session (ragged); the first ``lines`` of a session are bought."""

    offset: npt.NDArray[np.int64]  # first slot of each session (and the total at the end)
    product: npt.NDArray[np.int64]
    quantity: npt.NDArray[np.int64]  # units if bought


@dataclass(frozen=True)
class _SessionEvents:
    """Events of the sessions, in session order."""

    kind: npt.NDArray[np.int64]
    session: npt.NDArray[np.int64]
    slot: npt.NDArray[np.int64]  # product events: the session's product slot
    second: npt.NDArray[np.int64]
    product: npt.NDArray[np.int64]  # product events; else -1
    user_known: npt.NDArray[np.bool_]
    quantity: npt.NDArray[np.int64]  # Product Added: bought quantity (1 if abandoned); else 0
    page: npt.NDArray[np.int64]  # page events: index into PAGE_NAMES; else -1
    page_category: npt.NDArray[np.int64]  # category pages show one the customer likes


def _session_events(
    rng: np.random.Generator,
    calendar: Calendar,
    sessions: Sessions,
    latent: Latent,
    slots: _Slots,
) -> _SessionEvents:
    """Lay out each session: pages, [identify], views with their adds, [identify], [order]."""
    early = (sessions.identify == IDENTIFY_EARLY).astype(np.int64)
    late = (sessions.identify == IDENTIFY_LATE).astype(np.int64)
    counts = sessions.pages + early + sessions.views + sessions.adds + late + sessions.converts
    session, pos, offsets = _positions(counts)
    pages_end = sessions.pages[session]
    identify_early_end = pages_end + early[session]
    products_end = identify_early_end + (sessions.views + sessions.adds)[session]
    identify_late_end = products_end + late[session]
    # Product part: view 0, add 0, view 1, add 1, ... then the views without an add.
    q = pos - identify_early_end
    adds = sessions.adds[session]
    paired = q < 2 * adds
    slot = np.where(paired, q // 2, q - adds)
    kind = np.select(
        [pos < pages_end, pos < identify_early_end, pos < products_end, pos < identify_late_end],
        [PAGE, IDENTIFY, np.where(paired & (q % 2 == 1), PRODUCT_ADDED, PRODUCT_VIEWED),
         IDENTIFY],
        ORDER_COMPLETED,
    ).astype(np.int64)
    in_products = (kind == PRODUCT_VIEWED) | (kind == PRODUCT_ADDED)
    product = np.full(len(pos), -1, dtype=np.int64)
    slot_index = slots.offset[session[in_products]] + slot[in_products]
    product[in_products] = slots.product[slot_index]
    quantity = np.zeros(len(pos), dtype=np.int64)
    added = kind == PRODUCT_ADDED
    bought = slots.quantity[slots.offset[session[added]] + slot[added]]
    quantity[added] = np.where(sessions.converts[session[added]], bought, 1)
    identify_at = np.select(
        [sessions.identify == IDENTIFY_EARLY, sessions.identify == IDENTIFY_LATE],
        [sessions.pages, sessions.pages + sessions.views + sessions.adds],
        np.iinfo(np.int64).max,
    )[session]
    user_known = sessions.logged_in[session] | (pos >= identify_at)

    gaps = 1 + np.floor(rng.exponential(_GAP_SECONDS, len(pos))).astype(np.int64)
    gaps[pos == 0] = 0
    elapsed = np.cumsum(gaps)
    elapsed -= elapsed[offsets[:-1]][session]
    duration = elapsed[offsets[1:] - 1]  # every session has at least one event
    # Keep sessions inside the window, but never before sign-up (the first session's start).
    latest = calendar.end_seconds - 1 - duration
    signed_up = sessions.start[sessions.signup][sessions.customer]  # one sign-up per customer
    start = np.maximum(np.minimum(sessions.start, latest), signed_up)

    is_page = kind == PAGE
    page_first = (pos == 0)[is_page]
    weights = np.where(page_first[:, None], _FIRST_PAGE, _LATER_PAGE)
    page_segment = latent.segment[sessions.customer[session[is_page]]]
    weights[:, _DEALS_PAGE] *= segment_values(page_segment, "deals_boost")
    weights /= weights.sum(axis=1, keepdims=True)
    page = np.full(len(pos), -1, dtype=np.int64)
    page[is_page] = choose_rows(rng, weights, np.arange(int(is_page.sum()), dtype=np.int64))
    page_category = np.full(len(pos), -1, dtype=np.int64)
    page_category[is_page] = choose_rows(rng, latent.affinity,
                                         sessions.customer[session[is_page]])
    return _SessionEvents(kind, session, slot, start[session] + elapsed, product, user_known,
                          quantity, page, page_category)


def _draw_slots(
    rng: np.random.Generator, chooser: ProductChooser, latent: Latent, sessions: Sessions
) -> tuple[_Slots, Sessions]:
    """Draw the viewed products; move each session's distinct products to its first slots.

    Baskets hold no repeated product, so a basket never has more lines than the session viewed
    distinct products (the sessions come back with ``lines`` and ``adds`` capped).
    """
    session, pos, offset = _positions(sessions.views)
    customer = sessions.customer[session]
    category = choose_rows(rng, latent.affinity, customer)
    product = chooser.choose(rng, category, latent.price_sensitivity[customer])
    quantity = 1 + rng.poisson(segment_values(latent.segment[customer], "quantity_extra"))
    key = session * (int(product.max(initial=0)) + 1) + product
    repeat = np.ones(len(key), dtype=bool)
    repeat[np.unique(key, return_index=True)[1]] = False
    order = np.lexsort((pos, repeat, session))
    distinct = np.bincount(session[~repeat], minlength=len(sessions))
    lines = np.minimum(sessions.lines, distinct)
    adds = np.where(sessions.converts, lines, sessions.adds)
    capped = replace(sessions, lines=lines, adds=adds)
    return _Slots(offset, product[order], quantity.astype(np.int64)), capped


def _order_lines(
    rng: np.random.Generator,
    calendar: Calendar,
    catalogue: Catalogue,
    profiles: Profiles,
    sessions: Sessions,
    slots: _Slots,
    ev: _SessionEvents,
) -> tuple[OrderLines, npt.NDArray[np.int64], npt.NDArray[np.float64], int]:
    """Sale and return lines; the order number of each event (-1 if none); revenue by order
    number; the number of returns."""
    # One order per converting session, numbered by the time of its Order Completed event.
    order_event = np.flatnonzero(ev.kind == ORDER_COMPLETED)
    order_session = ev.session[order_event]
    order_number = np.empty(len(order_event), dtype=np.int64)
    order_number[np.argsort(ev.second[order_event], kind="stable")] = np.arange(len(order_event))
    order_of_event = np.full(len(ev.kind), -1, dtype=np.int64)
    order_of_event[order_event] = order_number

    line_order, line_pos, _ = _positions(sessions.lines[order_session])
    line_slot = slots.offset[order_session[line_order]] + line_pos
    line_session = order_session[line_order]
    customer = sessions.customer[line_session]
    product = slots.product[line_slot]
    quantity = slots.quantity[line_slot]
    price = catalogue.local_price[product, profiles.currency[customer]]
    second = ev.second[order_event][line_order]
    revenue = np.zeros(len(order_event))
    np.add.at(revenue, order_number[line_order], quantity * price)

    # A share of sale lines comes back some days later, each on a new "R" order.
    return_rate = np.array([c.return_rate for c in CATEGORIES])[catalogue.category[product]]
    return_second = second + (rng.uniform(*_RETURN_DAYS, len(product)) * 86_400.0).astype(
        np.int64
    )
    returned = (rng.random(len(product)) < return_rate) & (return_second < calendar.end_seconds)
    ret = np.flatnonzero(returned)
    return_number = np.empty(len(ret), dtype=np.int64)
    return_number[np.argsort(return_second[ret], kind="stable")] = np.arange(len(ret))

    sale_number = order_number[line_order]
    guest = sessions.guest[line_session]
    lines = OrderLines(
        order=np.concatenate([sale_number, return_number]),
        is_return=np.repeat([False, True], [len(product), len(ret)]),
        returned_order=np.concatenate([np.full(len(product), -1), sale_number[ret]]),
        customer=np.concatenate([customer, customer[ret]]),
        guest=np.concatenate([guest, guest[ret]]),
        product=np.concatenate([product, product[ret]]),
        quantity=np.concatenate([quantity, -quantity[ret]]),
        unit_price=np.concatenate([price, price[ret]]),
        second=np.concatenate([second, return_second[ret]]),
    )
    by_time = np.lexsort((np.arange(len(lines)), lines.order, lines.is_return, lines.second))
    lines = OrderLines(*(getattr(lines, f)[by_time] for f in OrderLines.__dataclass_fields__))
    return lines, order_of_event, np.round(revenue, 2), len(ret)


def _all_events(
    ev: _SessionEvents,
    sessions: Sessions,
    emails: EmailActivity,
    order_of_event: npt.NDArray[np.int64],
) -> Events:
    """Session and email events together, in time order."""
    email_second = np.floor(emails.day * 86_400.0).astype(np.int64)
    m = len(email_second)
    second = np.concatenate([ev.second, email_second])
    by_time = np.argsort(second, kind="stable")

    def merged(
        from_sessions: npt.NDArray[Any], from_emails: npt.NDArray[Any], dtype: type[Any]
    ) -> npt.NDArray[Any]:
        return np.concatenate([from_sessions.astype(dtype), from_emails.astype(dtype)])[by_time]

    none = np.full(m, -1, dtype=np.int8)
    return Events(
        kind=merged(ev.kind, EMAIL_SENT + emails.stage, np.int8),
        customer=merged(sessions.customer[ev.session], emails.customer, np.int32),
        second=second[by_time],
        user_known=merged(ev.user_known, np.ones(m), np.bool_),
        device=merged(sessions.device[ev.session], none, np.int8),
        campaign=merged(sessions.campaign[ev.session], emails.campaign, np.int16),
        product=merged(ev.product, none, np.int32),
        quantity=merged(ev.quantity, np.zeros(m), np.int16),
        order=merged(order_of_event, none, np.int32),
        page=merged(ev.page, none, np.int8),
        page_category=merged(ev.page_category, none, np.int8),
    )


def expand_activity(
    rng: np.random.Generator,
    calendar: Calendar,
    catalogue: Catalogue,
    chooser: ProductChooser,
    latent: Latent,
    profiles: Profiles,
    sessions: Sessions,
    emails: EmailActivity,
) -> Activity:
    """Events of every session and email plus the order lines of converting sessions."""
    slots, sessions = _draw_slots(rng, chooser, latent, sessions)
    ev = _session_events(rng, calendar, sessions, latent, slots)
    lines, order_of_event, revenue, returns = _order_lines(
        rng, calendar, catalogue, profiles, sessions, slots, ev
    )
    events = _all_events(ev, sessions, emails, order_of_event)
    last = np.zeros(len(latent.segment), dtype=np.int64)
    np.maximum.at(last, sessions.customer[ev.session], ev.second)
    return Activity(events, lines, len(revenue), returns, revenue, last)
