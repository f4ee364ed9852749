"""A segment's condition tree as one filter over state rows (see ``_state``).

:func:`~growthloop.segment._compile.compile_members` builds the member set with set operations,
which any Ibis backend can run over the profiles and the events. When every input of a customer
is already on one row (the profile fields a segment reads, and each event condition's count
and latest event), the same membership is a predicate of that row: ``and``/``or``/``not`` become
boolean operators, and a comparison that SQL leaves NULL (a missing attribute) is false, as a
missing row is in the set version. An in-memory update (``_live``) filters the rows it
re-evaluates with it: one filter instead of a plan of intersections and differences.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from growthloop.segment._compile import (
    CompileContext,
    SegmentError,
    bucket,
    compare,
    referenced,
)
from growthloop.segment._model import (
    AndNode,
    ClusterNode,
    LastPerformedNode,
    NotNode,
    OrNode,
    PerformedNode,
    RandomBucketNode,
    RfmSegmentNode,
    SegmentRefNode,
    TraitNode,
)

__all__ = ["member_predicate"]

# node -> (count column, latest-event column) of its running state
Columns = Callable[[PerformedNode | LastPerformedNode], tuple[str, str]]


def _performed(node: PerformedNode, rows: Any, columns: Columns) -> Any:
    n = rows[columns(node)[0]]
    if node.at_least >= 1:
        keep = n >= node.at_least
        return keep & (n <= node.at_most) if node.at_most is not None else keep
    return ~(n > node.at_most)  # at_least 0: everyone except those above at_most


def _last_performed(node: LastPerformedNode, rows: Any, ctx: CompileContext,
                    columns: Columns) -> Any:
    count, latest = columns(node)
    seen = rows[count] > 0
    if node.when == "never":
        return ~seen
    assert node.days_ago is not None
    edge = ctx.at - timedelta(days=node.days_ago)
    last = rows[latest]
    return seen & (last < edge if node.when == "before" else last >= edge)


def member_predicate(
    node: Any, ctx: CompileContext, columns: Columns, *, seen: tuple[str, ...] = ()
) -> Any:
    """A boolean Ibis expression over ``ctx.profiles`` (state rows, with every count column)
    that is true exactly for the rows :func:`compile_members` selects; never NULL."""
    rows = ctx.profiles
    if isinstance(node, TraitNode):
        if node.field not in rows.columns:
            raise SegmentError(f"trait field {node.field!r} is not a profile attribute")
        return compare(rows[node.field], node.op, node.value).fill_null(False)
    if isinstance(node, PerformedNode):
        return _performed(node, rows, columns)
    if isinstance(node, LastPerformedNode):
        return _last_performed(node, rows, ctx, columns).fill_null(False)
    if isinstance(node, RfmSegmentNode):
        return rows.rfm_segment.isin(node.segments).fill_null(False)
    if isinstance(node, RandomBucketNode):
        return bucket(node, rows.canonical_id).fill_null(False)
    if isinstance(node, ClusterNode):
        clusters = ctx.clusters
        if clusters is None:
            raise SegmentError("no clusters are stored yet; run `growthloop cluster` first")
        chosen = clusters.filter(clusters.method == node.method, clusters.cluster == node.cluster)
        return rows.canonical_id.isin(chosen.canonical_id).fill_null(False)
    if isinstance(node, SegmentRefNode):
        inner = referenced(node, ctx, seen)
        return member_predicate(inner, ctx, columns, seen=(*seen, node.segment))
    if isinstance(node, AndNode | OrNode):
        parts = [member_predicate(c, ctx, columns, seen=seen) for c in node.conditions]
        out = parts[0]
        for part in parts[1:]:
            out = out & part if isinstance(node, AndNode) else out | part
        return out
    if isinstance(node, NotNode):
        return ~member_predicate(node.condition, ctx, columns, seen=seen)
    raise SegmentError(f"unknown condition type {type(node).__name__}")
