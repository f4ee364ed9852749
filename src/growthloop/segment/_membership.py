"""Materialised segment membership with entry/exit history, updated incrementally.

``segment_membership`` keeps one row per stay in a segment (``entered_at``, ``exited_at``; an
open stay has no ``exited_at``). :func:`refresh_segment` evaluates everyone; :func:`update_segment`
evaluates only the customers whose membership can have changed since the last evaluation. Event
conditions are read from their running state (see ``_state``), which an update advances from the
new loads' events and a small buffer of events entering or leaving the windows (expiry, not a
nightly rebuild); the customers whose counts changed, or whose last event crossed a "days ago"
edge, are the ones re-evaluated.

Because a customer's membership depends only on that customer's data (see ``_compile``), the
incremental result equals a full rebuild; a new segment version or a new profile build triggers
a full refresh.

A full refresh also compiles the SQL an update runs (the event conditions' matching events and
the members among the evaluated customers, with the evaluation time as a DuckDB variable) and
keeps it with the segment's state, so an update runs SQL only; the SQL is recompiled whenever
the segment tree (its references included) changes.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
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
from growthloop.segment._state import (
    EventCondition,
    event_conditions,
    events_seen,
    matching_sql,
    node_key,
    rebuild_state,
    state_counts,
    update_state,
)
from growthloop.store import AnalyticalStore

__all__ = ["MembershipChange", "refresh_segment", "update_segment"]

Resolver = Any  # Callable[[str], SegmentDefinition]

# Bumped whenever the compiled SQL's shape changes, so kept SQL from older code is not reused.
_COMPILER = 2
_AT_VARIABLE = "growthloop_segment_at"


@ibis.udf.scalar.builtin(name="getvariable")  # type: ignore[untyped-decorator]
def _getvariable(variable: str) -> datetime:  # type: ignore[empty-body]
    """DuckDB's ``getvariable``: a value set with ``SET VARIABLE``."""


@dataclass(frozen=True)
class _Compiled:
    """The SQL an evaluation runs, for one segment tree (see the module docstring)."""

    key: str
    matching: dict[str, str]  # event condition key -> matching_sql
    profile_columns: list[str]  # what the scoped evaluation reads from the profiles
    scoped: str  # members among _seg_profiles, reading counts from _seg_counts

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


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _profiles(store: AnalyticalStore) -> Any:
    if not store.has_table("profiles"):
        raise SegmentError("there are no profiles yet; run `growthloop profile build` first")
    return store.ibis.table("profiles")


def _state(store: AnalyticalStore, segment_id: str) -> dict[str, Any] | None:
    rows = store.rows(
        "SELECT version, evaluated_at, members, profiles_as_of, evaluated_wall, "
        "conditions_key, events_seen, compiled "
        "FROM segment_state "
        "WHERE segment_id = ?",
        [segment_id],
    )
    return rows[0] if rows else None


def _tree_key(definition: SegmentDefinition, resolve: Resolver) -> str:
    """A hash of everything the compiled SQL depends on: the tree with its references."""
    parts = [str(_COMPILER), definition.id]
    parts += [node.model_dump_json() for node in walk_with_references(definition, resolve)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _kept(state: dict[str, Any], key: str) -> _Compiled | None:
    """The SQL kept with the state, if it was compiled for this tree."""
    if not state.get("compiled"):
        return None
    kept = json.loads(state["compiled"])
    return _Compiled(**kept) if kept.get("key") == key else None


def _set_at(store: AnalyticalStore, at: datetime) -> None:
    store.con.execute(f"SET VARIABLE {_AT_VARIABLE} = ?::TIMESTAMP", [at])


def _profile_fields(definition: SegmentDefinition, resolve: Resolver) -> set[str]:
    """The profile columns a segment tree reads, following segment references."""
    fields: set[str] = set()
    for node in walk_with_references(definition, resolve):
        if isinstance(node, TraitNode):
            fields.add(node.field)
        elif isinstance(node, RfmSegmentNode):
            fields.add("rfm_segment")
    return fields


def _context(
    store: AnalyticalStore,
    definition: SegmentDefinition,
    resolve: Resolver,
    profiles: Any,
    scoped: bool,
) -> CompileContext:
    """How to compile: the evaluation time is a variable, counts come from the state."""

    def state(node: Any) -> Any:
        return state_counts(store, definition.id, node_key(node), scoped=scoped)

    db = store.ibis
    clusters = db.table("clusters") if store.has_table("clusters") else None
    at = _getvariable(_AT_VARIABLE).cast("timestamp")
    return CompileContext(profiles=profiles, events=db.table("v_events"), at=at, resolve=resolve,
                          clusters=clusters, state=state)


def _members_sql(ctx: CompileContext, definition: SegmentDefinition) -> str:
    members = compile_members(definition.condition, ctx).intersect(
        ctx.profiles.select("canonical_id")
    )
    return str(ibis.to_sql(members.distinct(), dialect="duckdb"))


def _compile(
    store: AnalyticalStore,
    definition: SegmentDefinition,
    resolve: Resolver,
    conditions: list[EventCondition],
) -> tuple[_Compiled, str]:
    """Compile a segment tree: what an update will run, and the full evaluation's SQL."""
    profiles = _profiles(store)
    full = _members_sql(_context(store, definition, resolve, profiles, False), definition)
    # The scoped evaluation reads the evaluated customers' profile fields and counts from
    # temp tables an update fills; compiled here against empty ones of the same shape.
    columns = ["canonical_id", *sorted(_profile_fields(definition, resolve))]
    quoted = ", ".join(f'"{c}"' for c in columns)
    store.con.execute(
        f"CREATE OR REPLACE TEMP TABLE _seg_profiles AS SELECT {quoted} FROM profiles LIMIT 0"
    )
    store.con.execute(
        "CREATE OR REPLACE TEMP TABLE _seg_counts "
        "(node_key VARCHAR, canonical_id VARCHAR, n BIGINT, last_at TIMESTAMP)"
    )
    scoped_ctx = _context(store, definition, resolve, store.ibis.table("_seg_profiles"), True)
    compiled = _Compiled(
        key=_tree_key(definition, resolve),
        matching={c.key: matching_sql(store, c) for c in conditions},
        profile_columns=columns,
        scoped=_members_sql(scoped_ctx, definition),
    )
    return compiled, full


def _fields_table(segment_id: str) -> str:
    """The table holding the profile fields a segment reads, keyed by id hash (``h``)."""
    return "segment_fields_" + hashlib.sha256(segment_id.encode()).hexdigest()[:16]


def _snapshot_fields(store: AnalyticalStore, segment_id: str, compiled: _Compiled) -> None:
    """Copy the profile fields the segment reads, with each id's hash, for keyed lookups:
    profiles only change with a new build, which triggers a full refresh (and a new copy)."""
    quoted = ", ".join(f'"{c}"' for c in compiled.profile_columns)
    store.con.execute(
        f"CREATE OR REPLACE TABLE {_fields_table(segment_id)} AS "
        f"SELECT hash(canonical_id) AS h, {quoted} FROM profiles"
    )


def _evaluate_scoped(
    store: AnalyticalStore, segment_id: str, compiled: _Compiled, restrict: str
) -> None:
    """Members among ``restrict``'s ids into temp table ``_seg_members``: SQL only."""
    quoted = ", ".join(f'"{c}"' for c in compiled.profile_columns)
    # The evaluated customers' profile fields, by id hash: a colliding customer comes along
    # and is evaluated like the others (its counts and open stay are taken by hash too).
    store.con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _seg_profiles AS SELECT {quoted}
        FROM {_fields_table(segment_id)} WHERE h IN (SELECT h FROM {restrict})"""
    )
    store.con.execute(f"CREATE OR REPLACE TEMP TABLE _seg_members AS {compiled.scoped}")


def _conditions_key(store: AnalyticalStore, conditions: list[Any]) -> str:
    """What the state was built for: the event conditions, and the engine's hash of a fixed
    string, so lookup keys (``h``) written by another DuckDB version force a full refresh."""
    canary = store.scalar("SELECT hash('growthloop lookup key')")
    return ",".join(sorted(c.key for c in conditions)) + f"|h={canary}"


def _apply(
    store: AnalyticalStore,
    segment_id: str,
    version: int,
    at: datetime,
    scope: str | None,
    conditions_key: str,
    seen: int,
    compiled: str,
    profiles_as_of: datetime | None,
    previous: int | None = None,
) -> tuple[int, int, int]:
    """Record the entries and exits, and the new state. ``previous`` is the member count
    before an incremental update (None: count the members)."""
    con = store.con
    # The open stays among the evaluated customers, read once; entries and exits are the
    # differences with the new members, both small on an incremental update. There, the
    # open stays are taken out and put back (closed for those who left): one pass.
    if scope is None:
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _seg_open AS SELECT canonical_id, entered_at, version
            FROM segment_membership WHERE segment_id = ? AND exited_at IS NULL""",
            [segment_id],
        )
    else:
        # By the ids' hashes (see ``_state``): a colliding customer comes along and is
        # re-evaluated with its own data, like the others.
        taken = con.sql(
            f"""DELETE FROM segment_membership WHERE segment_id = $1 AND exited_at IS NULL
            AND h IN (SELECT h FROM {scope})
            RETURNING canonical_id, entered_at, version""",
            params=[segment_id],
        ).to_arrow_table()
        con.register("_seg_taken", taken)
        con.execute("CREATE OR REPLACE TEMP TABLE _seg_open AS SELECT * FROM _seg_taken")
        con.unregister("_seg_taken")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _seg_enter AS "
        "SELECT canonical_id FROM _seg_members EXCEPT SELECT canonical_id FROM _seg_open"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _seg_exit AS "
        "SELECT canonical_id FROM _seg_open EXCEPT SELECT canonical_id FROM _seg_members"
    )
    counted = con.execute(
        "SELECT (SELECT count(*) FROM _seg_enter), (SELECT count(*) FROM _seg_exit)"
    ).fetchall()[0]
    entered, exited = int(counted[0]), int(counted[1])
    if scope is not None:
        con.execute(
            """INSERT INTO segment_membership
            (segment_id, canonical_id, entered_at, exited_at, version, h)
            SELECT ?, o.canonical_id, o.entered_at,
            CASE WHEN x.canonical_id IS NULL THEN NULL ELSE ?::TIMESTAMP END, o.version,
            hash(o.canonical_id)
            FROM _seg_open o LEFT JOIN _seg_exit x USING (canonical_id)""",
            [segment_id, at],
        )
    elif exited:
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
    if previous is None:
        members = int(con.execute("SELECT count(*) FROM _seg_members").fetchall()[0][0])
        for table in ("_seg_open", "_seg_enter", "_seg_exit"):  # large after a full pass
            con.execute(f"DROP TABLE {table}")
    else:
        members = previous + entered - exited
    con.execute("DELETE FROM segment_state WHERE segment_id = ?", [segment_id])
    con.execute(
        "INSERT INTO segment_state (segment_id, version, evaluated_at, members, profiles_as_of, "
        "evaluated_wall, conditions_key, events_seen, compiled) "
        "VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP, ?, ?, ?)",
        [segment_id, version, at, members, profiles_as_of, conditions_key, seen, compiled],
    )
    return entered, exited, members


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
    with store.transaction():
        compiled, full = _compile(store, definition, resolve, conditions)
        _set_at(store, moment)
        seen = events_seen(store)
        rebuild_state(store, definition.id, conditions, compiled.matching, moment)
        store.con.execute(f"CREATE OR REPLACE TEMP TABLE _seg_members AS {full}")
        _snapshot_fields(store, definition.id, compiled)
        # Lookup keys of stays written by another engine version (see _conditions_key).
        store.con.execute(
            "UPDATE segment_membership SET h = hash(canonical_id) WHERE segment_id = ? "
            "AND exited_at IS NULL AND h IS DISTINCT FROM hash(canonical_id)",
            [definition.id],
        )
        evaluated = int(store.scalar("SELECT count(*) FROM profiles"))
        entered, exited, members = _apply(
            store, definition.id, version, moment, None, _conditions_key(store, conditions),
            seen, compiled.dumps(), store.scalar("SELECT as_of FROM profiles LIMIT 1"),
        )
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
    state = _state(store, definition.id)
    profiles_as_of = store.scalar("SELECT as_of FROM profiles LIMIT 1")
    conditions = event_conditions(definition, resolve)
    conditions_key = _conditions_key(store, conditions)
    if (
        state is None
        or state["version"] != version
        or state["profiles_as_of"] != profiles_as_of
        or state["conditions_key"] != conditions_key
        or state["events_seen"] is None
    ):
        # A new definition (or a referenced one) or a new profile build: anyone may have changed.
        return refresh_segment(store, definition, version, resolve, at=moment)
    last: datetime = state["evaluated_at"]
    if moment < last:
        raise GrowthloopError(
            f"cannot evaluate segment {definition.id!r} at {moment}, before its last "
            f"evaluation at {last}; use a later time or a full refresh"
        )
    compiled = _kept(state, _tree_key(definition, resolve))
    if compiled is None:
        # A referenced segment changed (its version is not ours), or older code kept the state.
        return refresh_segment(store, definition, version, resolve, at=moment)
    try:
        with store.transaction():
            _set_at(store, moment)
            store.con.execute(
                "CREATE OR REPLACE TEMP TABLE _new_loads AS "
                "SELECT load_id FROM loads WHERE finished_at >= ?",
                [state["evaluated_wall"]],
            )
            seen = events_seen(store)
            update_state(
                store, definition.id, conditions, compiled.matching, last, moment, "_new_loads",
                state["events_seen"],
            )
            store.con.execute(
                "CREATE OR REPLACE TEMP TABLE _seg_scope AS "
                "SELECT DISTINCT canonical_id, hash(canonical_id) AS h FROM _state_scope"
            )
            evaluated = int(store.scalar("SELECT count(*) FROM _seg_scope"))
            _evaluate_scoped(store, definition.id, compiled, "_seg_scope")
            entered, exited, members = _apply(
                store, definition.id, version, moment, "_seg_scope", conditions_key, seen,
                compiled.dumps(), profiles_as_of, int(state["members"]),
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
