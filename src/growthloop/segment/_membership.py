"""Materialised segment membership with entry/exit history, updated incrementally.

``segment_membership`` keeps one row per stay in a segment (``entered_at``, ``exited_at``; an
open stay has no ``exited_at``). :func:`refresh_segment` evaluates everyone; :func:`update_segment`
evaluates only the customers whose membership can have changed since the last evaluation. Both
evaluate the segment's per-customer state (see ``_state``: the profile fields it reads, its
event counts, and whether the customer is a member), which an update advances from the new
loads' events and a small buffer of events entering or leaving the windows (expiry, not a
nightly rebuild); the customers whose counts changed, or whose last event crossed a "days ago"
edge, are the ones re-evaluated, and only the stays of those who entered or left are written.

Because a customer's membership depends only on that customer's data (see ``_compile``), the
incremental result equals a full rebuild; a new segment version or a new profile build triggers
a full refresh.

A full refresh also compiles the SQL an update runs (the event conditions' matching events and
the members among the evaluated customers' state rows, with the evaluation time as a DuckDB
variable) and keeps it with the segment's state, so an update runs SQL only; the SQL is
recompiled whenever the segment tree (its references included) changes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import duckdb
import ibis

from growthloop.errors import GrowthloopError
from growthloop.segment._compile import CompileContext, SegmentError, compile_members
from growthloop.segment._model import (
    RfmSegmentNode,
    SegmentDefinition,
    TraitNode,
    walk_with_references,
)
from growthloop.segment._predicate import member_predicate
from growthloop.segment._state import (
    EventCondition,
    event_conditions,
    events_seen,
    keep_state,
    matching_sql,
    new_loads,
    node_key,
    put_back_state,
    rebuild_state,
    state_counts,
    update_state,
)
from growthloop.store import AnalyticalStore

__all__ = ["MembershipChange", "refresh_segment", "update_segment"]

Resolver = Any  # Callable[[str], SegmentDefinition]

# Bumped whenever the compiled SQL's shape changes, so kept SQL from older code is not reused.
_COMPILER = 5
_AT_VARIABLE = "growthloop_segment_at"
# The relation an in-memory update registers its evaluated rows under (see ``_live``).
LIVE_ROWS = "_seg_live"


@ibis.udf.scalar.builtin(name="getvariable")  # type: ignore[untyped-decorator]
def _getvariable(variable: str) -> datetime:  # type: ignore[empty-body]
    """DuckDB's ``getvariable``: a value set with ``SET VARIABLE``."""


@dataclass(frozen=True)
class _Compiled:
    """The SQL an evaluation runs, for one segment tree (see the module docstring)."""

    key: str
    matching: dict[str, str]  # event condition key -> matching_sql
    fields: list[str]  # the profile fields the segment reads
    scoped: str  # members among the state rows in _seg_rows
    live: str  # the same among the rows in LIVE_ROWS
    # Whether the ids' hashes are distinct among the state's rows (the profiled customers,
    # whom every open stay belongs to): then a stay is found by its hash alone.
    distinct_keys: bool = False

    def dumps(self) -> str:
        return json.dumps(self.__dict__)


@dataclass(frozen=True)
class MembershipChange:
    """What one evaluation changed."""

    segment_id: str
    version: int
    evaluated_at: datetime
    mode: str  # "full" or "incremental"
    customers_evaluated: int
    entered: int
    exited: int
    members: int
    elapsed_seconds: float


def new_epoch() -> int:
    """A fresh token for ``segment_state.epoch`` (see migration 8)."""
    return secrets.randbits(62) + 1


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _profiles(store: AnalyticalStore) -> Any:
    if not store.has_table("profiles"):
        raise SegmentError("there are no profiles yet; run `growthloop profile build` first")
    return store.ibis.table("profiles")


def segment_state(store: AnalyticalStore, segment_id: str) -> dict[str, Any]:
    """The segment's kept state (``version`` None if there is none), with the profiles'
    ``as_of`` and the engine's lookup-key canary (see :func:`_conditions_key`): one query."""
    try:
        rows = store.rows(
            "SELECT s.version, s.evaluated_at, s.members, s.profiles_as_of, s.evaluated_wall, "
            "s.conditions_key, s.events_seen, s.compiled, s.epoch, s.state_epoch, "
            "(SELECT as_of FROM profiles LIMIT 1) AS current_as_of, "
            f"{_CANARY} AS canary "
            "FROM (SELECT 1) LEFT JOIN segment_state s ON s.segment_id = ?",
            [segment_id],
        )
    except duckdb.CatalogException:
        _profiles(store)  # says that there are no profiles yet
        raise
    return rows[0]


def incremental_sql(
    state: dict[str, Any],
    definition: SegmentDefinition,
    version: int,
    resolve: Resolver,
    conditions: list[EventCondition],
    moment: datetime,
) -> _Compiled | None:
    """The kept SQL if the segment can be updated incrementally from ``state`` (see
    :func:`segment_state`) at ``moment``; None if it needs a full refresh."""
    if (
        state["version"] != version
        or state["profiles_as_of"] != state["current_as_of"]
        or state["conditions_key"] != _conditions_key(conditions, state["canary"])
        or state["events_seen"] is None
    ):
        # A new definition (or a referenced one) or a new profile build: anyone may have changed.
        return None
    last: datetime = state["evaluated_at"]
    if moment < last:
        raise GrowthloopError(
            f"cannot evaluate segment {definition.id!r} at {moment}, before its last "
            f"evaluation at {last}; use a later time or a full refresh"
        )
    # None if a referenced segment changed (its version is not ours), or older code kept it.
    return kept_sql(state, tree_key(definition, resolve))


def tree_key(definition: SegmentDefinition, resolve: Resolver) -> str:
    """A hash of everything the compiled SQL depends on: the tree with its references."""
    parts = [str(_COMPILER), definition.id]
    parts += [node.model_dump_json() for node in walk_with_references(definition, resolve)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def kept_sql(state: dict[str, Any], key: str) -> _Compiled | None:
    """The SQL kept with the state, if it was compiled for this tree."""
    if not state.get("compiled"):
        return None
    kept = json.loads(state["compiled"])
    return _Compiled(**kept) if kept.get("key") == key else None


def set_at(store: AnalyticalStore, at: datetime) -> None:
    store.con.execute(f"SET VARIABLE {_AT_VARIABLE} = ?::TIMESTAMP", [at])


def _profile_fields(definition: SegmentDefinition, resolve: Resolver, profiles: Any) -> list[str]:
    """The profile columns a segment tree reads, following segment references."""
    fields: set[str] = set()
    for node in walk_with_references(definition, resolve):
        if isinstance(node, TraitNode):
            if node.field not in profiles.columns:
                raise SegmentError(
                    f"trait field {node.field!r} is not a profile attribute; use one of "
                    f"{', '.join(sorted(c for c in profiles.columns if c != 'as_of'))}"
                )
            fields.add(node.field)
        elif isinstance(node, RfmSegmentNode):
            fields.add("rfm_segment")
    return sorted(fields)


def _context(store: AnalyticalStore, rows: Any, resolve: Resolver, state: Any = None) -> Any:
    """What a segment is compiled against: the state rows ``rows`` as its profiles, the
    evaluation time as a DuckDB variable, and the stored clusters if any."""
    db = store.ibis
    clusters = db.table("clusters") if store.has_table("clusters") else None
    at = _getvariable(_AT_VARIABLE).cast("timestamp")
    return CompileContext(profiles=rows, events=db.table("v_events"), at=at, resolve=resolve,
                          clusters=clusters, state=state)


def _members_sql(
    store: AnalyticalStore,
    definition: SegmentDefinition,
    resolve: Resolver,
    conditions: list[EventCondition],
    table: str,
) -> str:
    """SQL of the members among the state rows in ``table``: everything, profile fields and
    event counts alike, is read from there; the evaluation time is a variable."""
    rows = store.ibis.table(table)
    by_key = {c.key: c for c in conditions}

    def state(node: Any) -> Any:
        return state_counts(rows, by_key[node_key(node)])

    ctx = _context(store, rows, resolve, state)
    members = compile_members(definition.condition, ctx).intersect(rows.select("canonical_id"))
    return str(ibis.to_sql(members.distinct(), dialect="duckdb"))


def _live_sql(
    store: AnalyticalStore,
    definition: SegmentDefinition,
    resolve: Resolver,
    conditions: list[EventCondition],
) -> str:
    """SQL of the members among the rows an in-memory update registers as ``LIVE_ROWS``: one
    filter (see ``_predicate``), compiled against an empty table of the state's shape."""
    store.con.execute(f"CREATE OR REPLACE TEMP TABLE {LIVE_ROWS} AS FROM _seg_all LIMIT 0")
    try:
        rows = store.ibis.table(LIVE_ROWS)
        by_key = {c.key: c for c in conditions}

        def columns(node: Any) -> tuple[str, str]:
            condition = by_key[node_key(node)]
            return condition.count_column, condition.last_column

        ctx = _context(store, rows, resolve)
        keep = member_predicate(definition.condition, ctx, columns)
        return str(ibis.to_sql(rows.filter(keep).select("canonical_id"), dialect="duckdb"))
    finally:
        store.con.execute(f"DROP TABLE {LIVE_ROWS}")


# The engine's hash of a fixed string: lookup keys (``_h``, ``h``) written by another DuckDB
# version force a full refresh (see ``_conditions_key``).
_CANARY = "hash('growthloop lookup key')"


def _conditions_key(conditions: list[Any], canary: int) -> str:
    """What the state was built for: the event conditions, and the lookup keys' canary."""
    return ",".join(sorted(c.key for c in conditions)) + f"|h={canary}"


def _apply_full(store: AnalyticalStore, segment_id: str, version: int, at: datetime) -> tuple[
    int, int, int
]:
    """Record the entries and exits against the members in ``_seg_members``; return them and
    the member count."""
    con = store.con
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _seg_open AS SELECT canonical_id
        FROM segment_membership WHERE segment_id = ? AND exited_at IS NULL""",
        [segment_id],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _seg_enter AS "
        "SELECT canonical_id FROM _seg_members EXCEPT SELECT canonical_id FROM _seg_open"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _seg_exit AS "
        "SELECT canonical_id FROM _seg_open EXCEPT SELECT canonical_id FROM _seg_members"
    )
    entered, exited, members = con.execute(
        "SELECT (SELECT count(*) FROM _seg_enter), (SELECT count(*) FROM _seg_exit), "
        "(SELECT count(*) FROM _seg_members)"
    ).fetchall()[0]
    if exited:
        con.execute(
            """UPDATE segment_membership SET exited_at = ? WHERE segment_id = ?
            AND exited_at IS NULL AND canonical_id IN (SELECT canonical_id FROM _seg_exit)""",
            [at, segment_id],
        )
    if entered:
        con.execute(
            "INSERT INTO segment_membership "
            "(segment_id, canonical_id, entered_at, exited_at, version, h) "
            "SELECT ?, canonical_id, ?, NULL, ?, hash(canonical_id) FROM _seg_enter",
            [segment_id, at, version],
        )
    for table in ("_seg_open", "_seg_enter", "_seg_exit"):  # large after a full pass
        con.execute(f"DROP TABLE {table}")
    return int(entered), int(exited), int(members)


def _apply_changes(
    store: AnalyticalStore, segment_id: str, version: int, at: datetime, compiled: _Compiled
) -> tuple[int, int, int]:
    """Evaluate the state rows in ``_seg_rows`` with the kept SQL, record who entered and who
    left, and put the rows back; return the entries, exits and rows evaluated."""
    con = store.con
    # Entries and exits are the evaluated customers whose membership flips: both small.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _seg_change AS
        SELECT canonical_id, _h, _member AS exits FROM _seg_rows
        WHERE _member <> coalesce(canonical_id IN (SELECT canonical_id FROM ({compiled.scoped})),
                                  FALSE)"""
    )
    entered, exited, evaluated = con.execute(
        "SELECT count(*) FILTER (WHERE NOT exits), count(*) FILTER (WHERE exits), "
        "(SELECT count(*) FROM _seg_rows) FROM _seg_change"
    ).fetchall()[0]
    put_back_state(store, segment_id, "_seg_change")
    write_stays(store, segment_id, version, at, compiled, "_seg_change", entered, exited)
    return int(entered), int(exited), int(evaluated)


def write_stays(
    store: AnalyticalStore,
    segment_id: str,
    version: int,
    at: datetime,
    compiled: _Compiled,
    change: str,
    entered: int,
    exited: int,
) -> None:
    """Close the stays of the ids that left and open stays for those that entered, from the
    relation ``change`` ``(canonical_id, _h, exits)`` (``entered``/``exited``: its counts)."""
    con = store.con
    if exited:
        # By the ids' hashes (an integer probe is several times cheaper than a string one),
        # and the ids themselves unless the hashes are known to be distinct.
        exact = (
            "" if compiled.distinct_keys
            else f"AND canonical_id IN (SELECT canonical_id FROM {change} WHERE exits)"
        )
        con.execute(
            f"""UPDATE segment_membership SET exited_at = ? WHERE segment_id = ?
            AND exited_at IS NULL AND h IN (SELECT _h FROM {change} WHERE exits) {exact}""",
            [at, segment_id],
        )
    if entered:
        con.execute(
            "INSERT INTO segment_membership "
            "(segment_id, canonical_id, entered_at, exited_at, version, h) "
            f"SELECT ?, canonical_id, ?, NULL, ?, _h FROM {change} WHERE NOT exits",
            [segment_id, at, version],
        )


def _record(
    store: AnalyticalStore,
    segment_id: str,
    values: dict[str, Any],
) -> None:
    """Write the segment's row of ``segment_state`` (``evaluated_wall``: now)."""
    names = list(values)
    store.con.execute("DELETE FROM segment_state WHERE segment_id = ?", [segment_id])
    store.con.execute(
        f"INSERT INTO segment_state (segment_id, {', '.join(names)}, evaluated_wall) "
        f"VALUES (?, {', '.join('?' for _ in names)}, now()::TIMESTAMP)",
        [segment_id, *values.values()],
    )


def refresh_segment(
    store: AnalyticalStore,
    definition: SegmentDefinition,
    version: int,
    resolve: Resolver,
    *,
    at: datetime | None = None,
) -> MembershipChange:
    """Evaluate every customer and record who entered and who left."""
    started = time.perf_counter()
    moment = at or _now()
    conditions = event_conditions(definition, resolve)
    fields = _profile_fields(definition, resolve, _profiles(store))
    epoch = new_epoch()
    with store.transaction():
        set_at(store, moment)
        seen = events_seen(store)
        matching = {c.key: matching_sql(store, c) for c in conditions}
        rebuild_state(store, definition.id, conditions, matching, fields, moment)
        # What an update runs is compiled against an empty table of the state's shape.
        store.con.execute("CREATE OR REPLACE TEMP TABLE _seg_rows AS FROM _seg_all LIMIT 0")
        compiled = _Compiled(
            key=tree_key(definition, resolve),
            matching=matching,
            fields=fields,
            scoped=_members_sql(store, definition, resolve, conditions, "_seg_rows"),
            live=_live_sql(store, definition, resolve, conditions),
        )
        full = _members_sql(store, definition, resolve, conditions, "_seg_all")
        store.con.execute(f"CREATE OR REPLACE TEMP TABLE _seg_members AS {full}")
        compiled = replace(compiled, distinct_keys=keep_state(store, definition.id, "_seg_members"))
        # Lookup keys of stays written by another engine version (see _conditions_key).
        store.con.execute(
            "UPDATE segment_membership SET h = hash(canonical_id) WHERE segment_id = ? "
            "AND exited_at IS NULL AND h IS DISTINCT FROM hash(canonical_id)",
            [definition.id],
        )
        evaluated = int(store.scalar("SELECT count(*) FROM profiles"))
        entered, exited, members = _apply_full(store, definition.id, version, moment)
        store.con.execute("DROP TABLE _seg_members")
        _record(store, definition.id, {
            "version": version, "evaluated_at": moment, "members": members,
            "profiles_as_of": store.scalar("SELECT as_of FROM profiles LIMIT 1"),
            "conditions_key": _conditions_key(conditions, store.scalar(f"SELECT {_CANARY}")),
            "events_seen": seen, "compiled": compiled.dumps(), "epoch": epoch,
            "state_epoch": epoch,
        })
    return MembershipChange(
        definition.id,
        version,
        moment,
        "full",
        evaluated,
        entered,
        exited,
        members,
        time.perf_counter() - started,
    )


def update_segment(
    store: AnalyticalStore,
    definition: SegmentDefinition,
    version: int,
    resolve: Resolver,
    *,
    at: datetime | None = None,
) -> MembershipChange:
    """Re-evaluate only the customers whose membership can have changed (see module doc)."""
    started = time.perf_counter()
    moment = at or _now()
    state = segment_state(store, definition.id)
    conditions = event_conditions(definition, resolve)
    compiled = incremental_sql(state, definition, version, resolve, conditions, moment)
    if compiled is None or state["epoch"] != state["state_epoch"]:
        # (Or the state table is older than the last evaluation: a process that kept a newer
        # state in memory stopped without writing it.)
        return refresh_segment(store, definition, version, resolve, at=moment)
    last: datetime = state["evaluated_at"]
    try:
        with store.transaction():
            set_at(store, moment)
            seen, links = new_loads(store, state["evaluated_wall"])
            update_state(
                store, definition.id, conditions, compiled.matching, last, moment,
                state["evaluated_wall"], state["events_seen"], links > 0,
            )
            entered, exited, evaluated = _apply_changes(
                store, definition.id, version, moment, compiled
            )
            members = int(state["members"]) + entered - exited
            epoch = new_epoch()
            store.con.execute(
                "UPDATE segment_state SET evaluated_at = ?, members = ?, "
                "evaluated_wall = now()::TIMESTAMP, events_seen = ?, epoch = ?, state_epoch = ? "
                "WHERE segment_id = ?",
                [moment, members, seen, epoch, epoch, definition.id],
            )
    except (duckdb.BinderException, duckdb.CatalogException):
        # What the kept SQL reads is gone (a dropped table or column): start over.
        return refresh_segment(store, definition, version, resolve, at=moment)
    return MembershipChange(
        definition.id,
        version,
        moment,
        "incremental",
        evaluated,
        entered,
        exited,
        members,
        time.perf_counter() - started,
    )
