"""Cleaning and loading order lines.

Steps, each counted in the load summary: rows the reader could not parse and rows that break a
rule are rejected with their line and reason; exact duplicate lines are removed (or kept, for
sources where identical rows are separate purchases); cancellations become return lines linked
to the order they return; rows without a customer are kept as guest orders; postage, fees and
manual adjustments are flagged as non-product lines; timestamps are converted to UTC; the
currency is recorded; lines already in the store are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from growthloop.ingest._normalize import normalise_country
from growthloop.ingest._options import LoadOptions
from growthloop.ingest._rejects import insert_parse_rejects, reason_case, reasons
from growthloop.ingest._source import RawSource
from growthloop.ingest._sql import MAX_FIELD_CHARS, decimal, literal, project, timestamp_utc
from growthloop.store._schema import LINE_CANONICAL_ID, LINE_IDENTITY_JOINS

__all__ = ["ORDER_FIELDS", "OrdersResult", "load_orders"]

ORDER_FIELDS = (
    "order_id",
    "customer_id",
    "product_id",
    "title",
    "quantity",
    "unit_price",
    "amount",
    "ordered_at",
    "currency",
    "country",
    "returned_order_id",
)
_ALIASES = {
    "description": "title",
    "price": "unit_price",
    "timestamp": "ordered_at",
    "order_date": "ordered_at",
    "sku": "product_id",
}


@dataclass(frozen=True)
class OrdersResult:
    counts: dict[str, int]
    rejected_by_reason: dict[str, int]


def _rules(present: set[str], options: LoadOptions) -> list[tuple[str, str, str, str, str]]:
    q = "order_id"
    rules: list[tuple[str, str, str, str, str]] = []
    expected = (
        "in the format " + options.timestamp_format.replace("'", "")
        if options.timestamp_format
        else "ISO 8601 (2024-05-01 13:45:00)"
    )
    if q in present:
        rules.append(
            ("order_id IS NULL", "missing_order_id", "order_id", "NULL", "'the order id is empty'")
        )
    else:
        rules.append(
            (
                "customer_id IS NULL",
                "missing_customer_id",
                "customer_id",
                "NULL",
                "'no order id and no customer id to build one from'",
            )
        )
    if "product_id" in present:
        rules.append(
            (
                "product_id IS NULL",
                "missing_product_id",
                "product_id",
                "NULL",
                "'the product id is empty'",
            )
        )
    rules += [
        ("quantity IS NULL", "missing_quantity", "quantity", "NULL", "'the quantity is empty'"),
        (
            "q_num IS NULL OR q_num <> round(q_num) OR abs(q_num) > 1000000000",
            "bad_quantity",
            "quantity",
            "quantity",
            "'quantity ' || quantity || ' is not a whole number'",
        ),
        (
            "q_num = 0",
            "zero_quantity",
            "quantity",
            "quantity",
            "'quantity is 0: a line must buy or return something'",
        ),
        (
            "unit_price IS NULL AND amount IS NULL",
            "missing_price",
            "unit_price",
            "NULL",
            "'the line has neither a unit price nor an amount'",
        ),
        (
            "unit_price IS NOT NULL AND p_num IS NULL",
            "bad_price",
            "unit_price",
            "unit_price",
            "'unit price ' || unit_price || ' is not a number (use . for decimals, no symbols)'",
        ),
        (
            "amount IS NOT NULL AND a_num IS NULL",
            "bad_amount",
            "amount",
            "amount",
            "'amount ' || amount || ' is not a number (use . for decimals, no symbols)'",
        ),
        (
            "p_num < 0",
            "negative_price",
            "unit_price",
            "unit_price",
            "'unit price ' || unit_price || ' is negative; record refunds as lines with a "
            "negative quantity'",
        ),
        (
            "a_num IS NOT NULL AND sign(a_num) * sign(q_num) < 0",
            "amount_sign_mismatch",
            "amount",
            "amount",
            "'amount ' || amount || ' has the opposite sign of quantity ' || quantity",
        ),
        (
            "ordered_at IS NULL",
            "missing_timestamp",
            "ordered_at",
            "NULL",
            "'the order timestamp is empty'",
        ),
        (
            "ts IS NULL",
            "bad_timestamp",
            "ordered_at",
            "ordered_at",
            f"'timestamp ' || ordered_at || ' is not {expected}; pass --timestamp-format'",
        ),
    ]
    for column in ("order_id", "customer_id", "product_id", "title", "country", "currency"):
        if column in present:
            rules.append(
                (
                    f"length({column}) > {MAX_FIELD_CHARS}",
                    "field_too_long",
                    column,
                    column,
                    f"'{column} is ' || length({column}) || ' characters long, "
                    f"more than the {MAX_FIELD_CHARS} allowed'",
                )
            )
    rules.append(
        (
            "NOT regexp_matches(cur, '^[A-Z]{3}$')",
            "bad_currency",
            "currency",
            "currency",
            "'currency ' || cur || ' is not a 3-letter ISO 4217 code'",
        )
    )
    if options.cancellation_pattern and q in present:
        rules += [
            (
                "is_cancel AND q_num > 0",
                "positive_quantity_in_cancellation",
                "quantity",
                "quantity",
                "'cancellation ' || order_id || ' has a positive quantity'",
            ),
            (
                "NOT is_cancel AND q_num < 0",
                "negative_quantity_not_cancellation",
                "quantity",
                "quantity",
                "'negative quantity on ' || order_id || ', which is not a "
                "cancellation: a stock adjustment, not a customer return'",
            ),
        ]
    return rules


def load_orders(
    con: duckdb.DuckDBPyConnection,
    raw: RawSource,
    options: LoadOptions,
    *,
    load_id: str,
    source: str,
) -> OrdersResult:
    """Clean ``raw`` and insert its new order lines; the caller owns the transaction."""
    select, present_list, _ = project(
        raw,
        options.mapping,
        ORDER_FIELDS,
        entity="orders",
        required=[
            ("quantity",),
            ("ordered_at",),
            ("unit_price", "amount"),
            ("order_id", "customer_id"),
        ],
        aliases=_ALIASES,
    )
    present = set(present_list)
    missing = [f"NULL::VARCHAR AS {f}" for f in ORDER_FIELDS if f not in present]
    cancel = (
        f"coalesce(regexp_matches(order_id, {literal(options.cancellation_pattern)}), false)"
        if options.cancellation_pattern
        else "false"
    )
    reason, column, value, message = reason_case(_rules(present, options))
    ordered_at = timestamp_utc(
        "ordered_at", options.source_timezone, options.timestamp_format, present_list
    )
    # One pass: project, type and check every row.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _o_checked AS SELECT *, {reason} AS reason
        FROM (SELECT *,
            {decimal("quantity")} AS q_num,
            {decimal("unit_price")} AS p_num,
            {decimal("amount")} AS a_num,
            {ordered_at} AS ts,
            upper(coalesce(currency, {literal(options.currency)})) AS cur,
            {cancel} AS is_cancel
        FROM (SELECT {", ".join([select, *missing])} FROM {raw.table}))"""
    )
    con.execute(
        f"""INSERT INTO rejects SELECT {literal(load_id)}, 'orders', {literal(source)}, __line,
            {column}, {value}, reason, {message}, 'row_rejected'
        FROM _o_checked WHERE reason IS NOT NULL"""
    )
    insert_parse_rejects(con, raw.parse_rejects, load_id=load_id, entity="orders", source=source)

    codes = ", ".join(literal(c.upper()) for c in options.non_product_codes) or "NULL"
    pattern = (
        f"OR coalesce(regexp_matches(product_id, {literal(options.non_product_pattern)}), false)"
        if options.non_product_pattern
        else ""
    )
    returns_by_sign = "false" if options.cancellation_pattern else "q_num < 0"
    content = ", ".join(f"coalesce({f}, '\\x00')" for f in ORDER_FIELDS)
    order_id = (
        "order_id" if "order_id" in present else "customer_id || '-' || strftime(ts, '%Y%m%d')"
    )
    # Narrow pass: a key per line from its content and its occurrence among identical lines.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _o_keys AS
        SELECT __line,
            CASE WHEN occurrence = 1 THEN content_key
                 ELSE md5(content_key || ':' || occurrence::VARCHAR) END AS line_key,
            occurrence > 1 AND {literal(options.duplicates)} = 'drop' AS is_duplicate
        FROM (SELECT __line, content_key,
                     row_number() OVER (PARTITION BY content_key ORDER BY __line) AS occurrence
              FROM (SELECT __line, md5(concat_ws('\\x1f', {content})) AS content_key
                    FROM _o_checked WHERE reason IS NULL))"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _o_new AS
        SELECT c.*, k.line_key,
            {order_id} AS oid,
            CAST(q_num AS INTEGER) AS qty,
            coalesce(p_num, CAST(abs(a_num) / abs(q_num) AS DECIMAL(18, 4))) AS price,
            coalesce(a_num, CAST(q_num * p_num AS DECIMAL(18, 4))) AS line_amount,
            CASE WHEN product_id IS NOT NULL AND (upper(product_id) IN ({codes}) {pattern})
                     THEN 'non_product'
                 WHEN is_cancel OR {returns_by_sign} THEN 'return'
                 ELSE 'sale' END AS kind
        FROM _o_checked c JOIN _o_keys k USING (__line)
        WHERE NOT k.is_duplicate
          AND NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.line_key = k.line_key)"""
    )
    _country_table(con, "_o_new", options.default_country)
    _link_returns(con)
    con.execute(
        f"""INSERT INTO order_lines SELECT
            n.line_key, n.oid, n.customer_id, n.product_id, n.title, n.qty, n.price,
            n.line_amount, n.cur, n.ts, coalesce(c.code, n.country), n.kind,
            n.customer_id IS NULL, coalesce(n.returned_order_id, r.original_order_id),
            {literal(load_id)}, n.__line, {LINE_CANONICAL_ID.format(l="n")}
        FROM _o_new n
        LEFT JOIN _country_map c ON c.raw = n.country
        LEFT JOIN _o_return_links r ON r.line_key = n.line_key
        {LINE_IDENTITY_JOINS.format(l="n")}"""
    )
    new_products = _insert_products(con, load_id)
    new_customers = _insert_customers(con, load_id)
    counts = _counts(con, raw)
    counts["new_products"] = new_products
    counts["new_customers"] = new_customers
    return OrdersResult(counts, reasons(con, load_id)[0])


def _country_table(con: duckdb.DuckDBPyConnection, table: str, default: str | None) -> None:
    raw_values = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT country FROM {table} WHERE country IS NOT NULL"
        ).fetchall()
    ]
    pairs = [(v, normalise_country(str(v))[0]) for v in raw_values]
    con.execute("CREATE OR REPLACE TEMP TABLE _country_map (raw VARCHAR, code VARCHAR)")
    if pairs:
        con.executemany("INSERT INTO _country_map VALUES (?, ?)", [list(p) for p in pairs])
    if default:
        con.execute(f"UPDATE {table} SET country = ? WHERE country IS NULL", [default])


def _link_returns(con: duckdb.DuckDBPyConnection) -> None:
    """Link each return line to the latest earlier sale of the same product to the same
    customer (an as-of join), unless the file named the returned order."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _o_returns AS
        SELECT line_key, customer_id, product_id, ts FROM _o_new
        WHERE kind = 'return' AND returned_order_id IS NULL
          AND customer_id IS NOT NULL AND product_id IS NOT NULL"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _o_sales AS
        SELECT customer_id, product_id, ts, oid AS order_id FROM _o_new
        WHERE kind = 'sale' AND customer_id IN (SELECT customer_id FROM _o_returns)
        UNION ALL
        SELECT customer_id, product_id, ordered_at, order_id FROM order_lines
        WHERE line_kind = 'sale' AND customer_id IN (SELECT customer_id FROM _o_returns)"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _o_return_links AS
        SELECT r.line_key, s.order_id AS original_order_id
        FROM _o_returns r ASOF LEFT JOIN _o_sales s
          ON r.customer_id = s.customer_id AND r.product_id = s.product_id AND r.ts >= s.ts"""
    )


def _insert_products(con: duckdb.DuckDBPyConnection, load_id: str) -> int:
    """Add products seen for the first time (title and price from their latest sale)."""
    before = int(con.execute("SELECT count(*) FROM products").fetchall()[0][0])
    con.execute(
        f"""INSERT INTO products
        SELECT product_id, arg_max(title, ts), NULL, NULL, NULL, arg_max(price, ts),
               arg_max(cur, ts), NULL, {literal(load_id)}, now()::TIMESTAMP
        FROM _o_new
        WHERE kind = 'sale' AND product_id IS NOT NULL
          AND product_id NOT IN (SELECT product_id FROM products)
        GROUP BY product_id"""
    )
    return int(con.execute("SELECT count(*) FROM products").fetchall()[0][0]) - before


def _insert_customers(con: duckdb.DuckDBPyConnection, load_id: str) -> int:
    """Add customers seen for the first time, with the country they order from most."""
    before = int(con.execute("SELECT count(*) FROM customers").fetchall()[0][0])
    con.execute(
        f"""INSERT INTO customers (customer_id, country, created_at, load_id, updated_at)
        SELECT n.customer_id, mode(coalesce(c.code, n.country)), min(n.ts), {literal(load_id)},
               now()::TIMESTAMP
        FROM _o_new n LEFT JOIN _country_map c ON c.raw = n.country
        WHERE n.customer_id IS NOT NULL
          AND n.customer_id NOT IN (SELECT customer_id FROM customers)
        GROUP BY n.customer_id"""
    )
    return int(con.execute("SELECT count(*) FROM customers").fetchall()[0][0]) - before


def _counts(con: duckdb.DuckDBPyConnection, raw: RawSource) -> dict[str, int]:
    row = con.execute(
        """SELECT
            (SELECT count(*) FROM _o_checked WHERE reason IS NOT NULL),
            (SELECT count(*) FROM _o_keys WHERE is_duplicate),
            (SELECT count(*) FROM _o_keys WHERE NOT is_duplicate) - (SELECT count(*) FROM _o_new),
            count(*) FILTER (WHERE kind = 'sale' AND customer_id IS NOT NULL),
            count(*) FILTER (WHERE kind = 'sale' AND customer_id IS NULL),
            count(*) FILTER (WHERE kind = 'return'),
            count(*) FILTER (WHERE kind = 'non_product'),
            count(*) FILTER (WHERE kind = 'return' AND customer_id IS NULL),
            count(*) FILTER (WHERE kind = 'return' AND returned_order_id IS NULL
                             AND line_key IN (SELECT line_key FROM _o_return_links
                                              WHERE original_order_id IS NOT NULL)),
            count(DISTINCT oid),
            count(DISTINCT (customer_id, CAST(ts AS DATE))) FILTER (WHERE customer_id IS NOT NULL)
        FROM _o_new"""
    ).fetchall()[0]
    rejected = int(row[0]) + len(raw.parse_rejects)
    return {
        "rows_read": raw.rows + len(raw.parse_rejects),
        "rejected": rejected,
        "duplicates": int(row[1]),
        "already_loaded": int(row[2]),
        "sales": int(row[3]),
        "guest_sales": int(row[4]),
        "returns": int(row[5]),
        "non_product": int(row[6]),
        "guest_returns": int(row[7]),
        "returns_linked": int(row[8]),
        "orders": int(row[9]),
        "customer_days": int(row[10]),
    }
