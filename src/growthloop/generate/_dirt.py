"""Deliberate mess, so that ingestion has something to clean.

Each kind of mess hits about a set share of rows (``dirty_fraction`` times the kind's weight);
the kinds of one column never hit the same row, and every hit is counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from growthloop.generate._geo import COUNTRIES

__all__ = ["DIRT_KINDS", "dirty_customers", "dirty_events", "dirty_orders"]

# Kind -> share of rows hit, relative to dirty_fraction.
DIRT_KINDS: dict[str, float] = {
    "email_messy": 1.0,  # mixed case and stray spaces, still valid once cleaned
    "email_invalid": 0.25,  # "n/a", "bob@", missing or doubled @ ...
    "phone_messy": 1.0,  # odd separators and prefixes, still a valid number
    "phone_invalid": 0.25,  # too short, placeholders, words
    "country_variant": 0.5,  # names and aliases instead of the ISO code
    "name_messy": 0.5,  # shouting, lower case, stray spaces
    "order_duplicate_line": 1.0,  # an exact copy of the line right after it
    "order_missing_customer": 0.5,  # every line of the order lost its customer id
    "order_negative_price": 0.25,  # unit price with the wrong sign
    "order_bad_quantity": 0.25,  # quantity 0 (an implausible 9999 would distort every total)
    "event_duplicate": 0.5,  # an exact copy of the event (same message id)
}


def _pick(
    rng: np.random.Generator, n: int, fraction: float, kinds: tuple[str, ...]
) -> dict[str, npt.NDArray[np.int64]]:
    """Disjoint row sets, one per kind, each about ``fraction * weight`` of the rows."""
    draw = rng.random(n)
    out: dict[str, npt.NDArray[np.int64]] = {}
    low = 0.0
    for kind in kinds:
        high = low + fraction * DIRT_KINDS[kind]
        out[kind] = np.flatnonzero((draw >= low) & (draw < high)).astype(np.int64)
        low = high
    return out


def _messy_case(rng: np.random.Generator, text: str) -> str:
    flips = rng.random(len(text)) < 0.3
    mixed = "".join(ch.upper() if flip else ch for ch, flip in zip(text, flips, strict=True))
    return " " * int(rng.integers(0, 3)) + mixed + " " * int(rng.integers(1, 3))


def _invalid_email(rng: np.random.Generator, email: str) -> str:
    local, _, domain = email.partition("@")
    options = ("n/a", "", "none", f"{local}@", f"{local}@@{domain}", f"{local} at {domain}",
               local, f"@{domain}")
    return options[int(rng.integers(len(options)))]


def _messy_phone(rng: np.random.Generator, e164: str, country: str) -> str:
    code = next(c.phone.calling_code for c in COUNTRIES if c.code == country)
    national = e164[1 + len(code):]
    triples = [national[i:i + 3] for i in range(0, len(national), 3)]
    idd = f"1-{national[:3]}-{national[3:6]}-{national[6:]}" if code == "1" else (
        f"00{code} {national}")
    options = (idd, f"tel: +{code}{national}", f"+{code}." + ".".join(triples),
               f"  +{code} {national} ", f"+{code}-" + "-".join(triples))
    return options[int(rng.integers(len(options)))]


def _invalid_phone(rng: np.random.Generator, e164: str) -> str:
    options = ("n/a", "12345", "000000", e164[:5], "unknown", "call after 6pm", "-")
    return options[int(rng.integers(len(options)))]


def _replace(
    column: list[str | None], rows: npt.NDArray[np.int64], make: Callable[[int], str]
) -> None:
    for row in rows.tolist():
        column[row] = make(row)


def dirty_customers(
    rng: np.random.Generator, table: pa.Table, fraction: float, phones_e164: list[str]
) -> tuple[pa.Table, Counter[str]]:
    """Mess up emails, phones, countries and names of a chunk of customers."""
    n = table.num_rows
    counts: Counter[str] = Counter()
    emails: list[str | None] = table.column("email").to_pylist()
    phones: list[str | None] = table.column("phone").to_pylist()
    countries: list[str | None] = table.column("country").to_pylist()
    names: list[str | None] = table.column("name").to_pylist()
    clean_emails = list(emails)
    clean_countries = list(countries)

    picked = _pick(rng, n, fraction, ("email_messy", "email_invalid"))
    _replace(emails, picked["email_messy"], lambda r: _messy_case(rng, str(clean_emails[r])))
    _replace(emails, picked["email_invalid"], lambda r: _invalid_email(rng, str(clean_emails[r])))
    counts.update({k: len(v) for k, v in picked.items()})

    picked = _pick(rng, n, fraction, ("phone_messy", "phone_invalid"))
    _replace(phones, picked["phone_messy"],
             lambda r: _messy_phone(rng, phones_e164[r], str(clean_countries[r])))
    _replace(phones, picked["phone_invalid"], lambda r: _invalid_phone(rng, phones_e164[r]))
    counts.update({k: len(v) for k, v in picked.items()})

    aliases = {c.code: c.aliases for c in COUNTRIES}
    picked = _pick(rng, n, fraction, ("country_variant", "name_messy"))
    _replace(countries, picked["country_variant"],
             lambda r: aliases[str(clean_countries[r])][int(rng.integers(4))])
    styles = (str.upper, str.lower, lambda s: s.replace(" ", "  "), lambda s: f" {s} ")
    _replace(names, picked["name_messy"],
             lambda r: styles[int(rng.integers(len(styles)))](str(names[r])))
    counts.update({k: len(v) for k, v in picked.items()})

    for column, values in (("email", emails), ("phone", phones), ("country", countries),
                           ("name", names)):
        index = table.schema.get_field_index(column)
        table = table.set_column(index, column, pa.array(values, pa.string()))
    return table, counts


def dirty_orders(
    rng: np.random.Generator, table: pa.Table, fraction: float
) -> tuple[pa.Table, Counter[str]]:
    """Mess up a chunk of order lines: duplicates, lost customers, bad prices and quantities."""
    n = table.num_rows
    counts: Counter[str] = Counter()
    order_ids = table.column("order_id").to_numpy(zero_copy_only=False).astype(str)
    unique_orders, order_of_line = np.unique(order_ids, return_inverse=True)
    lose = rng.random(len(unique_orders)) < fraction * DIRT_KINDS["order_missing_customer"]
    customer = table.column("customer_id")
    known = customer.is_valid().to_numpy(zero_copy_only=False)
    lost = lose[order_of_line] & known
    counts["order_missing_customer"] = int(lost.sum())
    customer_ids = pa.array(customer.to_pylist(), pa.string(), mask=lost | ~known)

    picked = _pick(rng, n, fraction,
                   ("order_duplicate_line", "order_negative_price", "order_bad_quantity"))
    price = table.column("unit_price").to_numpy().copy()
    price[picked["order_negative_price"]] *= -1.0
    quantity = table.column("quantity").to_numpy().copy()
    quantity[picked["order_bad_quantity"]] = 0
    counts.update({k: len(v) for k, v in picked.items()})

    table = table.set_column(1, "customer_id", customer_ids)
    table = table.set_column(table.schema.get_field_index("unit_price"), "unit_price",
                             pa.array(price, pa.float64()))
    table = table.set_column(table.schema.get_field_index("quantity"), "quantity",
                             pa.array(quantity, pa.int32()))
    repeat = np.ones(n, dtype=np.int64)
    repeat[picked["order_duplicate_line"]] = 2
    return table.take(pa.array(np.repeat(np.arange(n), repeat))), counts


def dirty_events(
    rng: np.random.Generator, table: pa.Table, fraction: float
) -> tuple[pa.Table, Counter[str]]:
    """Duplicate a share of events, as at-least-once delivery does."""
    n = table.num_rows
    picked = _pick(rng, n, fraction, ("event_duplicate",))
    repeat = np.ones(n, dtype=np.int64)
    repeat[picked["event_duplicate"]] = 2
    counts: Counter[str] = Counter({"event_duplicate": len(picked["event_duplicate"])})
    return table.take(pa.array(np.repeat(np.arange(n), repeat))), counts
