"""Tests of the demo-world generator: determinism, schema, consistency and planted behaviour."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from growthloop.generate import WorldSpec, WorldSummary, generate_world

EMAIL = re.compile(r"^[a-z0-9._]+@[a-z0-9.-]+\.[a-z]{2,}$")
SEGMENT_SHARES = {
    "loyal_high_value": 0.15,
    "bargain_hunters": 0.25,
    "occasional_gifters": 0.20,
    "new_and_curious": 0.20,
    "lapsed": 0.20,
}
TS = pa.timestamp("us", tz="UTC")
S = pa.string()
SCHEMAS = {
    "customers": {"customer_id": S, "email": S, "phone": S, "name": S, "country": S,
                  "timezone": S, "created_at": TS, "signup_source": S,
                  "birth_year": pa.int32(), "gender": S, "marketing_opt_in": pa.bool_()},
    "products": {"product_id": S, "title": S, "description": S, "category": S,
                 "price": pa.float64(), "currency": S, "tags": S, "brand": S},
    "orders": {"order_id": S, "customer_id": S, "product_id": S, "quantity": pa.int32(),
               "unit_price": pa.float64(), "ordered_at": TS, "currency": S, "country": S,
               "returned_order_id": S},
    "events": {"message_id": S, "type": S, "event": S, "name": S, "user_id": S,
               "anonymous_id": S, "timestamp": TS, "properties": S, "traits": S, "context": S},
    "truth_customers": {"customer_id": S, "segment": S, "created_at": TS, "churn_at": TS,
                        "session_rate": pa.float64(), "conversion_rate": pa.float64(),
                        "purchase_rate": pa.float64(), "churn_hazard": pa.float64(),
                        "price_sensitivity": pa.float64(), "email_opt_in": pa.bool_(),
                        "email_open_rate": pa.float64(), "email_click_rate": pa.float64(),
                        "favourite_category": S},
    "truth_affinity": {"customer_id": S, "category": S, "rank": pa.int8(),
                       "affinity": pa.float64()},
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    spec = WorldSpec(customers=3000, products=80, seed=7, chunk_customers=1200)
    return generate_world(spec, tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    spec = WorldSpec(customers=2000, products=50, seed=11, dirty_fraction=0.05)
    return generate_world(spec, tmp_path_factory.mktemp("dirty"))


def sql(summary: WorldSummary, query: str) -> list[tuple[Any, ...]]:
    """Run ``query`` with one view per file of the world."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, path in summary.files.items():
        if path.suffix == ".parquet":
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    return con.execute(query).fetchall()


def one(summary: WorldSummary, query: str) -> Any:
    return sql(summary, query)[0][0]


def small(directory: Path, **changes: Any) -> WorldSummary:
    """A 150-customer world over autumn 2024 (three chunks)."""
    spec = WorldSpec(customers=150, products=20, days=120, seed=3, chunk_customers=70,
                     start=date(2024, 9, 1))
    return generate_world(replace(spec, **changes), directory)


# --- determinism --------------------------------------------------------------------------------


def test_same_spec_gives_byte_identical_files(tmp_path: Path) -> None:
    first = small(tmp_path / "a", dirty_fraction=0.1)
    second = small(tmp_path / "b", dirty_fraction=0.1)
    for name, path in first.files.items():
        assert path.read_bytes() == second.files[name].read_bytes(), name


def test_different_seed_gives_different_data(tmp_path: Path) -> None:
    first = small(tmp_path / "a")
    second = small(tmp_path / "b", seed=4)
    for name in ("customers", "orders", "events", "truth_customers"):
        a = pq.read_table(first.files[name])
        b = pq.read_table(second.files[name])
        assert not a.equals(b), name


# --- shape --------------------------------------------------------------------------------------


def test_files_have_the_documented_schema_and_counts(world: WorldSummary) -> None:
    assert set(world.files) == {*SCHEMAS, "world"}
    for name, columns in SCHEMAS.items():
        schema = pq.read_schema(world.files[name])
        assert dict(zip(schema.names, schema.types, strict=True)) == columns, name
        assert pq.read_metadata(world.files[name]).num_rows == world.counts[name], name
    assert world.counts["customers"] == 3000
    assert world.counts["truth_customers"] == 3000
    assert world.counts["products"] == 80
    assert world.files["truth_customers"] == world.directory / "truth" / "customers.parquet"
    assert 30 <= world.counts["events"] / world.counts["customers"] <= 90


def test_ids_are_unique_and_well_formed(world: WorldSummary) -> None:
    assert one(world, "SELECT count(DISTINCT customer_id) FROM customers") == 3000
    assert one(world, "SELECT bool_and(regexp_full_match(customer_id, 'C[0-9]{7}')) "
                      "FROM customers")
    assert one(world, "SELECT bool_and(regexp_full_match(product_id, 'P[0-9]{5}')) FROM products")
    assert one(world, "SELECT bool_and(regexp_full_match(order_id, '[OR][0-9]{10}')) FROM orders")
    assert one(world, "SELECT count(DISTINCT message_id) = count(*) FROM events")
    assert one(world, "SELECT count(DISTINCT email) = count(*) FROM customers")
    assert one(world, "SELECT count(DISTINCT phone) = count(*) FROM customers")
    assert one(world, "SELECT bool_and(regexp_full_match(anonymous_id, 'a-[0-9a-f]{16}')) "
                      "FROM events WHERE anonymous_id IS NOT NULL")


def test_customers_have_consistent_geography(world: WorldSummary) -> None:
    zones = available_timezones()
    rows = sql(world, "SELECT DISTINCT country, timezone FROM customers")
    assert {country for country, _ in rows} >= {"GB", "US", "DE", "FR"}
    for country, zone in rows:
        assert zone in zones
        expected = {"GB": "Europe/London", "DE": "Europe/Berlin", "FR": "Europe/Paris",
                    "IE": "Europe/Dublin"}.get(str(country))
        assert expected is None or zone == expected
        if country == "US":
            assert str(zone).startswith("America/")
    currency = dict(sql(world, "SELECT country, any_value(currency) FROM orders GROUP BY 1"))
    assert currency["GB"] == "GBP" and currency["US"] == "USD" and currency["DE"] == "EUR"
    assert one(world, "SELECT count(DISTINCT currency) FROM orders GROUP BY country "
                      "ORDER BY 1 DESC LIMIT 1") == 1


def test_clean_contacts_are_valid(world: WorldSummary) -> None:
    phonenumbers = pytest.importorskip("phonenumbers")
    rows = sql(world, "SELECT email, phone, country FROM customers")
    assert world.dirt == {}
    assert all(EMAIL.match(str(email)) for email, _, _ in rows)
    formats = set()
    for _, phone, country in rows[:600]:
        number = phonenumbers.parse(str(phone), str(country))
        assert phonenumbers.is_valid_number(number), (phone, country)
        formats.add(str(phone).startswith("+"))
    assert formats == {True, False}  # international and national formats mixed


def test_products_carry_their_category_in_text(world: WorldSummary) -> None:
    rows = sql(world, "SELECT category, count(*), min(price), max(price), "
                      "bool_and(length(description) > 40), bool_and(tags LIKE '%|%') "
                      "FROM products GROUP BY 1")
    assert len(rows) == 8
    for _category, n, low, high, described, tagged in rows:
        assert n >= 1 and 0 < float(low) <= float(high)
        assert described and tagged
    cheapest = dict(sql(world, "SELECT category, median(price) FROM products GROUP BY 1"))
    assert cheapest["Stationery"] < cheapest["Electronics"]


# --- orders and events agree ---------------------------------------------------------------------


def test_order_completed_events_match_orders(world: WorldSummary) -> None:
    mismatches = one(world, """
        WITH o AS (
            SELECT order_id, any_value(customer_id) AS customer_id, min(ordered_at) AS at,
                   round(sum(quantity * unit_price), 2) AS revenue
            FROM orders WHERE order_id LIKE 'O%' GROUP BY 1),
        e AS (
            SELECT json_extract_string(properties, '$.order_id') AS order_id, user_id,
                   timestamp AS at,
                   CAST(json_extract(properties, '$.revenue') AS DOUBLE) AS revenue
            FROM events WHERE event = 'Order Completed')
        SELECT count(*) FROM o FULL JOIN e USING (order_id)
        WHERE o.order_id IS NULL OR e.order_id IS NULL OR abs(o.revenue - e.revenue) > 0.005
           OR o.at <> e.at OR o.customer_id IS DISTINCT FROM e.user_id""")
    assert mismatches == 0
    assert one(world, "SELECT count(*) FROM events WHERE event = 'Order Completed'") > 1000


def test_added_products_match_order_lines(world: WorldSummary) -> None:
    # Each ordered product was added to the cart with the same quantity in the same session.
    missing = one(world, """
        WITH lines AS (
            SELECT o.order_id, o.product_id, o.quantity, o.ordered_at, e.anonymous_id
            FROM orders o JOIN events e
              ON e.event = 'Order Completed'
             AND json_extract_string(e.properties, '$.order_id') = o.order_id
            WHERE o.order_id LIKE 'O%'),
        adds AS (
            SELECT anonymous_id, timestamp, json_extract_string(properties, '$.product_id') AS p,
                   CAST(json_extract(properties, '$.quantity') AS INTEGER) AS q
            FROM events WHERE event = 'Product Added')
        SELECT count(*) FROM lines l WHERE NOT EXISTS (
            SELECT 1 FROM adds a WHERE a.anonymous_id = l.anonymous_id AND a.p = l.product_id
              AND a.q = l.quantity AND a.timestamp < l.ordered_at
              AND a.timestamp > l.ordered_at - INTERVAL 3 HOUR)""")
    assert missing == 0


def test_returns_reference_earlier_orders_with_negative_quantities(world: WorldSummary) -> None:
    bad = one(world, """
        SELECT count(*) FROM orders r
        WHERE r.order_id LIKE 'R%' AND NOT EXISTS (
            SELECT 1 FROM orders s
            WHERE s.order_id = r.returned_order_id AND s.product_id = r.product_id
              AND s.customer_id IS NOT DISTINCT FROM r.customer_id
              AND s.quantity = -r.quantity AND s.unit_price = r.unit_price
              AND s.ordered_at < r.ordered_at)""")
    assert bad == 0
    assert one(world, "SELECT bool_and(quantity < 0) = bool_and(returned_order_id IS NOT NULL) "
                      "FROM orders WHERE order_id LIKE 'R%'")
    assert one(world, "SELECT count(*) FROM orders "
                      "WHERE order_id LIKE 'O%' AND returned_order_id IS NOT NULL") == 0
    share = float(one(world, "SELECT avg((order_id LIKE 'R%')::INT) FROM orders"))
    assert 0.015 <= share <= 0.05


def test_guest_orders_are_a_small_share(world: WorldSummary) -> None:
    share = float(one(world, "SELECT avg((customer_id IS NULL)::INT) FROM orders"))
    assert 0.015 <= share <= 0.05
    guest_events = one(world, "SELECT count(*) FROM events "
                              "WHERE event = 'Order Completed' AND user_id IS NULL")
    guest_orders = one(world, "SELECT count(DISTINCT order_id) FROM orders "
                              "WHERE order_id LIKE 'O%' AND customer_id IS NULL")
    assert guest_events == guest_orders


def test_identify_events_link_anonymous_ids_to_customers(world: WorldSummary) -> None:
    # Every customer identifies (at sign-up), and each anonymous id belongs to one customer.
    assert one(world, "SELECT count(DISTINCT user_id) FROM events WHERE type = 'identify'") == 3000
    assert one(world, """
        SELECT max(n) FROM (SELECT anonymous_id, count(DISTINCT user_id) AS n FROM events
                            WHERE anonymous_id IS NOT NULL GROUP BY 1)""") == 1
    # The sign-up session starts anonymous: each customer's first event has no user id.
    assert one(world, """
        SELECT count(*) FROM (
            SELECT arg_min_null(user_id, timestamp) AS first_user
            FROM events e JOIN (SELECT DISTINCT anonymous_id, user_id AS owner FROM events
                                WHERE type = 'identify') USING (anonymous_id)
            WHERE e.event IS NULL OR e.event NOT LIKE 'Email%'
            GROUP BY owner)
        WHERE first_user IS NOT NULL""") == 0
    assert one(world, "SELECT count(*) FROM events WHERE user_id IS NULL") > 0
    # Traits carry the customer's email and phone; customers keep a few anonymous ids.
    assert one(world, """
        SELECT count(*) FROM events e JOIN customers c ON c.customer_id = e.user_id
        WHERE e.type = 'identify' AND (json_extract_string(e.traits, '$.email') <> c.email
                                       OR json_extract_string(e.traits, '$.phone') <> c.phone)
        """) == 0
    devices = float(one(world, """
        SELECT avg(n) FROM (SELECT user_id, count(DISTINCT anonymous_id) AS n FROM events
                            WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL GROUP BY 1)
        """))
    assert 1.1 < devices < 3.0


def test_event_columns_follow_the_segment_spec(world: WorldSummary) -> None:
    rows = dict(sql(world, "SELECT coalesce(event, type), count(*) FROM events GROUP BY 1"))
    assert set(rows) == {"page", "identify", "Product Viewed", "Product Added",
                         "Order Completed", "Email Sent", "Email Opened", "Email Clicked"}
    assert rows["Product Viewed"] > rows["Product Added"] > rows["Order Completed"]
    assert rows["Email Sent"] > rows["Email Opened"] > rows["Email Clicked"]
    assert one(world, """
        SELECT count(*) FROM events WHERE
            (type = 'track') <> (event IS NOT NULL)
            OR (type = 'page') <> (name IS NOT NULL)
            OR (type = 'identify') <> (traits IS NOT NULL)
            OR (type = 'identify') <> (properties IS NULL)
            OR (user_id IS NULL AND anonymous_id IS NULL)
            OR json_valid(properties) = false OR json_valid(context) = false""") == 0
    channels = {row[0] for row in sql(
        world, "SELECT DISTINCT json_extract_string(context, '$.channel') FROM events")}
    assert channels == {"web", "app", "email"}
    assert one(world, "SELECT count(*) FROM events WHERE event LIKE 'Product%' AND "
                      "json_extract_string(properties, '$.product_id') NOT IN "
                      "(SELECT product_id FROM products)") == 0


def test_timestamps_fall_inside_the_window(world: WorldSummary) -> None:
    inside = "BETWEEN TIMESTAMPTZ '2024-01-01 00:00:00+00' AND TIMESTAMPTZ '2024-12-31 23:59:59+00'"
    assert one(world, f"SELECT bool_and(timestamp {inside}) FROM events") is True
    assert one(world, f"SELECT bool_and(ordered_at {inside}) FROM orders") is True
    assert one(world, f"SELECT bool_and(created_at {inside}) FROM customers") is True
    assert one(world, "SELECT count(*) FROM events e JOIN customers c "
                      "ON c.customer_id = e.user_id WHERE e.timestamp < c.created_at") == 0


# --- planted behaviour ---------------------------------------------------------------------------


def test_segment_shares_match_the_plan(world: WorldSummary) -> None:
    shares = dict(sql(world, "SELECT segment, count(*) / 3000 FROM truth_customers GROUP BY 1"))
    assert set(shares) == set(SEGMENT_SHARES)
    for segment, share in SEGMENT_SHARES.items():
        assert abs(float(shares[segment]) - share) < 0.04, segment


def _per_segment(world: WorldSummary, expression: str) -> dict[str, float]:
    rows = sql(world, f"""
        WITH o AS (SELECT customer_id, count(DISTINCT order_id) AS orders,
                          sum(quantity * unit_price) AS spend,
                          count(DISTINCT order_id) FILTER (WHERE month(ordered_at) >= 11)
                              AS holiday_orders
                   FROM orders WHERE order_id LIKE 'O%' GROUP BY 1),
             e AS (SELECT user_id AS customer_id,
                          count(*) FILTER (WHERE event = 'Product Viewed') AS views,
                          count(*) FILTER (WHERE event = 'Email Sent') AS sent,
                          count(*) FILTER (WHERE event = 'Email Opened') AS opened
                   FROM events GROUP BY 1)
        SELECT segment, {expression}
        FROM truth_customers t LEFT JOIN o USING (customer_id) LEFT JOIN e USING (customer_id)
        GROUP BY 1""")
    return {str(segment): float(value) for segment, value in rows}


def test_orders_per_customer_follow_the_planted_segments(world: WorldSummary) -> None:
    orders = _per_segment(world, "avg(coalesce(orders, 0))")
    assert (orders["loyal_high_value"] > 1.3 * orders["bargain_hunters"]
            > 1.3 * orders["occasional_gifters"] > 1.3 * orders["lapsed"]
            > 1.3 * orders["new_and_curious"])
    value = _per_segment(world, "sum(spend) / sum(orders)")
    assert value["loyal_high_value"] > 3 * value["bargain_hunters"]
    browse = _per_segment(world, "sum(views) / sum(coalesce(orders, 0))")
    assert browse["new_and_curious"] > 3 * max(v for k, v in browse.items()
                                              if k != "new_and_curious")
    holiday = _per_segment(world, "sum(holiday_orders) / sum(orders)")
    assert holiday["occasional_gifters"] > 0.5 > holiday["loyal_high_value"]
    opens = _per_segment(world, "sum(opened) / sum(sent)")
    assert opens["bargain_hunters"] > 0.5 > 0.1 > opens["lapsed"]


def test_november_and_december_are_the_peak(world: WorldSummary) -> None:
    daily = dict(sql(world, """
        SELECT month(ordered_at) >= 11, count(DISTINCT order_id) / count(DISTINCT ordered_at::DATE)
        FROM orders WHERE order_id LIKE 'O%' GROUP BY 1"""))
    overall = float(one(world, """
        SELECT count(DISTINCT order_id) / count(DISTINCT ordered_at::DATE)
        FROM orders WHERE order_id LIKE 'O%'"""))
    assert float(daily[True]) > 1.3 * overall
    # Weekends beat the weekdays without a campaign (campaigns go out on Tuesdays).
    weekend = dict(sql(world, """
        SELECT isodow(ordered_at) >= 6, count(DISTINCT order_id) / count(DISTINCT ordered_at::DATE)
        FROM orders WHERE order_id LIKE 'O%' AND month(ordered_at) BETWEEN 2 AND 10
          AND isodow(ordered_at) <> 2 GROUP BY 1"""))
    assert float(weekend[True]) > 1.1 * float(weekend[False])
    tuesday = float(one(world, """
        SELECT count(DISTINCT order_id) FILTER (WHERE isodow(ordered_at) = 2)
               / count(DISTINCT order_id)
        FROM orders WHERE order_id LIKE 'O%'"""))
    assert tuesday > 1.5 / 7  # email campaigns drive orders on the day they are sent


def test_nobody_buys_after_churning(world: WorldSummary) -> None:
    assert one(world, """
        SELECT count(*) FROM orders o JOIN truth_customers t USING (customer_id)
        WHERE o.order_id LIKE 'O%' AND o.ordered_at > t.churn_at""") == 0
    churned = _per_segment(world, "avg((churn_at IS NOT NULL)::INT)")
    assert churned["lapsed"] > 0.9 > 0.2 > churned["loyal_high_value"]
    assert one(world, "SELECT bool_and(churn_at > created_at) FROM truth_customers") is True


def test_affinities_are_recoverable_from_behaviour(world: WorldSummary) -> None:
    assert one(world, """
        SELECT bool_and(category = favourite_category)
        FROM truth_affinity JOIN truth_customers USING (customer_id) WHERE rank = 1""") is True
    assert one(world, "SELECT max(s) <= 1.000001 FROM (SELECT sum(affinity) AS s "
                      "FROM truth_affinity GROUP BY customer_id)")
    agreement = float(one(world, """
        WITH viewed AS (
            SELECT user_id AS customer_id, json_extract_string(properties, '$.category') AS c,
                   count(*) AS n
            FROM events WHERE event = 'Product Viewed' AND user_id IS NOT NULL GROUP BY 1, 2),
        top AS (SELECT customer_id, arg_max(c, n) AS c, sum(n) AS views FROM viewed GROUP BY 1)
        SELECT avg((top.c = t.favourite_category)::INT)
        FROM top JOIN truth_customers t USING (customer_id) WHERE views >= 15"""))
    assert agreement > 0.75


def test_emails_go_only_to_opted_in_customers(world: WorldSummary) -> None:
    assert one(world, """
        SELECT count(*) FROM events e JOIN customers c ON c.customer_id = e.user_id
        WHERE e.event LIKE 'Email%' AND NOT c.marketing_opt_in""") == 0
    assert one(world, """
        SELECT count(*) FROM events WHERE event LIKE 'Email%' AND
            (anonymous_id IS NOT NULL OR json_extract_string(properties, '$.campaign_id') IS NULL)
        """) == 0


# --- dirt ----------------------------------------------------------------------------------------


def test_dirty_world_reports_what_it_injected(dirty: WorldSummary) -> None:
    dirt = dirty.dirt
    customers, lines, events = (dirty.counts[k] for k in ("customers", "orders", "events"))
    assert one(dirty, "SELECT count(*) - count(DISTINCT message_id) FROM events") == dirt[
        "event_duplicate"]
    distinct_lines = one(dirty, "SELECT count(*) FROM (SELECT DISTINCT * FROM orders)")
    assert lines - int(distinct_lines) == dirt["order_duplicate_line"]
    assert one(dirty, "SELECT count(*) FROM orders WHERE unit_price < 0") == dirt[
        "order_negative_price"]
    assert one(dirty, "SELECT count(*) FROM orders WHERE quantity = 0") == dirt[
        "order_bad_quantity"]
    emails = [str(e) for (e,) in sql(dirty, "SELECT email FROM customers")]
    invalid = sum(not EMAIL.match(e.strip().lower()) for e in emails)
    messy = sum(e != e.strip().lower() and bool(EMAIL.match(e.strip().lower())) for e in emails)
    assert invalid == dirt["email_invalid"]
    assert messy == dirt["email_messy"]
    assert one(dirty, "SELECT count(*) FROM customers WHERE country NOT IN "
                      "('GB', 'US', 'DE', 'FR', 'ES', 'IT', 'NL', 'IE')") == dirt["country_variant"]
    expected = {"email_messy": customers * 0.05, "email_invalid": customers * 0.0125,
                "phone_messy": customers * 0.05, "phone_invalid": customers * 0.0125,
                "order_duplicate_line": lines * 0.05 / 1.05, "event_duplicate": events * 0.025,
                "order_negative_price": lines * 0.0125, "order_bad_quantity": lines * 0.0125}
    for kind, mean in expected.items():
        assert 0.6 * mean < dirt[kind] < 1.4 * mean + 5, kind
    assert dirt["order_missing_customer"] > 0
    described = json.loads(dirty.files["world"].read_text())
    assert described["dirt"] == dirt


def test_dirty_phones_stay_parseable_or_are_reported_invalid(dirty: WorldSummary) -> None:
    phonenumbers = pytest.importorskip("phonenumbers")
    rows = sql(dirty, "SELECT c.phone, t.country FROM customers c "
                      "JOIN (SELECT customer_id, any_value(country) AS country FROM orders "
                      "GROUP BY 1) t USING (customer_id)")
    invalid = 0
    for phone, country in rows:
        try:
            valid = phonenumbers.is_valid_number(phonenumbers.parse(str(phone), str(country)))
        except phonenumbers.NumberParseException:
            valid = False
        invalid += not valid
    share = invalid / len(rows)
    assert 0.003 < share < 0.03  # about dirty_fraction / 4 of the phones are broken


# --- spec, progress, description -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("customers", 0, "customers must be >= 1, got 0"),
        ("products", 5, "products must be >= 10, got 5"),
        ("days", 29, "days must be >= 30, got 29"),
        ("dirty_fraction", 0.6, "dirty_fraction must be between 0 and 0.5, got 0.6"),
        ("dirty_fraction", -0.1, "dirty_fraction must be between 0 and 0.5, got -0.1"),
        ("chunk_customers", 0, "chunk_customers must be >= 1, got 0"),
        ("seed", -1, "seed must be >= 0, got -1"),
        ("customers", 2.5, "customers must be an integer, got 2.5"),
        ("start", "2024-01-01", "start must be a datetime.date"),
        ("start", datetime(2024, 1, 1, 5), "start must be a datetime.date (a day, no time)"),
    ],
)
def test_invalid_spec_is_rejected_naming_the_field(
    tmp_path: Path, field: str, value: Any, message: str
) -> None:
    spec = WorldSpec(**{field: value})
    with pytest.raises(ValueError, match=re.escape(message)):
        generate_world(spec, tmp_path)
    assert not (tmp_path / "customers.parquet").exists()


def test_progress_reports_each_chunk(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    generate_world(WorldSpec(customers=150, products=20, days=60, chunk_customers=70),
                   tmp_path / "p", progress=lambda done, total: calls.append((done, total)))
    assert calls == [(70, 150), (140, 150), (150, 150)]


def test_world_json_describes_the_world(world: WorldSummary) -> None:
    described = json.loads(world.files["world"].read_text())
    assert described["spec"]["seed"] == 7
    assert described["spec"]["start"] == "2024-01-01"
    assert described["counts"] == world.counts
    assert described["dirt"] == {}
    assert [s["name"] for s in described["segments"]] == list(SEGMENT_SHARES)
    assert described["version"]
    assert len(described["campaigns"]) == 26
    campaigns = one(world, "SELECT count(DISTINCT json_extract_string(properties, "
                           "'$.campaign_id')) FROM events WHERE event = 'Email Sent'")
    assert campaigns == 26


def test_contact_numbers_are_a_bijection_so_emails_and_phones_never_collide() -> None:
    from growthloop.generate._customers import _scramble

    numbers = _scramble(np.arange(10**7, dtype=np.int64), salt=12345)
    assert numbers.min() == 0 and numbers.max() == 10**7 - 1
    assert np.bincount(numbers, minlength=10**7).max() == 1
