"""Running state of a segment's event conditions, updated from deltas instead of rescans.

For each event condition (``performed``, ``last_performed``) of a segment, including those of
the segments it refers to, two tables keep what its evaluation needs, as of the last
evaluation time ``at``:

- ``segment_node_counts``: per customer, ``n`` matching events in the condition's window
  (``[at - W, at)``, or all before ``at``) and the latest one before ``at`` (``last_at``);
- ``segment_node_events``: the matching events that can still change those counts: those in
  the window (they will expire) and those at or after ``at`` (they will come into view).

Moving from ``last`` to ``at`` with new loads ``L`` changes a customer's count by the events of
``L`` in the new window, plus the buffered events coming into view (``[last, at)``), minus the
buffered events leaving the window (``[last - W, at - W)``). So an update reads the new loads'
events (the rows after the last evaluation's row number: events are append-only), the small
buffer (written in time order, so range reads skip most of it) and the counts of the customers
concerned; it never scans the events table by time. Buffered events that can no longer matter
are removed on the first update of each day (reads are bounded below, so they do no harm until
then). Loads that link identities move events between customers: the customers concerned are
recounted from the events table, the rest stay incremental. The counts equal a recount from
scratch at ``at`` (tested against the direct compilation).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from growthloop.segment._compile import event_matches
from growthloop.segment._model import (
    LastPerformedNode,
    PerformedNode,
    SegmentDefinition,
    walk_with_references,
)
from growthloop.store import AnalyticalStore

__all__ = [
    "EventCondition",
    "event_conditions",
    "events_seen",
    "matching_sql",
    "rebuild_state",
    "state_counts",
    "update_state",
]

_COUNTS = "segment_node_counts"
_BUFFER = "segment_node_events"


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
    return list(out.values())


def events_seen(store: AnalyticalStore) -> int:
    """The row number the next event will get: events are only appended, never deleted (a
    deletion must be followed by a full refresh of the segments)."""
    return int(store.con.execute("SELECT count(*) FROM events").fetchall()[0][0])


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


def _matching(sql: str, where: str = "", from_row: int = 0) -> str:
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
    """Counts and buffer of ``condition`` (whose :func:`matching_sql` is ``sql``) from the
    events table (for the ids in ``only``)."""
    con = store.con
    scope = f"canonical_id IN (SELECT canonical_id FROM {only})" if only else ""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _node_events AS {_matching(sql, scope)}")
    counted, params = _range("timestamp", condition.counted_from(at), at)
    con.execute(
        f"""INSERT INTO {_COUNTS} (segment_id, node_key, canonical_id, n, last_at, h)
        SELECT ?, ?, canonical_id, count(*), max(timestamp), hash(canonical_id) FROM _node_events
        WHERE {counted} GROUP BY canonical_id""",
        [segment_id, condition.key, *params],
    )
    con.execute(
        f"""INSERT INTO {_BUFFER} SELECT ?, ?, canonical_id, timestamp FROM _node_events
        WHERE timestamp >= ? ORDER BY timestamp""",
        [segment_id, condition.key, condition.buffered_from(at)],
    )
    con.execute("DROP TABLE _node_events")


def rebuild_state(
    store: AnalyticalStore,
    segment_id: str,
    conditions: list[EventCondition],
    matching: dict[str, str],
    at: datetime,
) -> None:
    """Recompute the state of every event condition of ``segment_id`` as of ``at``
    (``matching``: each condition's :func:`matching_sql` by key)."""
    for table in (_COUNTS, _BUFFER):
        store.con.execute(f"DELETE FROM {table} WHERE segment_id = ?", [segment_id])
    for condition in conditions:
        _recount(store, segment_id, condition, matching[condition.key], at, None)


def _advance(
    store: AnalyticalStore,
    segment_id: str,
    condition: EventCondition,
    sql: str,
    last: datetime,
    at: datetime,
    from_row: int,
) -> None:
    """Move one condition's buffer from ``last`` to ``at``, given the events loaded since (from
    row ``from_row``); its count changes go into ``_state_delta``, the ids concerned into
    ``_state_scope``."""
    con = store.con
    seg = [segment_id, condition.key]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _node_new AS " + _matching(sql, from_row=from_row)
    )
    start_now = condition.counted_from(at)
    # Buffered events coming into view, and new events in the counted range.
    start_in, p_in = _range("timestamp", max(last, start_now) if start_now else last, at)
    start_new, p_new = _range("timestamp", start_now, at)
    parts = [
        f"SELECT canonical_id, 1 AS dn, timestamp FROM {_BUFFER} "
        f"WHERE segment_id = ? AND node_key = ? AND {start_in}",
        f"SELECT canonical_id, 1, timestamp FROM _node_new WHERE {start_new}",
    ]
    params: list[Any] = [*seg, *p_in, *p_new]
    if condition.window is not None:
        # Buffered events leaving the window.
        window = condition.window
        gone, p_gone = _range("timestamp", last - window, min(last, at - window))
        parts.append(
            f"SELECT canonical_id, -1, NULL FROM {_BUFFER} "
            f"WHERE segment_id = ? AND node_key = ? AND {gone}"
        )
        params += [*seg, *p_gone]
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _node_delta AS
        SELECT canonical_id, sum(dn) AS dn, max(timestamp) AS last_at
        FROM ({' UNION ALL '.join(parts)}) GROUP BY canonical_id""",
        params,
    )
    con.execute(
        "INSERT INTO _state_delta SELECT ?, canonical_id, dn, last_at FROM _node_delta",
        [condition.key],
    )
    keep_from = condition.buffered_from(at)
    if keep_from.date() != condition.buffered_from(last).date():
        # Events before ``keep_from`` can no longer change a count. Every read of the buffer
        # is bounded below by ``last - W`` or ``last``, so they are harmless until removed, and
        # are removed once a day: the delete scans the buffer, as costly as the rest together.
        con.execute(
            f"DELETE FROM {_BUFFER} WHERE segment_id = ? AND node_key = ? AND timestamp < ?",
            [*seg, keep_from],
        )
    con.execute(
        f"INSERT INTO {_BUFFER} SELECT ?, ?, canonical_id, timestamp FROM _node_new "
        "WHERE timestamp >= ? ORDER BY timestamp",
        [*seg, condition.buffered_from(at)],
    )
    con.execute("INSERT INTO _state_scope SELECT canonical_id FROM _node_delta")
    node = condition.node
    if isinstance(node, LastPerformedNode) and node.days_ago:
        # "Last performed before/after D days ago" flips when the last event passes at - D.
        edge = timedelta(days=node.days_ago)
        con.execute(
            f"""INSERT INTO _state_scope SELECT canonical_id FROM {_COUNTS}
            WHERE segment_id = ? AND node_key = ? AND last_at >= ? AND last_at < ?""",
            [*seg, last - edge, at - edge],
        )


def _relinked(store: AnalyticalStore, new_loads: str) -> int:
    """Ids whose events may have moved between customers in the new loads, into ``_relinked``
    (``canonical_id``: ids to recount) and ``_relinked_old`` (ids to forget); return the count."""
    con = store.con
    # Loads record how many links they added (older loads did not: look at the links then).
    unknown, added = con.execute(
        f"""SELECT count(*) FILTER (WHERE counts ->> 'identity_links' IS NULL),
                   coalesce(sum(TRY_CAST(counts ->> 'identity_links' AS BIGINT)), 0)
        FROM loads WHERE load_id IN (SELECT load_id FROM {new_loads})"""
    ).fetchall()[0]
    if unknown:
        added = con.execute(
            f"SELECT count(*) FROM identity_links "
            f"WHERE load_id IN (SELECT load_id FROM {new_loads})"
        ).fetchall()[0][0]
    if not added:
        return 0
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _links AS
        SELECT left_kind AS kind, left_value AS value FROM identity_links
        WHERE load_id IN (SELECT load_id FROM {new_loads})
        UNION SELECT right_kind, right_value FROM identity_links
        WHERE load_id IN (SELECT load_id FROM {new_loads})"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _relinked AS
        SELECT DISTINCT i.canonical_id FROM _links l
        JOIN identities i ON i.kind = l.kind AND i.value = l.value"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _relinked_old AS
        SELECT canonical_id FROM _relinked
        UNION SELECT 'anon:' || value FROM _links WHERE kind = 'anonymous'
        UNION SELECT value FROM _links WHERE kind = 'customer'
        UNION SELECT absorbed_id FROM identity_merges
        WHERE load_id IN (SELECT load_id FROM {new_loads})"""
    )
    return int(con.execute("SELECT count(*) FROM _relinked_old").fetchall()[0][0])


def update_state(
    store: AnalyticalStore,
    segment_id: str,
    conditions: list[EventCondition],
    matching: dict[str, str],
    last: datetime,
    at: datetime,
    new_loads: str,
    from_row: int,
) -> None:
    """Advance the state from ``last`` to ``at`` given the loads in table ``new_loads``, whose
    events are those from row ``from_row`` on (``matching``: as for :func:`rebuild_state`).

    The ids whose membership may have changed are left in temp table ``_state_scope``, and
    their counts in ``_seg_counts`` ``(node_key, canonical_id, n, last_at)``.
    """
    con = store.con
    con.execute("CREATE OR REPLACE TEMP TABLE _state_scope (canonical_id VARCHAR)")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _state_delta "
        "(node_key VARCHAR, canonical_id VARCHAR, dn BIGINT, last_at TIMESTAMP)"
    )
    for condition in conditions:
        _advance(store, segment_id, condition, matching[condition.key], last, at, from_row)
    relinked = bool(conditions) and _relinked(store, new_loads) > 0
    if relinked:
        con.execute("INSERT INTO _state_scope SELECT canonical_id FROM _relinked_old")
    # The counts of the customers concerned are taken out in one pass over the table, updated
    # and put back; they are also what the evaluation reads (``_seg_counts``).
    # Looked up by the ids' 64-bit hashes (``h``): an integer probe is several times cheaper
    # than a string one on a million rows. A colliding customer's counts come out unchanged (no
    # delta) and go back; its evaluation then reads them like any other's.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _state_keys AS "
        "SELECT DISTINCT hash(canonical_id) AS h FROM _state_scope"
    )
    old = con.sql(
        f"""DELETE FROM {_COUNTS} WHERE segment_id = $1
        AND h IN (SELECT h FROM _state_keys)
        RETURNING node_key, canonical_id, n, last_at""",
        params=[segment_id],
    ).to_arrow_table()
    con.register("_state_old", old)
    skip = "WHERE canonical_id NOT IN (SELECT canonical_id FROM _relinked_old)" if relinked else ""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _seg_counts AS SELECT * FROM (
            SELECT coalesce(o.node_key, d.node_key) AS node_key,
                   coalesce(o.canonical_id, d.canonical_id) AS canonical_id,
                   coalesce(o.n, 0) + coalesce(d.dn, 0) AS n,
                   CASE WHEN d.last_at IS NULL OR o.last_at >= d.last_at THEN o.last_at
                        ELSE d.last_at END AS last_at
            FROM _state_old o FULL OUTER JOIN (
                SELECT node_key, canonical_id, sum(dn) AS dn, max(last_at) AS last_at
                FROM _state_delta GROUP BY node_key, canonical_id) d
            ON o.node_key = d.node_key AND o.canonical_id = d.canonical_id) {skip}"""
    )
    con.unregister("_state_old")
    # Windowed counts that fell to zero are dropped; all-time counts never fall.
    windowed = [c.key for c in conditions if c.window is not None]
    con.execute(
        f"""INSERT INTO {_COUNTS} (segment_id, node_key, canonical_id, n, last_at, h)
        SELECT ?, node_key, canonical_id, n, last_at, hash(canonical_id) FROM _seg_counts
        WHERE n <> 0 OR NOT list_contains(?, node_key)""",
        [segment_id, windowed],
    )
    if relinked:
        # Their events moved between customers: recount them from the events.
        con.execute(
            f"DELETE FROM {_BUFFER} WHERE segment_id = ? "
            "AND canonical_id IN (SELECT canonical_id FROM _relinked_old)",
            [segment_id],
        )
        for condition in conditions:
            _recount(store, segment_id, condition, matching[condition.key], at, "_relinked")
        con.execute(
            f"""INSERT INTO _seg_counts SELECT node_key, canonical_id, n, last_at FROM {_COUNTS}
            WHERE segment_id = ? AND canonical_id IN (SELECT canonical_id FROM _relinked)""",
            [segment_id],
        )


def state_counts(
    store: AnalyticalStore, segment_id: str, condition_key: str, *, scoped: bool = False
) -> Any:
    """Ibis table ``(canonical_id, n, last_at)`` of one condition's counts: of everyone, or
    (``scoped``) of the customers an update evaluates, which it left in ``_seg_counts``."""
    if scoped:
        counts = store.ibis.table("_seg_counts")
        counts = counts.filter(counts.node_key == condition_key)
    else:
        counts = store.ibis.table(_COUNTS)
        counts = counts.filter(counts.segment_id == segment_id, counts.node_key == condition_key)
    # The same (nullable) type as the profiles' ids, for set operations with them.
    return counts.select(
        canonical_id=counts.canonical_id.cast(dt.String(nullable=True)), n=counts.n,
        last_at=counts.last_at,
    )
