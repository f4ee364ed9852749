"""Cleaning and loading customer records.

Emails are lower-cased and validated, phones normalised to E.164 (national numbers read against
the customer's country), countries to ISO 3166 alpha-2, timezones checked against the IANA
database. A bad contact value is cleared and reported (``value_cleared``), the customer still
loads; a row without a customer id is rejected. Columns that are not canonical fields are kept
as free-form ``traits``. A customer id seen again updates the stored record.
"""

from __future__ import annotations

import duckdb

from growthloop.ingest._contacts import normalise_column, normalise_emails, normalise_phones
from growthloop.ingest._normalize import normalise_country, normalise_timezone
from growthloop.ingest._options import LoadOptions
from growthloop.ingest._rejects import insert_parse_rejects, reasons
from growthloop.ingest._source import RawSource
from growthloop.ingest._sql import MAX_FIELD_CHARS, ident, literal, project, timestamp_utc
from growthloop.ingest._upsert import keyed_counts, upsert

__all__ = ["CUSTOMER_FIELDS", "load_customers"]

CUSTOMER_FIELDS = ("customer_id", "email", "phone", "name", "country", "timezone", "created_at")
_ALIASES = {
    "id": "customer_id",
    "user_id": "customer_id",
    "userId": "customer_id",
    "signup_at": "created_at",
    "created": "created_at",
    "full_name": "name",
}


def load_customers(
    con: duckdb.DuckDBPyConnection,
    raw: RawSource,
    options: LoadOptions,
    *,
    load_id: str,
    source: str,
) -> tuple[dict[str, int], dict[str, int], dict[str, int], int]:
    """Clean and upsert customers; return counts, rejects and cleared values by reason, and
    the number of identity links added."""
    select, present, extras = project(
        raw,
        options.mapping,
        CUSTOMER_FIELDS,
        entity="customers",
        required=[("customer_id",)],
        aliases=_ALIASES,
        keep_unmapped=True,
    )
    missing = [f"NULL::VARCHAR AS {f}" for f in CUSTOMER_FIELDS if f not in present]
    traits = (
        "json_object(" + ", ".join(f"{literal(c)}, {ident('extra:' + c)}" for c in extras) + ")"
        if extras
        else "NULL::JSON"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _c_src AS SELECT {', '.join([select, *missing])} "
        f"FROM {raw.table}"
    )
    created = timestamp_utc(
        "created_at", options.source_timezone, options.timestamp_format, present
    )
    too_long = " OR ".join(f"length({f}) > {MAX_FIELD_CHARS}" for f in CUSTOMER_FIELDS)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _c_checked AS SELECT *,
            CASE WHEN customer_id IS NULL THEN 'missing_customer_id'
                 WHEN {too_long} THEN 'field_too_long' END AS reason,
            {created} AS created_ts,
            {traits} AS traits,
            row_number() OVER (PARTITION BY customer_id ORDER BY __line DESC) AS newest
        FROM _c_src"""
    )
    con.execute(
        f"""INSERT INTO rejects SELECT {literal(load_id)}, 'customers', {literal(source)}, __line,
            CASE reason WHEN 'missing_customer_id' THEN 'customer_id' END, NULL, reason,
            CASE reason WHEN 'missing_customer_id' THEN 'the customer id is empty'
                 ELSE 'a field is longer than {MAX_FIELD_CHARS} characters' END, 'row_rejected'
        FROM _c_checked WHERE reason IS NOT NULL"""
    )
    insert_parse_rejects(con, raw.parse_rejects, load_id=load_id, entity="customers", source=source)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _c_ok AS SELECT * FROM _c_checked "
        "WHERE reason IS NULL AND newest = 1"
    )
    normalise_column(con, "_c_ok", "country", normalise_country, "_c_country")
    con.execute("ALTER TABLE _c_ok ADD COLUMN country_code VARCHAR")
    con.execute("UPDATE _c_ok SET country_code = m.clean FROM _c_country m WHERE m.raw = country")
    if options.default_country:
        con.execute(
            "UPDATE _c_ok SET country_code = ? WHERE country IS NULL", [options.default_country]
        )
    normalise_emails(con, "_c_ok", "email", "_c_email")
    normalise_phones(con, "_c_ok", "phone", "country_code", "_c_phone")
    normalise_column(con, "_c_ok", "timezone", normalise_timezone, "_c_tz")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _c_clean AS SELECT s.*,
            em.clean AS email_clean, em.problem AS email_problem,
            ph.clean AS phone_clean, ph.problem AS phone_problem,
            co.clean AS country_clean, co.problem AS country_problem,
            tz.clean AS tz_clean, tz.problem AS tz_problem
        FROM _c_ok s
        LEFT JOIN _c_email em ON em.raw = s.email
        LEFT JOIN _c_phone ph ON ph.raw = s.phone AND ph.region IS NOT DISTINCT FROM s.country_code
        LEFT JOIN _c_country co ON co.raw = s.country
        LEFT JOIN _c_tz tz ON tz.raw = s.timezone"""
    )
    for column, reason, problem in (
        ("email", "invalid_email", "email_problem"),
        ("phone", "invalid_phone", "phone_problem"),
        ("country", "invalid_country", "country_problem"),
        ("timezone", "invalid_timezone", "tz_problem"),
    ):
        con.execute(
            f"""INSERT INTO rejects SELECT {literal(load_id)}, 'customers', {literal(source)},
                __line, '{column}', left({column}, 200), '{reason}', {problem}, 'value_cleared'
            FROM _c_clean WHERE {problem} IS NOT NULL"""
        )
    con.execute(
        f"""INSERT INTO rejects SELECT {literal(load_id)}, 'customers', {literal(source)},
            __line, 'created_at', left(created_at, 200), 'bad_timestamp',
            'timestamp ' || created_at || ' is not ISO 8601 (2024-05-01 13:45:00)',
            'value_cleared'
        FROM _c_clean WHERE created_at IS NOT NULL AND created_ts IS NULL"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _c_rows AS SELECT customer_id,
            email_clean AS email, phone_clean AS phone, name, country_clean AS country,
            tz_clean AS timezone, created_ts AS created_at, traits,
            {literal(load_id)} AS load_id, now()::TIMESTAMP AS updated_at
        FROM _c_clean"""
    )
    new, updated, unchanged = upsert(
        con,
        "customers",
        "_c_rows",
        key="customer_id",
        compare=["email", "phone", "name", "country", "timezone", "created_at", "traits"],
    )
    links = _link_contacts(con, load_id, source)
    counts = keyed_counts(con, "_c_checked", raw, (new, updated, unchanged))
    by_reason, cleared = reasons(con, load_id)
    return counts, by_reason, cleared, links


def _link_contacts(con: duckdb.DuckDBPyConnection, load_id: str, source: str) -> int:
    """Link each customer to its email and phone (links already known are not repeated)."""
    before = int(con.execute("SELECT count(*) FROM identity_links").fetchall()[0][0])
    con.execute(
        f"""INSERT INTO identity_links
        SELECT DISTINCT 'customer', customer_id, kind, value, {literal(source)}, {literal(load_id)},
               now()::TIMESTAMP
        FROM (SELECT customer_id, 'email' AS kind, email AS value FROM _c_rows
              UNION ALL SELECT customer_id, 'phone', phone FROM _c_rows) c
        WHERE value IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM identity_links l WHERE l.left_kind = 'customer'
              AND l.left_value = c.customer_id AND l.right_kind = c.kind
              AND l.right_value = c.value)"""
    )
    return int(con.execute("SELECT count(*) FROM identity_links").fetchall()[0][0]) - before
