"""Segment services shared by the CLI and the API: create, list, evaluate, export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from growthloop.segment._compile import SegmentError
from growthloop.segment._documents import get_segment, list_segments, save_segment
from growthloop.segment._live import SegmentUpdater
from growthloop.segment._membership import MembershipChange, refresh_segment, update_segment
from growthloop.segment._model import SegmentDefinition
from growthloop.store import AnalyticalStore, OperationalStore

__all__ = ["create_segment", "export_members", "segment_members", "update_segments"]


def _profile_fields(analytical: AnalyticalStore) -> list[str] | None:
    if not analytical.has_table("profiles"):
        return None
    return [str(r[0]) for r in analytical.con.execute("DESCRIBE profiles").fetchall()]


def _resolver(operational: OperationalStore) -> Any:
    return lambda segment_id: get_segment(operational, segment_id)[0]


def create_segment(
    *,
    analytical: AnalyticalStore,
    operational: OperationalStore,
    definition: SegmentDefinition,
    at: datetime | None = None,
) -> tuple[int, bool, MembershipChange]:
    """Validate and save ``definition`` (a new version if it changed) and evaluate it."""
    version, changed = save_segment(
        store=operational, definition=definition, profile_fields=_profile_fields(analytical)
    )
    change = update_segment(analytical, definition, version, _resolver(operational), at=at)
    return version, changed, change


def update_segments(
    *,
    analytical: AnalyticalStore,
    operational: OperationalStore,
    at: datetime | None = None,
    full: bool = False,
    updater: SegmentUpdater | None = None,
) -> list[MembershipChange]:
    """Bring every segment's membership up to date (incrementally unless ``full``; with the
    states an ``updater`` holds in memory if given)."""
    resolve = _resolver(operational)
    step: Callable[..., MembershipChange]
    if full:
        step = partial(refresh_segment, analytical)
    elif updater is not None:
        step = updater.update
    else:
        step = partial(update_segment, analytical)
    return [
        step(definition, version, resolve, at=at)
        for definition, version, _ in list_segments(operational)
    ]


def segment_members(
    analytical: AnalyticalStore, segment_id: str, *, limit: int | None = None, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """Current members (with when they entered), and how many there are."""
    total = int(
        analytical.scalar(
            "SELECT count(*) FROM segment_membership WHERE segment_id = ? AND exited_at IS NULL",
            [segment_id],
        )
    )
    if (
        total == 0
        and analytical.scalar(
            "SELECT count(*) FROM segment_state WHERE segment_id = ?", [segment_id]
        )
        == 0
    ):
        raise SegmentError(
            f"segment {segment_id!r} has not been evaluated; run `growthloop segment update`"
        )
    page = "" if limit is None else f"LIMIT {int(limit)} OFFSET {int(offset)}"
    rows = analytical.rows(
        f"""SELECT m.canonical_id, m.entered_at, c.email, p.country, p.rfm_segment,
                   p.orders, p.monetary
        FROM segment_membership m LEFT JOIN profiles p USING (canonical_id)
        LEFT JOIN v_customers c USING (canonical_id)
        WHERE m.segment_id = ? AND m.exited_at IS NULL ORDER BY m.canonical_id {page}""",
        [segment_id],
    )
    return total, rows


def export_members(analytical: AnalyticalStore, segment_id: str, path: Path, fmt: str) -> int:
    """Write the current members with their profiles to CSV or Parquet; return the count."""
    if fmt not in ("csv", "parquet"):
        raise SegmentError(f"export format {fmt!r} is not supported; use csv or parquet")
    total, _ = segment_members(analytical, segment_id, limit=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = "(FORMAT csv, HEADER true)" if fmt == "csv" else "(FORMAT parquet)"
    target = str(path).replace("'", "''")
    analytical.con.execute(
        f"""COPY (SELECT p.* FROM segment_membership m JOIN profiles p USING (canonical_id)
                  WHERE m.segment_id = ? AND m.exited_at IS NULL ORDER BY p.canonical_id)
            TO '{target}' {options}""",
        [segment_id],
    )
    return total
