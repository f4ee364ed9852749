"""Compiling a segment's condition tree to an Ibis expression: the set of member ids.

Every node becomes a one-column table of ``canonical_id``s, drawn from the profiles (traits,
RFM, random buckets) or the events (performed, last performed); ``and``/``or``/``not`` are set
intersection, union and difference against all profiles. Membership of a customer depends only
on that customer's own profile and events, which is what makes incremental updates exact: the
same expression over a subset of customers gives the members among that subset.

Time windows count back from the evaluation time ``at``; events at or after ``at`` are ignored.
Comparisons follow SQL: a missing (NULL) attribute matches no comparison except ``not_exists``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import ibis

from growthloop.errors import GrowthloopError
from growthloop.segment._model import (
    AndNode,
    ClusterNode,
    LastPerformedNode,
    NotNode,
    OrNode,
    PerformedNode,
    PropertyFilter,
    RandomBucketNode,
    RfmSegmentNode,
    SegmentDefinition,
    SegmentRefNode,
    TraitNode,
)

__all__ = [
    "CompileContext",
    "SegmentError",
    "bucket",
    "compare",
    "compile_members",
    "event_matches",
    "referenced",
]


class SegmentError(GrowthloopError):
    """A segment document is invalid or cannot be evaluated."""


@dataclass(frozen=True)
class CompileContext:
    """What a condition is evaluated against."""

    profiles: Any  # Ibis table with canonical_id and the profile columns
    events: Any  # Ibis table v_events (canonical_id, event, timestamp, properties, ...)
    at: datetime
    resolve: Callable[[str], SegmentDefinition]
    clusters: Any = None  # Ibis table (canonical_id, method, cluster) when clustering has run
    # Event conditions read from their running state instead of the events, when given:
    # node -> Ibis table (canonical_id, n, last_at) as of ``at`` (see ``_state``).
    state: Callable[[PerformedNode | LastPerformedNode], Any] | None = None


def compare(column: Any, op: str, value: Any) -> Any:
    if op == "exists":
        return column.notnull()
    if op == "not_exists":
        return column.isnull()
    if op == "in":
        return column.isin(value)
    if op == "not_in":
        return column.notin(value)
    if op == "contains":
        dtype = column.type()
        if dtype.is_array():
            return column.contains(value)
        return column.cast("string").contains(str(value))
    return {
        "eq": column == value,
        "ne": column != value,
        "gt": column > value,
        "gte": column >= value,
        "lt": column < value,
        "lte": column <= value,
    }[op]


def _trait(node: TraitNode, ctx: CompileContext) -> Any:
    profiles = ctx.profiles
    if node.field not in profiles.columns:
        raise SegmentError(
            f"trait field {node.field!r} is not a profile attribute; use one of "
            f"{', '.join(sorted(c for c in profiles.columns if c != 'as_of'))}"
        )
    return profiles.filter(compare(profiles[node.field], node.op, node.value)).select(
        "canonical_id"
    )


def _property(events: Any, flt: PropertyFilter) -> Any:
    raw = events.properties[flt.property]
    sample = flt.value[0] if isinstance(flt.value, list) else flt.value
    if isinstance(sample, bool):
        column = raw.bool
    elif isinstance(sample, int | float):
        column = raw.float
    else:
        column = raw.str
    return compare(column, flt.op, flt.value)


def event_matches(events: Any, node: PerformedNode | LastPerformedNode) -> Any:
    """The predicate selecting the events ``node`` counts: its event name and filters."""
    predicate = events.event == node.event
    if isinstance(node, PerformedNode):
        for flt in node.where:
            predicate = predicate & _property(events, flt)
    return predicate


def _counts(node: PerformedNode | LastPerformedNode, ctx: CompileContext) -> Any:
    """``(canonical_id, n, last_at)`` of the events ``node`` counts, before ``ctx.at``."""
    if ctx.state is not None:
        return ctx.state(node)
    ev = ctx.events
    ev = ev.filter(event_matches(ev, node), ev.timestamp < ctx.at)
    if isinstance(node, PerformedNode) and node.within_days:
        ev = ev.filter(ev.timestamp >= ctx.at - timedelta(days=node.within_days))
    return ev.group_by("canonical_id").aggregate(n=ev.count(), last_at=ev.timestamp.max())


def _performed(node: PerformedNode, ctx: CompileContext) -> Any:
    counts = _counts(node, ctx)
    if node.at_least >= 1:
        keep = counts.n >= node.at_least
        if node.at_most is not None:
            keep = keep & (counts.n <= node.at_most)
        return counts.filter(keep).select("canonical_id")
    # at_least 0: everyone except those above at_most
    too_many = counts.filter(counts.n > node.at_most).select("canonical_id")
    return ctx.profiles.select("canonical_id").difference(too_many)


def _last_performed(node: LastPerformedNode, ctx: CompileContext) -> Any:
    last = _counts(node, ctx)
    last = last.filter(last.n > 0)
    if node.when == "never":
        return ctx.profiles.select("canonical_id").difference(last.select("canonical_id"))
    assert node.days_ago is not None
    edge = ctx.at - timedelta(days=node.days_ago)
    keep = last.last_at < edge if node.when == "before" else last.last_at >= edge
    return last.filter(keep).select("canonical_id")


def bucket(node: RandomBucketNode, canonical_id: Any) -> Any:
    """Whether ``canonical_id`` falls in the node's random bucket (a hash of salt and id)."""
    drawn = (ibis.literal(node.salt + ":") + canonical_id).hash().abs() % 10_000
    return drawn < round(node.percent * 100)


def _random_bucket(node: RandomBucketNode, ctx: CompileContext) -> Any:
    profiles = ctx.profiles
    return profiles.filter(bucket(node, profiles.canonical_id)).select("canonical_id")


def referenced(node: SegmentRefNode, ctx: CompileContext, seen: tuple[str, ...]) -> Any:
    """The condition of the segment ``node`` refers to (a cycle is an error)."""
    if node.segment in seen:
        raise SegmentError(
            f"segments refer to each other in a cycle: {' -> '.join([*seen, node.segment])}"
        )
    return ctx.resolve(node.segment).condition


def compile_members(node: Any, ctx: CompileContext, *, seen: tuple[str, ...] = ()) -> Any:
    """An Ibis table ``(canonical_id)`` of the customers ``node`` selects."""
    if isinstance(node, TraitNode):
        return _trait(node, ctx)
    if isinstance(node, PerformedNode):
        return _performed(node, ctx)
    if isinstance(node, LastPerformedNode):
        return _last_performed(node, ctx)
    if isinstance(node, RfmSegmentNode):
        profiles = ctx.profiles
        return profiles.filter(profiles.rfm_segment.isin(node.segments)).select("canonical_id")
    if isinstance(node, RandomBucketNode):
        return _random_bucket(node, ctx)
    if isinstance(node, ClusterNode):
        clusters = ctx.clusters
        if clusters is None:
            raise SegmentError("no clusters are stored yet; run `growthloop cluster` first")
        chosen = clusters.filter(clusters.method == node.method, clusters.cluster == node.cluster)
        return chosen.select("canonical_id").semi_join(ctx.profiles, "canonical_id")
    if isinstance(node, SegmentRefNode):
        return compile_members(referenced(node, ctx, seen), ctx, seen=(*seen, node.segment))
    if isinstance(node, AndNode):
        parts = [compile_members(c, ctx, seen=seen) for c in node.conditions]
        return parts[0].intersect(*parts[1:]) if len(parts) > 1 else parts[0]
    if isinstance(node, OrNode):
        parts = [compile_members(c, ctx, seen=seen) for c in node.conditions]
        return parts[0].union(*parts[1:], distinct=True) if len(parts) > 1 else parts[0]
    if isinstance(node, NotNode):
        inner = compile_members(node.condition, ctx, seen=seen)
        return ctx.profiles.select("canonical_id").difference(inner)
    raise SegmentError(f"unknown condition type {type(node).__name__}")
