"""Segment state held in memory by a long-running process, for the fastest incremental updates.

:func:`~growthloop.segment.update_segment` reads and writes each segment's state table (one row
per profiled customer, see ``_state``) and its event buffer in the store on every update: about
fifteen statements, several of them over the million-row state table. A
:class:`SegmentUpdater` keeps that state in memory instead, as NumPy arrays sorted by the ids'
64-bit hashes, with each event condition's buffer as time-sorted chunks. An update then reads
the new loads' matching events (one query), moves the counts with array arithmetic (the same
rules as ``_state``: new events in the window, buffered events coming into view or leaving it,
"days ago" edges), evaluates the touched customers with the segment's kept SQL over a registered
Arrow table, and writes only what a reader sees: the stays that opened or closed and the
segment's ``segment_state`` row, in one transaction.

The store stays the truth. Every evaluation writes a new ``epoch`` token; the state table records
the token it was written at (``state_epoch``). The copy in memory is used only while its token
is the segment's epoch (nobody else evaluated the segment since); otherwise the update goes
through :func:`update_segment` (a full refresh when the state table is stale) and the state is
loaded again. :meth:`SegmentUpdater.flush` (and ``close``) writes the state back; a process that
stops without it leaves a stale state table, and the next update refreshes in full, which gives
the identical result (membership depends only on the data and the time). Loads that link
identities move events between customers: the state is written back and the update goes through
:func:`update_segment`, which recounts them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from growthloop.segment._membership import (
    LIVE_ROWS,
    MembershipChange,
    Resolver,
    _Compiled,
    _now,
    incremental_sql,
    new_epoch,
    segment_state,
    set_at,
    update_segment,
    write_stays,
)
from growthloop.segment._model import LastPerformedNode, SegmentDefinition
from growthloop.segment._state import (
    BUFFER,
    EventCondition,
    event_conditions,
    matching_rows,
    new_loads,
    state_table,
)
from growthloop.store import AnalyticalStore

__all__ = ["SegmentUpdater"]

_NULL = np.iinfo(np.int64).min  # a NULL timestamp (sorts below every instant)
_EPOCH = datetime(1970, 1, 1)
_CHANGES = "_seg_live_change"
_MAX_CHUNKS = 16


def _us(moment: datetime) -> int:
    """Microseconds since the Unix epoch of a naive (UTC) timestamp, as DuckDB's ``epoch_us``."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _window(condition: EventCondition) -> int | None:
    return None if condition.window is None else condition.window // timedelta(microseconds=1)


@dataclass
class _Buffer:
    """One condition's buffered events: time-sorted chunks of (timestamp, row position)."""

    chunks: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def between(self, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions and timestamps of the events in ``[start, end)``."""
        ts, pos = [], []
        for times, rows in self.chunks:
            a, b = np.searchsorted(times, [start, end], side="left")
            ts.append(times[a:b])
            pos.append(rows[a:b])
        return (np.concatenate(pos), np.concatenate(ts)) if pos else (_empty(), _empty())

    def advanced(self, keep_from: int, times: np.ndarray, rows: np.ndarray) -> _Buffer:
        """The buffer without events before ``keep_from``, with the new events added."""
        chunks = []
        for t, r in self.chunks:
            a = int(np.searchsorted(t, keep_from, side="left"))
            if a < len(t):
                chunks.append((t[a:], r[a:]))
        keep = times >= keep_from
        if keep.any():
            order = np.argsort(times[keep], kind="stable")
            chunks.append((times[keep][order], rows[keep][order]))
        if len(chunks) > _MAX_CHUNKS:  # merge the small ones (all but the first)
            t = np.concatenate([c[0] for c in chunks[1:]])
            r = np.concatenate([c[1] for c in chunks[1:]])
            order = np.argsort(t, kind="stable")
            chunks = [chunks[0], (t[order], r[order])]
        return _Buffer(chunks)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self.between(_NULL, np.iinfo(np.int64).max)


def _empty() -> np.ndarray:
    return np.empty(0, dtype=np.int64)


@dataclass
class _Live:
    """A segment's state as of ``at`` (see the module docstring)."""

    token: int
    key: str
    version: int
    compiled: _Compiled
    conditions: list[EventCondition]
    schema: pa.Schema
    static: pa.Table  # canonical_id, _h and the profile fields, rows sorted by _h
    keys: np.ndarray  # _h, sorted
    counts: list[np.ndarray]
    lasts: list[np.ndarray]  # microseconds, _NULL for none
    member: np.ndarray
    buffers: list[_Buffer]

    def rows(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row positions of hashes ``h``, and which of them have a row."""
        if not len(self.keys):
            return np.zeros(len(h), dtype=np.int64), np.zeros(len(h), dtype=bool)
        pos = np.searchsorted(self.keys, h)
        pos[pos == len(self.keys)] = 0
        return pos, self.keys[pos] == h


@dataclass(frozen=True)
class _Step:
    """What one update computes before anything is written."""

    rows: np.ndarray  # the evaluated customers' row positions, sorted
    counts: list[np.ndarray]  # their new counts and last timestamps, per condition
    lasts: list[np.ndarray]
    buffers: list[_Buffer]


class SegmentUpdater:
    """Incremental segment updates with each segment's state held in memory (module docstring).

    Use it where one process applies batches of events as they arrive::

        with SegmentUpdater(store) as updater:
            for batch in batches:
                load_file(store, "events", batch, options_for("events"))
                updater.update(definition, version, resolve)

    The first update of a segment goes through :func:`update_segment` and loads the state; the
    next ones run in memory. ``close`` (or ``flush``) writes the state back to the store.
    """

    def __init__(self, store: AnalyticalStore) -> None:
        self._live: dict[str, _Live] = {}
        self.attach(store)

    def attach(self, store: AnalyticalStore) -> None:
        """Work on ``store`` from now on: the same workspace opened again (a worker that lets
        go of the file between rounds). A state held in memory is still used only while its
        token is the segment's epoch in the store."""
        self.store = store
        # Memory freed by DuckDB is returned to the system by background threads instead of
        # inside whichever statement crosses the threshold: on a small machine that purge
        # otherwise stalls one update in three by 30-100 ms.
        store.con.execute("SET allocator_background_threads = true")

    def __enter__(self) -> SegmentUpdater:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def update(
        self,
        definition: SegmentDefinition,
        version: int,
        resolve: Resolver,
        *,
        at: datetime | None = None,
    ) -> MembershipChange:
        """Bring ``definition``'s membership up to ``at`` (default now), as
        :func:`update_segment` does, with the same result."""
        started = time.perf_counter()
        moment = at or _now()
        state = segment_state(self.store, definition.id)
        live = self._live.get(definition.id)
        conditions = event_conditions(definition, resolve)
        compiled = incremental_sql(state, definition, version, resolve, conditions, moment)
        if (
            live is None
            or compiled is None
            or live.token != state["epoch"]
            or live.key != compiled.key
            or live.version != version
        ):
            return self._through_store(definition, version, resolve, moment)
        seen, links = new_loads(self.store, state["evaluated_wall"])
        if links and conditions:
            # Events moved between customers: the store's path recounts them.
            self.flush(definition.id)
            return self._through_store(definition, version, resolve, moment)
        last: datetime = state["evaluated_at"]
        step = self._advance(live, state["events_seen"], last, moment)
        token = new_epoch()
        with self.store.transaction():
            set_at(self.store, moment)
            member, entered, exited = self._evaluate(live, step)
            changed = member != live.member[step.rows]
            flips = pa.table({
                "canonical_id": live.static["canonical_id"].take(step.rows[changed]),
                "_h": live.keys[step.rows[changed]],
                "exits": ~member[changed],
            })
            with _registered(self.store, _CHANGES, flips):
                write_stays(self.store, definition.id, version, moment, live.compiled, _CHANGES,
                            entered, exited)
            members = int(state["members"]) + entered - exited
            self.store.con.execute(
                "UPDATE segment_state SET evaluated_at = ?, members = ?, "
                "evaluated_wall = now()::TIMESTAMP, events_seen = ?, epoch = ? "
                "WHERE segment_id = ?",
                [moment, members, seen, token, definition.id],
            )
        for i in range(len(live.conditions)):
            live.counts[i][step.rows] = step.counts[i]
            live.lasts[i][step.rows] = step.lasts[i]
        live.member[step.rows] = member
        live.buffers = step.buffers
        live.token = token
        return MembershipChange(definition.id, version, moment, "incremental", len(step.rows),
                                entered, exited, members, time.perf_counter() - started)

    def flush(self, segment_id: str | None = None) -> None:
        """Write the state held in memory (of one segment, or all) back to the store."""
        for sid in [segment_id] if segment_id is not None else list(self._live):
            live = self._live.get(sid)
            if live is not None:
                self._write(sid, live)

    def close(self) -> None:
        """Write every state back and forget them."""
        self.flush()
        self._live.clear()

    # -- internals -------------------------------------------------------------------------

    def _through_store(
        self, definition: SegmentDefinition, version: int, resolve: Resolver, moment: datetime
    ) -> MembershipChange:
        """Update with :func:`update_segment` (which leaves the state table current), then load
        the state for the next updates."""
        self._live.pop(definition.id, None)
        change = update_segment(self.store, definition, version, resolve, at=moment)
        state = segment_state(self.store, definition.id)
        conditions = event_conditions(definition, resolve)
        compiled = incremental_sql(state, definition, version, resolve, conditions, moment)
        if compiled is not None and compiled.distinct_keys:
            # (With colliding hashes, rows are not found by hash alone: stay on the store path.)
            self._live[definition.id] = self._load(definition.id, version, conditions, state,
                                                   compiled)
        return change

    def _load(
        self,
        segment_id: str,
        version: int,
        conditions: list[EventCondition],
        state: dict[str, Any],
        compiled: _Compiled,
    ) -> _Live:
        con = self.store.con
        table = con.sql(f"SELECT * FROM {state_table(segment_id)} ORDER BY _h").to_arrow_table()
        counts = [np.array(table[c.count_column].to_numpy(), dtype=np.int64)
                  for c in conditions]
        lasts = [
            np.array(table[c.last_column].cast(pa.int64()).fill_null(_NULL).to_numpy(),
                     dtype=np.int64)
            for c in conditions
        ]
        member = np.array(table["_member"].to_numpy(), dtype=bool)
        varying = [c.count_column for c in conditions] + [c.last_column for c in conditions]
        # One chunk per column: taking rows from many small chunks costs milliseconds.
        static = table.drop_columns([*varying, "_member"]).combine_chunks()
        keys = np.asarray(static["_h"].to_numpy(), dtype=np.uint64)
        last = _us(state["evaluated_at"])
        live = _Live(state["epoch"], compiled.key, version, compiled, conditions, table.schema,
                     static, keys, counts, lasts, member, [])
        for condition in conditions:
            rows = con.sql(
                f"SELECT hash(canonical_id) AS h, epoch_us(timestamp) AS ts FROM {BUFFER} "
                "WHERE segment_id = ? AND node_key = ? ORDER BY timestamp",
                params=[segment_id, condition.key],
            ).to_arrow_table()
            h = np.asarray(rows["h"].to_numpy(), dtype=np.uint64)
            ts = np.asarray(rows["ts"].to_numpy(), dtype=np.int64)
            pos, found = live.rows(h)
            # (Buffered events of customers without a profile change no row: not kept.)
            live.buffers.append(_Buffer().advanced(_keep_from(condition, last), ts[found],
                                                   pos[found]))
        return live

    def _advance(self, live: _Live, from_row: int, last_at: datetime, at_: datetime) -> _Step:
        """The counts of the customers whose membership may change, moving from ``last_at`` to
        ``at_`` with the events from row ``from_row`` on (the rules of ``_state._delta``)."""
        last, at = _us(last_at), _us(at_)
        new = self._new_events(live, from_row)
        c = new["c"].to_numpy() if new.num_rows else _empty()
        ts_new = new["ts"].to_numpy() if new.num_rows else _empty()
        h = np.asarray(new["h"].to_numpy() if new.num_rows else _empty(), dtype=np.uint64)
        pos_new, found = live.rows(h)
        parts: list[list[tuple[np.ndarray, int, np.ndarray]]] = []
        buffers = []
        touched = []
        for i, condition in enumerate(live.conditions):
            window = _window(condition)
            buffer = live.buffers[i]
            mine = found & (c == i)
            into = buffer.between(max(last, at - window) if window else last, at)
            counted = mine & (ts_new < at) & ((ts_new >= at - window) if window else True)
            part = [(into[0], 1, into[1]), (pos_new[counted], 1, ts_new[counted])]
            if window:
                gone = buffer.between(last - window, min(last, at - window))
                part.append((gone[0], -1, np.full(len(gone[0]), _NULL)))
            parts.append(part)
            touched += [p[0] for p in part]
            buffers.append(buffer.advanced(_keep_from(condition, at), ts_new[mine],
                                           pos_new[mine]))
            node = condition.node
            if isinstance(node, LastPerformedNode) and node.days_ago:
                # "Last performed before/after D days ago" flips when the last event passes at-D.
                edge = node.days_ago * 86_400_000_000
                lasts = live.lasts[i]
                touched.append(np.flatnonzero((lasts >= last - edge) & (lasts < at - edge)))
        rows = np.unique(np.concatenate(touched)) if touched else _empty()
        counts, lasts_out = [], []
        for i, part in enumerate(parts):
            n = live.counts[i][rows].copy()
            latest = live.lasts[i][rows].copy()
            for positions, sign, times in part:
                at_rows = np.searchsorted(rows, positions)
                np.add.at(n, at_rows, sign)
                if sign > 0:
                    np.maximum.at(latest, at_rows, times)
            counts.append(n)
            lasts_out.append(latest)
        return _Step(rows, counts, lasts_out, buffers)

    def _new_events(self, live: _Live, from_row: int) -> pa.Table:
        """``(c, h, ts)`` of the new loads' events each condition matches (``c``: its place)."""
        if not live.conditions:
            return pa.table({"c": _empty(), "h": _empty(), "ts": _empty()})
        sql = " UNION ALL ".join(
            f"SELECT {i} AS c, hash(canonical_id) AS h, epoch_us(timestamp) AS ts "
            f"FROM ({matching_rows(live.compiled.matching[c.key], from_row)})"
            for i, c in enumerate(live.conditions)
        )
        return self.store.con.sql(sql).to_arrow_table()

    def _evaluate(self, live: _Live, step: _Step) -> tuple[np.ndarray, int, int]:
        """Whether each customer of ``step`` is a member, and the entries and exits."""
        old = live.member[step.rows]
        rows = _assemble(live, live.static.take(step.rows), step.counts, step.lasts, old)
        with _registered(self.store, LIVE_ROWS, rows):
            members = self.store.con.sql(
                f"SELECT canonical_id FROM ({live.compiled.live})"
            ).to_arrow_table()["canonical_id"].combine_chunks()
        found = pc.is_in(rows["canonical_id"], value_set=members)
        member = np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
        return member, int((member & ~old).sum()), int((old & ~member).sum())

    def _write(self, segment_id: str, live: _Live) -> None:
        """Write the state table and the buffer, if the store's epoch is still ours."""
        state = segment_state(self.store, segment_id)
        if state["epoch"] != live.token or state["state_epoch"] == live.token:
            return  # someone else evaluated the segment since, or nothing to write
        table = _assemble(live, live.static, live.counts, live.lasts, live.member)
        parts = []
        for condition, buffer in zip(live.conditions, live.buffers, strict=True):
            rows, times = buffer.arrays()
            parts.append(pa.table({
                "node_key": pa.array([condition.key] * len(rows), pa.string()),
                "canonical_id": live.static["canonical_id"].take(rows),
                "timestamp": _timestamps(times, pa.timestamp("us")),
            }))
        buffered = pa.concat_tables(parts) if parts else None
        con = self.store.con
        with self.store.transaction():
            with _registered(self.store, "_seg_live_state", table):
                con.execute(f"CREATE OR REPLACE TABLE {state_table(segment_id)} AS "
                            "FROM _seg_live_state")
            con.execute(f"DELETE FROM {BUFFER} WHERE segment_id = ?", [segment_id])
            if buffered is not None:
                with _registered(self.store, "_seg_live_buffer", buffered):
                    con.execute(
                        f"INSERT INTO {BUFFER} SELECT ?, node_key, canonical_id, timestamp "
                        "FROM _seg_live_buffer ORDER BY timestamp",
                        [segment_id],
                    )
            con.execute("UPDATE segment_state SET state_epoch = epoch WHERE segment_id = ?",
                        [segment_id])


@contextmanager
def _registered(store: AnalyticalStore, name: str, table: pa.Table) -> Iterator[None]:
    """``table`` readable as relation ``name`` in the store's SQL for the block."""
    store.con.register(name, table)
    try:
        yield
    finally:
        store.con.unregister(name)


def _timestamps(values: np.ndarray, kind: pa.DataType) -> pa.Array:
    """Microseconds (``_NULL``: none) as an Arrow timestamp array of type ``kind``."""
    return pa.array(values, pa.int64(), mask=values == _NULL).cast(kind)


def _assemble(
    live: _Live,
    static: pa.Table,
    counts: list[np.ndarray],
    lasts: list[np.ndarray],
    member: np.ndarray,
) -> pa.Table:
    """State rows in the state table's shape: ``static`` rows with these counts and flags."""
    varying: dict[str, pa.Array] = {"_member": pa.array(member, pa.bool_())}
    for i, condition in enumerate(live.conditions):
        varying[condition.count_column] = pa.array(counts[i], pa.int64())
        kind = live.schema.field(condition.last_column).type
        varying[condition.last_column] = _timestamps(lasts[i], kind)
    columns = [varying[f.name] if f.name in varying else static[f.name] for f in live.schema]
    return pa.Table.from_arrays(columns, schema=live.schema)


def _keep_from(condition: EventCondition, at: int) -> int:
    """Buffered events before this instant can no longer change a count at ``at`` or later."""
    window = _window(condition)
    return at - window if window is not None else at
