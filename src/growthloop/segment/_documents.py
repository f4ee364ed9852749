"""Saving and reading segment documents in the operational store, with validation on save.

Saving a document that changed creates a new version; an identical document keeps its version.
Validation names the bad node: pydantic's path for unknown fields and wrong types, and here the
checks that need the other segments or the profile's columns (unknown trait field, unknown
referenced segment, a cycle between segments).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select

from growthloop.errors import NotFoundError
from growthloop.segment._compile import SegmentError
from growthloop.segment._model import SegmentDefinition, SegmentRefNode, TraitNode, walk
from growthloop.store import OperationalStore
from growthloop.store._models import SegmentVersion

__all__ = ["get_segment", "list_segments", "parse_segment", "read_segment_file", "save_segment"]


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "document"


def parse_segment(data: Mapping[str, Any]) -> SegmentDefinition:
    """Validate a segment document; errors name the path of each bad node."""
    try:
        return SegmentDefinition.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise SegmentError(f"invalid segment document: {problems}") from exc


def read_segment_file(path: Path) -> SegmentDefinition:
    """Read a segment document from a JSON or YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SegmentError(f"cannot read {path}: {exc}") from exc
    data: Any
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SegmentError(f"{path.name} is not valid YAML: {exc}") from exc
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SegmentError(f"{path.name} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SegmentError(f"{path.name} must hold one segment document (an object)")
    return parse_segment(data)


def _current(store: OperationalStore) -> dict[str, SegmentVersion]:
    with store.session() as session:
        latest = (
            select(SegmentVersion.segment_id, func.max(SegmentVersion.version).label("v"))
            .group_by(SegmentVersion.segment_id)
            .subquery()
        )
        rows = session.scalars(
            select(SegmentVersion).join(
                latest,
                (SegmentVersion.segment_id == latest.c.segment_id)
                & (SegmentVersion.version == latest.c.v),
            )
        ).all()
    return {r.segment_id: r for r in rows if r.archived_at is None}


def _check_references(
    definition: SegmentDefinition, others: Mapping[str, SegmentDefinition]
) -> None:
    graph = {
        k: [n.segment for n in walk(v.condition) if isinstance(n, SegmentRefNode)]
        for k, v in others.items()
    }
    graph[definition.id] = [
        n.segment for n in walk(definition.condition) if isinstance(n, SegmentRefNode)
    ]
    for ref in graph[definition.id]:
        if ref not in graph:
            raise SegmentError(
                f"condition refers to segment {ref!r}, which does not exist; create it first"
            )

    def visit(node: str, path: tuple[str, ...]) -> None:
        if node in path:
            cycle = " -> ".join([*path[path.index(node) :], node])
            raise SegmentError(f"segments would refer to each other in a cycle: {cycle}")
        for nxt in graph.get(node, []):
            visit(nxt, (*path, node))

    visit(definition.id, ())


def _check_fields(definition: SegmentDefinition, fields: Iterable[str] | None) -> None:
    if fields is None:
        return
    known = set(fields)
    for node in walk(definition.condition):
        if isinstance(node, TraitNode) and node.field not in known:
            raise SegmentError(
                f"trait field {node.field!r} is not a profile attribute; use one of "
                f"{', '.join(sorted(known))}"
            )


def save_segment(
    *,
    store: OperationalStore,
    definition: SegmentDefinition,
    profile_fields: Iterable[str] | None = None,
    clock: Any = None,
) -> tuple[int, bool]:
    """Validate and store ``definition``; return ``(version, changed)``."""
    current = _current(store)
    others = {
        k: SegmentDefinition.model_validate_json(v.definition)
        for k, v in current.items()
        if k != definition.id
    }
    _check_references(definition, others)
    _check_fields(definition, profile_fields)
    document = definition.model_dump_json()
    previous = current.get(definition.id)
    if previous is not None and previous.definition == document:
        return previous.version, False
    with store.session() as session:
        latest = (
            session.scalar(
                select(func.max(SegmentVersion.version)).where(
                    SegmentVersion.segment_id == definition.id
                )
            )
            or 0
        )
        now = (clock or (lambda: datetime.now(UTC).replace(tzinfo=None)))()
        session.add(
            SegmentVersion(
                segment_id=definition.id,
                version=latest + 1,
                name=definition.name,
                definition=document,
                created_at=now,
            )
        )
        session.commit()
    return latest + 1, True


def get_segment(store: OperationalStore, segment_id: str) -> tuple[SegmentDefinition, int]:
    """The current definition and version of ``segment_id``."""
    row = _current(store).get(segment_id)
    if row is None:
        raise NotFoundError(f"no segment {segment_id!r}; list them with `growthloop segment list`")
    return SegmentDefinition.model_validate_json(row.definition), row.version


def list_segments(store: OperationalStore) -> list[tuple[SegmentDefinition, int, datetime]]:
    """Every current segment with its version and when that version was saved."""
    return [
        (SegmentDefinition.model_validate_json(r.definition), r.version, r.created_at)
        for _, r in sorted(_current(store).items())
    ]
