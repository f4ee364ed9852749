"""Cleaning and loading behavioural events in the Segment spec.

Accepts the spec's camelCase field names (``messageId``, ``userId``, ``anonymousId``,
``previousId``) or snake_case. Rules: ``type`` is one of identify, track, page, screen, group,
alias; a message names ``user_id`` or ``anonymous_id`` (alias: ``previous_id`` and
``user_id``); track names its ``event``; the timestamp parses; properties, traits and context
are JSON objects. A message without ``message_id`` gets one derived from its content, so loading
the same file again stores nothing twice. Identify calls, aliases and any event carrying both a
user id and an anonymous id link those identities; emails and phones in identify traits too.
"""

from __future__ import annotations

import contextlib

import duckdb

from growthloop.ingest._contacts import normalise_emails, normalise_phones
from growthloop.ingest._options import LoadOptions
from growthloop.ingest._rejects import insert_parse_rejects, reason_case, reasons
from growthloop.ingest._source import RawSource
from growthloop.ingest._sql import literal, project, timestamp_utc
from growthloop.store._schema import EVENT_CANONICAL_ID, EVENT_IDENTITY_JOINS

__all__ = ["EVENT_FIELDS", "EVENT_TYPES", "load_events"]

EVENT_FIELDS = (
    "message_id",
    "type",
    "event",
    "name",
    "user_id",
    "anonymous_id",
    "previous_id",
    "timestamp",
    "received_at",
    "properties",
    "traits",
    "context",
)
EVENT_TYPES = ("identify", "track", "page", "screen", "group", "alias")
_ALIASES = {
    "messageId": "message_id",
    "userId": "user_id",
    "anonymousId": "anonymous_id",
    "previousId": "previous_id",
    "receivedAt": "received_at",
    "originalTimestamp": "timestamp",
    "event_name": "event",
}


def load_events(
    con: duckdb.DuckDBPyConnection,
    raw: RawSource,
    options: LoadOptions,
    *,
    load_id: str,
    source: str,
) -> tuple[dict[str, int], dict[str, int], dict[str, int], int]:
    """Clean and insert events; return counts, rejects by reason, cleared values, links."""
    try:
        return _load_events(con, raw, options, load_id=load_id, source=source)
    finally:
        # In an aborted transaction this fails; load_file sets it again before every read.
        with contextlib.suppress(duckdb.Error):
            con.execute("RESET preserve_insertion_order")


def _load_events(
    con: duckdb.DuckDBPyConnection,
    raw: RawSource,
    options: LoadOptions,
    *,
    load_id: str,
    source: str,
) -> tuple[dict[str, int], dict[str, int], dict[str, int], int]:
    """Clean and insert events; return counts, rejects by reason, cleared values, links."""
    select, present, _ = project(
        raw,
        options.mapping,
        EVENT_FIELDS,
        entity="events",
        required=[("type",), ("user_id", "anonymous_id")],
        aliases=_ALIASES,
    )
    missing = [f"NULL::VARCHAR AS {f}" for f in EVENT_FIELDS if f not in present]
    ts = timestamp_utc("timestamp", options.source_timezone, options.timestamp_format, present)
    received = timestamp_utc("received_at", "UTC", None, present)
    types = ", ".join(literal(t) for t in EVENT_TYPES)

    def json_rule(column: str) -> tuple[str, str, str, str, str]:
        return (
            # Valid JSON that starts with '{' is an object: no second parse needed.
            f"{column} IS NOT NULL AND ({column}_json IS NULL "
            f"OR NOT starts_with(ltrim({column}), '{{'))",
            "bad_json",
            column,
            column,
            f"'{column} is not a JSON object'",
        )

    rules = [
        ("type IS NULL", "missing_type", "type", "NULL", "'the message type is empty'"),
        (
            f"kind NOT IN ({types})",
            "bad_type",
            "type",
            "type",
            f"'type ' || type || ' is not one of {', '.join(EVENT_TYPES)}'",
        ),
        (
            "kind = 'alias' AND (previous_id IS NULL OR user_id IS NULL)",
            "bad_alias",
            "previous_id",
            "previous_id",
            "'an alias needs previousId and userId'",
        ),
        (
            "user_id IS NULL AND anonymous_id IS NULL",
            "missing_identity",
            "user_id",
            "NULL",
            "'the message has neither userId nor anonymousId'",
        ),
        (
            "kind = 'track' AND event IS NULL",
            "missing_event",
            "event",
            "NULL",
            "'a track message needs event (the event name)'",
        ),
        ("timestamp IS NULL", "missing_timestamp", "timestamp", "NULL", "'the timestamp is empty'"),
        (
            "ts IS NULL",
            "bad_timestamp",
            "timestamp",
            "timestamp",
            "'timestamp ' || timestamp || ' is not ISO 8601'",
        ),
        (
            "length(coalesce(message_id, '')) > 200 OR length(coalesce(user_id, '')) > 500 OR "
            "length(coalesce(anonymous_id, '')) > 500 OR length(coalesce(event, '')) > 500",
            "field_too_long",
            "message_id",
            "NULL",
            "'an id or event name is too long'",
        ),
        json_rule("properties"),
        json_rule("traits"),
        json_rule("context"),
    ]
    reason, column, value, message = reason_case(rules)
    content = ", ".join(f"coalesce({f}, '\\x00')" for f in EVENT_FIELDS if f != "received_at")
    mid = (
        f"CASE WHEN message_id IS NULL THEN 'md5-' || md5(concat_ws('\\x1f', {content})) "
        "ELSE message_id END"
    )
    typed = f"""SELECT *, {mid} AS mid
        FROM (SELECT *, lower(type) AS kind, {ts} AS ts,
                     coalesce({received}, now()::TIMESTAMP) AS received_ts,
                     TRY_CAST(properties AS JSON) AS properties_json,
                     TRY_CAST(traits AS JSON) AS traits_json,
                     TRY_CAST(context AS JSON) AS context_json
              FROM (SELECT {", ".join([select, *missing])} FROM {raw.table}))"""
    checked = f"SELECT *, {reason} AS reason FROM ({typed})"
    # One pass: project, type and check every row.
    # Row order carries no meaning past this point (lines are numbered): let DuckDB write in
    # parallel without keeping it.
    con.execute("SET preserve_insertion_order = false")
    # Only the typed values are kept (and, for rejected rows, what the reject says).
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _e_checked AS SELECT __line, mid, reason,
            CASE WHEN reason IS NOT NULL THEN {column} END AS reject_column,
            CASE WHEN reason IS NOT NULL THEN {value} END AS reject_value,
            CASE WHEN reason IS NOT NULL THEN {message} END AS reject_message,
            kind, event, name, user_id, anonymous_id, previous_id, ts, received_ts,
            properties_json, traits_json, context_json
        FROM ({checked})"""
    )
    con.execute(
        f"""INSERT INTO rejects SELECT {literal(load_id)}, 'events', {literal(source)},
            __line, reject_column, reject_value, reason, reject_message, 'row_rejected'
        FROM _e_checked WHERE reason IS NOT NULL"""
    )
    insert_parse_rejects(con, raw.parse_rejects, load_id=load_id, entity="events", source=source)
    # The first line of each message id. A cheap test on 64-bit hashes first: equal counts
    # prove no id repeats (a collision can only make it look like one does).
    total, distinct_hashes = con.execute(
        "SELECT count(*), count(DISTINCT hash(mid)) FROM _e_checked WHERE reason IS NULL"
    ).fetchall()[0]
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _e_keys AS
        SELECT mid, min(__line) AS first_line, count(*) AS copies
        FROM _e_checked WHERE reason IS NULL {"AND false" if total == distinct_hashes else ""}
        GROUP BY mid"""
    )
    repeated = int(con.execute("SELECT count(*) FROM _e_keys WHERE copies > 1").fetchall()[0][0])
    first_only = (
        "AND NOT EXISTS (SELECT 1 FROM _e_keys k WHERE k.mid = c.mid "
        "AND k.copies > 1 AND k.first_line <> c.__line)"
        if repeated
        else ""
    )
    con.execute(
        f"""INSERT INTO events SELECT mid, c.kind, event, name, c.user_id, c.anonymous_id,
            previous_id, ts, received_ts, properties_json, traits_json, context_json,
            {literal(load_id)}, {EVENT_CANONICAL_ID.format(e="c")}
        FROM _e_checked c {EVENT_IDENTITY_JOINS.format(e="c")}
        WHERE reason IS NULL {first_only}
          AND NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = c.mid)"""
    )
    # What this load added, for identity links and counts (a view: nothing is copied).
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW _e_new AS SELECT message_id AS mid, type AS kind,
            event, user_id, anonymous_id, previous_id, traits
        FROM events WHERE load_id = {literal(load_id)}"""
    )
    links = _link_identities(con, load_id, source)
    row = con.execute(
        """SELECT (SELECT count(*) FROM _e_checked WHERE reason IS NOT NULL),
                  (SELECT coalesce(sum(copies - 1), 0) FROM _e_keys),
                  (SELECT count(*) FROM _e_checked WHERE reason IS NULL)
                  - (SELECT coalesce(sum(copies - 1), 0) FROM _e_keys) - count(*),
                  count(*), count(*) FILTER (WHERE kind = 'track'),
                  count(*) FILTER (WHERE kind = 'identify'), count(*) FILTER (WHERE kind = 'page'),
                  count(*) FILTER (WHERE kind = 'alias')
        FROM _e_new"""
    ).fetchall()[0]
    counts = {
        "rows_read": raw.rows + len(raw.parse_rejects),
        "rejected": int(row[0]) + len(raw.parse_rejects),
        "duplicates": int(row[1]),
        "already_loaded": int(row[2]),
        "loaded": int(row[3]),
        "track": int(row[4]),
        "identify": int(row[5]),
        "page": int(row[6]),
        "alias": int(row[7]),
    }
    return counts, reasons(con, load_id)[0], {}, links


def _link_identities(con: duckdb.DuckDBPyConnection, load_id: str, source: str) -> int:
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _e_traits AS SELECT e.user_id,
            NULLIF(trim(e.traits ->> 'email'), '') AS email,
            NULLIF(trim(e.traits ->> 'phone'), '') AS phone,
            -- National numbers are read against the country in the traits, else the one on
            -- the customer's record.
            coalesce(NULLIF(upper(trim(coalesce(e.traits ->> 'country',
                                                  e.traits -> 'address' ->> 'country'))), ''),
                     c.country) AS region
        FROM _e_new e LEFT JOIN customers c ON c.customer_id = e.user_id
        WHERE e.kind = 'identify' AND e.user_id IS NOT NULL AND e.traits IS NOT NULL"""
    )
    normalise_emails(con, "_e_traits", "email", "_e_email")
    normalise_phones(con, "_e_traits", "phone", "region", "_e_phone")
    before = int(con.execute("SELECT count(*) FROM identity_links").fetchall()[0][0])
    # Distinct pairs first: tens of millions of events carry a few million pairs, and a
    # two-column DISTINCT stays within a small memory limit where the wide one did not.
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _e_pairs AS SELECT DISTINCT user_id, anonymous_id
        FROM _e_new WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL"""
    )
    con.execute(
        f"""INSERT INTO identity_links
        SELECT DISTINCT lk, lv, rk, rv, {literal(source)}, {literal(load_id)}, now()::TIMESTAMP
        FROM (
            SELECT 'customer' AS lk, user_id AS lv, 'anonymous' AS rk, anonymous_id AS rv
            FROM _e_pairs
            UNION ALL
            SELECT 'customer', user_id, 'anonymous', previous_id FROM _e_new WHERE kind = 'alias'
            UNION ALL
            SELECT 'customer', t.user_id, 'email', m.clean FROM _e_traits t
            JOIN _e_email m ON m.raw = t.email WHERE m.clean IS NOT NULL
            UNION ALL
            SELECT 'customer', t.user_id, 'phone', m.clean FROM _e_traits t
            JOIN _e_phone m ON m.raw = t.phone AND m.region IS NOT DISTINCT FROM t.region
            WHERE m.clean IS NOT NULL
        ) n
        WHERE NOT EXISTS (SELECT 1 FROM identity_links l WHERE l.left_kind = n.lk
            AND l.left_value = n.lv AND l.right_kind = n.rk AND l.right_value = n.rv)"""
    )
    return int(con.execute("SELECT count(*) FROM identity_links").fetchall()[0][0]) - before
