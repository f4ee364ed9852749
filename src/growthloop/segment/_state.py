"""Per-customer running state of a segment, updated from deltas instead of rescans.

Each segment keeps one state table (:func:`state_table`), one row per profiled customer, which
holds everything its evaluation reads, as of the last evaluation time ``at``:

- ``canonical_id`` and its 64-bit hash ``_h`` (the lookup key);
- the profile fields the segment reads (copied at a full refresh: profiles only change with a
  new build, which triggers a full refresh);
- per event condition (``performed``, ``last_performed``, including those of the segments it
  refers to) with key ``k``: ``_n_k``, the matching events in the condition's window
  (``[at - W, at)``, or all before ``at``), and ``_last_k``, the latest one counted;
- ``_member``: whether the customer has an open stay in the segment.

Beside it, ``segment_node_events`` buffers the matching events that can still change a count:
those in the window (they will expire) and those at or after ``at`` (they will come into view).

Moving from ``last`` to ``at`` with new loads ``L`` changes a customer's count by the events of
``L`` in the new window, plus the buffered events coming into view (``[last, at)``), minus the
buffered events leaving the window (``[last - W, at - W)``). So an update reads the new loads'
events (the rows after the last evaluation's row number: events are append-only), the small
buffer (written in time order, so range reads skip most of it) and the state rows of the
customers concerned, taken out of the state table in one pass by id hash and put back after
their evaluation; it never scans the events table by time. Buffered events that can no longer
matter are removed on the first update of each day (reads are bounded below, so they do no harm
until then). Loads that link identities move events between customers: the customers concerned
are recounted from the events, the rest stay incremental. Events of customers without a profile
change no state row: they cannot be members until a new profile build, which rebuilds the
state. The counts equal a recount from scratch at ``at`` (tested against the direct
compilation).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import ibis

from growthloop.segment._compile import event_matches
from growthloop.segment._model import (
    LastPerformedNode,
    PerformedNode,
    SegmentDefinition,
    walk_with_references,
)
from growthloop.store import AnalyticalStore

__all__ = [
    "BUFFER",
    "EventCondition",
    "event_conditions",
    "events_seen",
    "keep_state",
    "matching_rows",
    "matching_sql",
    "new_loads",
    "put_back_state",
    "rebuild_state",
    "state_counts",
    "state_table",
    "update_state",
]

BUFFER = "segment_node_events"  # see the module docstring
# Where older versions kept the counts; a full refresh clears a segment's rows there.
_LEGACY_COUNTS = "segment_node_counts"


@dataclass(frozen=True)
class EventCondition:
    """One event condition of a segment tree and the key its state is stored under."""

    key: str
    node: PerformedNode | LastPerformedNode

    @property
    def window(self) -> timedelta | None:
        """The counting window, for ``performed ... within_days``; None counts all time."""
        if isinstance(self.node, PerformedNode) and self.node.within_days:
            return timedelta(days=self.node.within_days)
        return None

    @property
    def count_column(self) -> str:
        return f"_n_{self.key}"

    @property
    def last_column(self) -> str:
        return f"_last_{self.key}"

    def counted_from(self, at: datetime) -> datetime | None:
        """Start of the counted range at ``at`` (None: from the beginning)."""
        return at - self.window if self.window is not None else None

    def buffered_from(self, at: datetime) -> datetime:
        """Events at or after this instant are buffered at ``at``."""
        return at - self.window if self.window is not None else at


def node_key(node: PerformedNode | LastPerformedNode) -> str:
    """A stable key of an event condition: the hash of what it selects and counts."""
    return hashlib.sha256(node.model_dump_json().encode()).hexdigest()[:16]


def event_conditions(definition: SegmentDefinition, resolve: Any) -> list[EventCondition]:
    """The distinct event conditions of ``definition``, following segment references."""
    out: dict[str, EventCondition] = {}
    for node in walk_with_references(definition, resolve):
        if isinstance(node, PerformedNode | LastPerformedNode):
            key = node_key(node)
            out.setdefault(key, EventCondition(key, node))
    return [out[key] for key in sorted(out)]


def state_table(segment_id: str) -> str:
    """The name of a segment's state table (see the module docstring)."""
    return "segment_customers_" + hashlib.sha256(segment_id.encode()).hexdigest()[:16]


def events_seen(store: AnalyticalStore) -> int:
    """The row number the next event will get: events are only appended, never deleted (a
    deletion must be followed by a full refresh of the segments)."""
    return int(store.con.execute("SELECT count(*) FROM events").fetchall()[0][0])


def new_loads(store: AnalyticalStore, since: datetime) -> tuple[int, int]:
    """:func:`events_seen`, and how many identity links the loads finished since wall-clock
    time ``since`` added."""
    seen, unknown, added = store.con.execute(
        """SELECT (SELECT count(*) FROM events),
                  count(*) FILTER (WHERE counts ->> 'identity_links' IS NULL),
                  coalesce(sum(TRY_CAST(counts ->> 'identity_links' AS BIGINT)), 0)
        FROM loads WHERE finished_at >= ?""",
        [since],
    ).fetchall()[0]
    if unknown:  # older loads did not record it: look at the links
        added = store.con.execute(
            "SELECT count(*) FROM identity_links WHERE load_id IN "
            "(SELECT load_id FROM loads WHERE finished_at >= ?)",
            [since],
        ).fetchall()[0][0]
    return int(seen), int(added)


def matching_sql(store: AnalyticalStore, condition: EventCondition) -> str:
    """SQL of ``(canonical_id, timestamp, event_row)`` of every event ``condition`` counts.

    It does not depend on the evaluation time, so it is compiled once per condition and kept
    with the segment's state (see ``_membership``).
    """
    events = store.ibis.table("v_event_rows")
    selected = events.filter(event_matches(events, condition.node)).select(
        "canonical_id", "timestamp", "event_row"
    )
    return str(ibis.to_sql(selected, dialect="duckdb"))


def matching_rows(sql: str, from_row: int = 0, where: str = "") -> str:
    """``(canonical_id, timestamp)`` of ``sql``'s events from row ``from_row`` on (the row
    filter reaches the scan of the events, which skips the older row groups)."""
    clauses = [c for c in (f"event_row >= {int(from_row)}" if from_row else "", where) if c]
    condition = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    return f"SELECT canonical_id, timestamp FROM ({sql}) AS m {condition}"


def _range(column: str, start: datetime | None, end: datetime | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if start is not None:
        clauses.append(f"{column} >= ?")
        params.append(start)
    if end is not None:
        clauses.append(f"{column} < ?")
        params.append(end)
    return " AND ".join(clauses) or "TRUE", params


def _recount(
    store: AnalyticalStore,
    segment_id: str,
    condition: EventCondition,
    sql: str,
    at: datetime,
    only: str | None,
) -> None:
    """Counts of ``condition`` (whose :func:`matching_sql` is ``sql``) from the events table
    (for the ids in table ``only``) into temp table ``_node_counts``, and its buffer."""
    con = store.con
    scope = f"canonical_id IN (SELECT canonical_id FROM {only})" if only else ""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _node_events AS {matching_rows(sql, where=scope)}")
    counted, params = _range("timestamp", condition.counted_from(at), at)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _node_counts AS
        SELECT canonical_id, count(*) AS n, max(timestamp) AS last_at FROM _node_events
        WHERE {counted} GROUP BY canonical_id""",
        params,
    )
    con.execute(
        f"""INSERT INTO {BUFFER} SELECT ?, ?, canonical_id, timestamp FROM _node_events
        WHERE timestamp >= ? ORDER BY timestamp""",
        [segment_id, condition.key, condition.buffered_from(at)],
    )
    con.execute("DROP TABLE _node_events")


def rebuild_state(
    store: AnalyticalStore,
    segment_id: str,
    conditions: list[EventCondition],
    matching: dict[str, str],
    fields: list[str],
    at: datetime,
) -> None:
    """Recompute every customer's state as of ``at`` into temp table ``_seg_all`` (the state
    table's shape, ``_member`` false), and the buffer (``matching``: each condition's
    :func:`matching_sql` by key; ``fields``: the profile fields the segment reads)."""
    con = store.con
    for table in (_LEGACY_COUNTS, BUFFER):
        con.execute(f"DELETE FROM {table} WHERE segment_id = ?", [segment_id])
    columns = ["p.canonical_id", "hash(p.canonical_id) AS _h", *(f'p."{f}"' for f in fields)]
    joins = []
    for i, condition in enumerate(conditions):
        _recount(store, segment_id, condition, matching[condition.key], at, None)
        con.execute(f"ALTER TABLE _node_counts RENAME TO _node_counts_{i}")
        columns += [
            f"coalesce(c{i}.n, 0) AS {condition.count_column}",
            f"c{i}.last_at AS {condition.last_column}",
        ]
        joins.append(f"LEFT JOIN _node_counts_{i} c{i} ON c{i}.canonical_id = p.canonical_id")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _seg_all AS SELECT {', '.join(columns)}, "
        f"FALSE AS _member FROM profiles p {' '.join(joins)}"
    )
    for i in range(len(conditions)):
        con.execute(f"DROP TABLE _node_counts_{i}")


def keep_state(store: AnalyticalStore, segment_id: str, members: str) -> bool:
    """Write ``_seg_all`` (see :func:`rebuild_state`) as the segment's state table, the ids in
    table ``members`` marked as members; return whether the rows' ``_h`` are distinct."""
    table = state_table(segment_id)
    store.con.execute(
        f"CREATE OR REPLACE TABLE {table} AS SELECT * REPLACE "
        f"(canonical_id IN (SELECT canonical_id FROM {members}) AS _member) FROM _seg_all"
    )
    distinct = store.con.execute(
        f"SELECT count(DISTINCT _h) = count(*) FROM {table}"
    ).fetchall()[0][0]
    store.con.execute("DROP TABLE _seg_all")
    # Where older versions kept the profile fields.
    legacy = "segment_fields_" + state_table(segment_id).rsplit("_", 1)[1]
    store.con.execute(f"DROP TABLE IF EXISTS {legacy}")
    return bool(distinct)


def _delta(
    store: AnalyticalStore,
    segment_id: str,
    conditions: list[EventCondition],
    matching: dict[str, str],
    last: datetime,
    at: datetime,
    from_row: int,
) -> None:
    """Move the buffer from ``last`` to ``at``, given the events loaded since (from row
    ``from_row``); each customer's count changes go into temp table ``_delta``
    ``(canonical_id, _h, _dn_i, _dlast_i)``, ``i`` the condition's position."""
    con = store.con
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _node_new AS "
        + " UNION ALL ".join(
            f"SELECT {i} AS c, * FROM ({matching_rows(matching[c.key], from_row=from_row)})"
            for i, c in enumerate(conditions)
        )
    )
    parts: list[str] = []
    params: list[Any] = []
    keep: list[str] = []
    keep_params: list[Any] = []
    prune: list[str] = []
    prune_params: list[Any] = []
    for i, condition in enumerate(conditions):
        seg = [segment_id, condition.key]
        start_now = condition.counted_from(at)
        # Buffered events coming into view, and new events in the counted range.
        start_in, p_in = _range("timestamp", max(last, start_now) if start_now else last, at)
        start_new, p_new = _range("timestamp", start_now, at)
        parts += [
            f"SELECT {i} AS c, canonical_id, 1 AS dn, timestamp FROM {BUFFER} "
            f"WHERE segment_id = ? AND node_key = ? AND {start_in}",
            f"SELECT c, canonical_id, 1, timestamp FROM _node_new WHERE c = {i} AND {start_new}",
        ]
        params += [*seg, *p_in, *p_new]
        if condition.window is not None:
            # Buffered events leaving the window.
            window = condition.window
            gone, p_gone = _range("timestamp", last - window, min(last, at - window))
            parts.append(
                f"SELECT {i}, canonical_id, -1, NULL FROM {BUFFER} "
                f"WHERE segment_id = ? AND node_key = ? AND {gone}"
            )
            params += [*seg, *p_gone]
        keep.append(f"WHEN {i} THEN timestamp >= ?")
        keep_params.append(condition.buffered_from(at))
        keep_from = condition.buffered_from(at)
        if keep_from.date() != condition.buffered_from(last).date():
            # Events before ``keep_from`` can no longer change a count. Every read of the
            # buffer is bounded below by ``last - W`` or ``last``, so they are harmless until
            # removed, and are removed once a day: the delete scans the buffer.
            prune.append("(node_key = ? AND timestamp < ?)")
            prune_params += [condition.key, keep_from]
    sums = ", ".join(
        f"coalesce(sum(dn) FILTER (WHERE c = {i}), 0) AS _dn_{i}, "
        f"max(timestamp) FILTER (WHERE c = {i}) AS _dlast_{i}"
        for i in range(len(conditions))
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _delta AS
        SELECT canonical_id, hash(canonical_id) AS _h, {sums}
        FROM ({' UNION ALL '.join(parts)}) GROUP BY canonical_id""",
        params,
    )
    if prune:
        con.execute(
            f"DELETE FROM {BUFFER} WHERE segment_id = ? AND ({' OR '.join(prune)})",
            [segment_id, *prune_params],
        )
    keys = " ".join(f"WHEN {i} THEN '{c.key}'" for i, c in enumerate(conditions))
    con.execute(
        f"INSERT INTO {BUFFER} SELECT ?, CASE c {keys} END, canonical_id, timestamp "
        f"FROM _node_new WHERE CASE c {' '.join(keep)} END ORDER BY timestamp",
        [segment_id, *keep_params],
    )


def _relinked(store: AnalyticalStore, since: datetime) -> None:
    """Ids whose events may have moved between customers in the loads finished since
    wall-clock time ``since``, into temp table ``_relinked`` (``canonical_id``)."""
    con = store.con
    loads = "load_id IN (SELECT load_id FROM loads WHERE finished_at >= ?)"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _links AS
        SELECT left_kind AS kind, left_value AS value FROM identity_links WHERE {loads}
        UNION SELECT right_kind, right_value FROM identity_links WHERE {loads}""",
        [since, since],
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _relinked AS
        SELECT i.canonical_id FROM _links l
        JOIN identities i ON i.kind = l.kind AND i.value = l.value
        UNION SELECT 'anon:' || value FROM _links WHERE kind = 'anonymous'
        UNION SELECT value FROM _links WHERE kind = 'customer'
        UNION SELECT absorbed_id FROM identity_merges WHERE {loads}""",
        [since],
    )


def update_state(
    store: AnalyticalStore,
    segment_id: str,
    conditions: list[EventCondition],
    matching: dict[str, str],
    last: datetime,
    at: datetime,
    since: datetime,
    from_row: int,
    relinked: bool,
) -> None:
    """Advance the state from ``last`` to ``at`` given the loads finished since wall-clock
    time ``since``, whose events are those from row ``from_row`` on, and which linked
    identities if ``relinked`` (``matching``: as for :func:`rebuild_state`).

    The state rows of the customers whose membership may have changed are taken out of the
    state table into temp table ``_seg_rows``, with their new counts and their old ``_member``;
    :func:`put_back_state` puts them back.
    """
    con = store.con
    table = state_table(segment_id)
    scope = ["SELECT _h FROM _delta"]
    params: list[Any] = []
    if conditions:
        _delta(store, segment_id, conditions, matching, last, at, from_row)
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _delta (canonical_id VARCHAR, _h UBIGINT)"
        )
    for condition in conditions:
        node = condition.node
        if isinstance(node, LastPerformedNode) and node.days_ago:
            # "Last performed before/after D days ago" flips when the last event passes at - D.
            edge = timedelta(days=node.days_ago)
            scope.append(
                f"SELECT _h FROM {table} WHERE {condition.last_column} >= ? "
                f"AND {condition.last_column} < ?"
            )
            params += [last - edge, at - edge]
    relinked = relinked and bool(conditions)
    if relinked:
        _relinked(store, since)
        scope.append("SELECT hash(canonical_id) FROM _relinked")
    # The rows are found by the ids' 64-bit hashes (``_h``): an integer probe is several times
    # cheaper than a string one on a million rows. A colliding customer comes along with its
    # own row (the deltas are joined by id) and is evaluated like the others.
    keys = scope[0] if len(scope) == 1 else f"SELECT DISTINCT _h FROM ({' UNION ALL '.join(scope)})"
    moved = ", ".join(
        f"o.{c.count_column} + coalesce(d._dn_{i}, 0) AS {c.count_column}, "
        f"greatest(o.{c.last_column}, d._dlast_{i}) AS {c.last_column}"
        for i, c in enumerate(conditions)
    )
    select = f"SELECT o.* REPLACE ({moved})" if conditions else "SELECT o.*"
    # Taken out and put back (:func:`put_back_state`): one pass over the table.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _seg_rows AS
        WITH o AS (DELETE FROM {table} WHERE _h IN ({keys}) RETURNING *)
        {select} FROM o LEFT JOIN _delta d USING (canonical_id)""",
        params,
    )
    if relinked:
        # Their events moved between customers: recount them from the events.
        con.execute(
            f"DELETE FROM {BUFFER} WHERE segment_id = ? "
            "AND canonical_id IN (SELECT canonical_id FROM _relinked)",
            [segment_id],
        )
        for condition in conditions:
            _recount(store, segment_id, condition, matching[condition.key], at, "_relinked")
            con.execute(
                f"""UPDATE _seg_rows SET {condition.count_column} = coalesce(r.n, 0),
                {condition.last_column} = r.last_at
                FROM (SELECT canonical_id, c.n, c.last_at
                      FROM _relinked LEFT JOIN _node_counts c USING (canonical_id)) r
                WHERE _seg_rows.canonical_id = r.canonical_id"""
            )
        con.execute("DROP TABLE _node_counts")


def put_back_state(store: AnalyticalStore, segment_id: str, changed: str) -> None:
    """Put the rows of ``_seg_rows`` back into the state table, with ``_member`` flipped for
    the ids in table ``changed``."""
    store.con.execute(
        f"INSERT INTO {state_table(segment_id)} SELECT * REPLACE "
        f"(_member <> (canonical_id IN (SELECT canonical_id FROM {changed})) AS _member) "
        "FROM _seg_rows"
    )


def state_counts(table: Any, condition: EventCondition) -> Any:
    """Ibis table ``(canonical_id, n, last_at)`` of one condition's counts in ``table`` (the
    state table's shape)."""
    return table.select(
        canonical_id=table.canonical_id,
        n=table[condition.count_column],
        last_at=table[condition.last_column],
    )
