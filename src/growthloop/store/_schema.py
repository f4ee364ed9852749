"""Canonical tables of the analytical store, as versioned DuckDB DDL.

All timestamps are stored as ``TIMESTAMP`` values in UTC. Money is ``DECIMAL(18, 4)``.
Customer references keep the id the source used; the ``identities`` table maps every known
identity (customer id, anonymous id, email, phone) to its canonical customer id, and the
``v_*`` views join it in, so every query downstream sees canonical ids.
See ``docs/data-model.md`` for the diagram.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "VIEWS"]

# Each entry is applied once, in order; never edit an applied entry, append a new one.
MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "canonical tables",
        """
        CREATE TABLE loads (
            load_id VARCHAR NOT NULL,
            entity VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            fingerprint VARCHAR,
            size_bytes BIGINT,
            preset VARCHAR,
            options JSON,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP NOT NULL,
            rows_read BIGINT NOT NULL,
            rows_loaded BIGINT NOT NULL,
            rows_rejected BIGINT NOT NULL,
            duplicates BIGINT NOT NULL,
            counts JSON NOT NULL
        );
        CREATE TABLE rejects (
            load_id VARCHAR NOT NULL,
            entity VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            line BIGINT,
            column_name VARCHAR,
            value VARCHAR,
            reason VARCHAR NOT NULL,
            message VARCHAR NOT NULL,
            action VARCHAR NOT NULL  -- 'row_rejected' or 'value_cleared'
        );
        CREATE TABLE customers (
            customer_id VARCHAR NOT NULL,
            email VARCHAR,
            phone VARCHAR,
            name VARCHAR,
            country VARCHAR,
            timezone VARCHAR,
            created_at TIMESTAMP,
            traits JSON,
            load_id VARCHAR NOT NULL,
            updated_at TIMESTAMP NOT NULL
        );
        CREATE TABLE products (
            product_id VARCHAR NOT NULL,
            title VARCHAR,
            description VARCHAR,
            category VARCHAR,
            brand VARCHAR,
            price DECIMAL(18, 4),
            currency VARCHAR,
            tags VARCHAR[],
            load_id VARCHAR NOT NULL,
            updated_at TIMESTAMP NOT NULL
        );
        CREATE TABLE order_lines (
            line_key VARCHAR NOT NULL,
            order_id VARCHAR NOT NULL,
            customer_id VARCHAR,
            product_id VARCHAR,
            title VARCHAR,
            quantity INTEGER NOT NULL,
            unit_price DECIMAL(18, 4) NOT NULL,
            amount DECIMAL(18, 4) NOT NULL,
            currency VARCHAR NOT NULL,
            ordered_at TIMESTAMP NOT NULL,
            country VARCHAR,
            line_kind VARCHAR NOT NULL,  -- 'sale', 'return' or 'non_product'
            is_guest BOOLEAN NOT NULL,
            returned_order_id VARCHAR,
            load_id VARCHAR NOT NULL,
            source_line BIGINT
        );
        CREATE TABLE events (
            message_id VARCHAR NOT NULL,
            type VARCHAR NOT NULL,  -- 'identify', 'track', 'page', 'screen', 'group', 'alias'
            event VARCHAR,
            name VARCHAR,
            user_id VARCHAR,
            anonymous_id VARCHAR,
            previous_id VARCHAR,
            timestamp TIMESTAMP NOT NULL,
            received_at TIMESTAMP NOT NULL,
            properties JSON,
            traits JSON,
            context JSON,
            load_id VARCHAR NOT NULL
        );
        CREATE TABLE identity_links (
            left_kind VARCHAR NOT NULL,
            left_value VARCHAR NOT NULL,
            right_kind VARCHAR NOT NULL,
            right_value VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            load_id VARCHAR NOT NULL,
            linked_at TIMESTAMP NOT NULL
        );
        CREATE TABLE identities (
            kind VARCHAR NOT NULL,   -- 'customer', 'anonymous', 'email', 'phone'
            value VARCHAR NOT NULL,
            canonical_id VARCHAR NOT NULL
        );
        CREATE TABLE identity_merges (
            load_id VARCHAR NOT NULL,
            merged_at TIMESTAMP NOT NULL,
            canonical_id VARCHAR NOT NULL,
            absorbed_id VARCHAR NOT NULL
        );
        """,
    ),
]

MIGRATIONS.append(
    (
        2,
        "segment membership",
        """
        CREATE TABLE segment_membership (
            segment_id VARCHAR NOT NULL,
            canonical_id VARCHAR NOT NULL,
            entered_at TIMESTAMP NOT NULL,
            exited_at TIMESTAMP,
            version INTEGER NOT NULL
        );
        CREATE TABLE segment_state (
            segment_id VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            evaluated_at TIMESTAMP NOT NULL,
            members BIGINT NOT NULL,
            profiles_as_of TIMESTAMP,
            evaluated_wall TIMESTAMP NOT NULL  -- wall-clock time, to find loads since
        );
        """,
    )
)

MIGRATIONS.append(
    (
        3,
        "segment event-condition state",
        """
        -- Per segment and event condition (node_key): each customer's count of matching
        -- events in the condition's window and their latest one, as of the last evaluation.
        CREATE TABLE segment_node_counts (
            segment_id VARCHAR NOT NULL,
            node_key VARCHAR NOT NULL,
            canonical_id VARCHAR NOT NULL,
            n BIGINT NOT NULL,
            last_at TIMESTAMP
        );
        -- Matching events that will leave the window or are not yet counted (timestamps at
        -- or after the evaluation time), so updates never rescan the events table by time.
        CREATE TABLE segment_node_events (
            segment_id VARCHAR NOT NULL,
            node_key VARCHAR NOT NULL,
            canonical_id VARCHAR NOT NULL,
            timestamp TIMESTAMP NOT NULL
        );
        -- Which event conditions the state was built for (a referenced segment can change),
        -- and the row number the events had reached (rows from there on are new).
        ALTER TABLE segment_state ADD COLUMN conditions_key VARCHAR;
        ALTER TABLE segment_state ADD COLUMN events_seen BIGINT;
        """,
    )
)

# The canonical customer id of an event and of an order line, as the identities give it now.
EVENT_CANONICAL_ID = (
    "COALESCE(u.canonical_id, a.canonical_id, {e}.user_id, 'anon:' || {e}.anonymous_id)"
)
EVENT_IDENTITY_JOINS = (
    "LEFT JOIN identities u ON u.kind = 'customer' AND u.value = {e}.user_id "
    "LEFT JOIN identities a ON a.kind = 'anonymous' AND a.value = {e}.anonymous_id"
)
LINE_CANONICAL_ID = "COALESCE(i.canonical_id, {l}.customer_id)"
LINE_IDENTITY_JOINS = "LEFT JOIN identities i ON i.kind = 'customer' AND i.value = {l}.customer_id"

MIGRATIONS.append(
    (
        4,
        "canonical ids stored on events and order lines",
        f"""
        -- Kept current by the loaders (identity changes rewrite the rows concerned), so
        -- queries read them instead of joining the identities for every event. The tables
        -- are rewritten (a streaming copy) rather than updated: tens of millions of updated
        -- rows do not fit a small memory limit.
        DROP VIEW IF EXISTS v_events;
        DROP VIEW IF EXISTS v_orders;
        DROP VIEW IF EXISTS v_order_lines;
        CREATE TABLE _events_4 (
            message_id VARCHAR NOT NULL,
            type VARCHAR NOT NULL,
            event VARCHAR,
            name VARCHAR,
            user_id VARCHAR,
            anonymous_id VARCHAR,
            previous_id VARCHAR,
            timestamp TIMESTAMP NOT NULL,
            received_at TIMESTAMP NOT NULL,
            properties JSON,
            traits JSON,
            context JSON,
            load_id VARCHAR NOT NULL,
            canonical_id VARCHAR
        );
        INSERT INTO _events_4 SELECT e.*, {EVENT_CANONICAL_ID.format(e="e")}
            FROM events e {EVENT_IDENTITY_JOINS.format(e="e")};
        DROP TABLE events;
        ALTER TABLE _events_4 RENAME TO events;
        CREATE TABLE _order_lines_4 (
            line_key VARCHAR NOT NULL,
            order_id VARCHAR NOT NULL,
            customer_id VARCHAR,
            product_id VARCHAR,
            title VARCHAR,
            quantity INTEGER NOT NULL,
            unit_price DECIMAL(18, 4) NOT NULL,
            amount DECIMAL(18, 4) NOT NULL,
            currency VARCHAR NOT NULL,
            ordered_at TIMESTAMP NOT NULL,
            country VARCHAR,
            line_kind VARCHAR NOT NULL,
            is_guest BOOLEAN NOT NULL,
            returned_order_id VARCHAR,
            load_id VARCHAR NOT NULL,
            source_line BIGINT,
            canonical_id VARCHAR
        );
        INSERT INTO _order_lines_4 SELECT l.*, {LINE_CANONICAL_ID.format(l="l")}
            FROM order_lines l {LINE_IDENTITY_JOINS.format(l="l")};
        DROP TABLE order_lines;
        ALTER TABLE _order_lines_4 RENAME TO order_lines;
        """,
    )
)

MIGRATIONS.append(
    (
        5,
        "compiled segment SQL kept with the segment state",
        """
        -- The SQL an incremental update runs (JSON), compiled at the last full refresh.
        ALTER TABLE segment_state ADD COLUMN compiled VARCHAR;
        """,
    )
)

MIGRATIONS.append(
    (
        6,
        "precomputed recommendations",
        """
        -- Each customer's top-N items with the reason each was chosen, written in full by
        -- `growthloop recommend build` (rows ordered by canonical_id, so a customer's rows sit
        -- together) and per customer when new interactions update them.
        CREATE TABLE recommendations (
            canonical_id VARCHAR NOT NULL,
            rank INTEGER NOT NULL,
            item_id VARCHAR NOT NULL,
            score DOUBLE,
            reason_code VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            model_version INTEGER NOT NULL,
            built_at TIMESTAMP NOT NULL
        );
        """,
    )
)

MIGRATIONS.append(
    (
        7,
        "64-bit lookup keys on segment state",
        """
        -- hash(canonical_id): incremental segment updates find the rows of the customers they
        -- re-evaluate by an integer probe instead of a string one.
        ALTER TABLE segment_node_counts ADD COLUMN h UBIGINT;
        UPDATE segment_node_counts SET h = hash(canonical_id);
        ALTER TABLE segment_membership ADD COLUMN h UBIGINT;
        UPDATE segment_membership SET h = hash(canonical_id);
        """,
    )
)

MIGRATIONS.append(
    (
        8,
        "segment state epochs",
        """
        -- A token written by every evaluation of a segment (epoch), and the one its state table
        -- was last written at (state_epoch): they differ while a process holds a newer state in
        -- memory (see growthloop.segment.SegmentUpdater), and a copy held in memory is current
        -- only if its token is the epoch.
        ALTER TABLE segment_state ADD COLUMN epoch BIGINT DEFAULT 0;
        ALTER TABLE segment_state ADD COLUMN state_epoch BIGINT DEFAULT 0;
        """,
    )
)

VIEWS: dict[str, str] = {
    # Order lines with the canonical customer id (guests keep NULL), stored on the table.
    "v_order_lines": "SELECT * FROM order_lines",
    # One row per order: totals of its lines.
    "v_orders": """
        SELECT order_id,
               any_value(canonical_id) AS canonical_id,
               any_value(customer_id) AS customer_id,
               min(ordered_at) AS ordered_at,
               any_value(currency) AS currency,
               bool_or(is_guest) AS is_guest,
               CASE WHEN bool_and(line_kind = 'return') THEN 'return' ELSE 'order' END
                   AS order_kind,
               count(*) AS lines,
               sum(quantity) FILTER (WHERE line_kind <> 'non_product') AS items,
               sum(amount) FILTER (WHERE line_kind <> 'non_product') AS product_amount,
               sum(amount) AS total_amount
        FROM v_order_lines
        GROUP BY order_id
    """,
    # Events with the canonical id of whoever sent them (user id first, else anonymous id),
    # stored on the table.
    "v_events": "SELECT * FROM events",
    # The same with each event's row number: events are only ever appended, so the rows after
    # a remembered number are exactly the events loaded since (found without a scan).
    "v_event_rows": "SELECT rowid AS event_row, * FROM events",
    # One row per canonical customer: the most recently updated non-null value of each field.
    "v_customers": """
        SELECT COALESCE(i.canonical_id, c.customer_id) AS canonical_id,
               arg_max(c.email, c.updated_at) FILTER (WHERE c.email IS NOT NULL) AS email,
               arg_max(c.phone, c.updated_at) FILTER (WHERE c.phone IS NOT NULL) AS phone,
               arg_max(c.name, c.updated_at) FILTER (WHERE c.name IS NOT NULL) AS name,
               arg_max(c.country, c.updated_at) FILTER (WHERE c.country IS NOT NULL) AS country,
               arg_max(c.timezone, c.updated_at) FILTER (WHERE c.timezone IS NOT NULL)
                   AS timezone,
               min(c.created_at) AS created_at,
               arg_max(c.traits, c.updated_at) FILTER (WHERE c.traits IS NOT NULL) AS traits,
               count(*) AS source_records
        FROM customers c
        LEFT JOIN identities i ON i.kind = 'customer' AND i.value = c.customer_id
        GROUP BY 1
    """,
}
