"""Moving events the API accepted from the operational store's inbox into the analytical store.

The API never writes the DuckDB file (one writer per file); it commits events to the inbox.
:func:`flush_inbox` copies them in arrival order through the same cleaning as event files, then
marks them flushed. If it stops between the two, the next flush copies the batch again and the
message ids make the second copy a no-op.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from growthloop.ingest._inbox import mark_flushed, read_unflushed
from growthloop.ingest._load import load_file, options_for
from growthloop.ingest._summary import LoadSummary
from growthloop.store import AnalyticalStore, OperationalStore

__all__ = ["FlushResult", "flush_inbox"]


@dataclass
class FlushResult:
    """Events moved and the loads that stored them."""

    events: int = 0
    loads: list[LoadSummary] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        return sum(s.rows_loaded for s in self.loads)

    @property
    def rejected(self) -> int:
        return sum(s.rows_rejected for s in self.loads)


def flush_inbox(
    *,
    operational: OperationalStore,
    analytical: AnalyticalStore,
    batch_size: int = 50_000,
    progress: Callable[[int, int], None] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC).replace(tzinfo=None),
) -> FlushResult:
    """Copy every unflushed inbox event into the ``events`` table."""
    result = FlushResult()
    with tempfile.TemporaryDirectory(prefix="growthloop-flush-") as tmp:
        while True:
            rows = read_unflushed(store=operational, limit=batch_size)
            if not rows:
                break
            path = Path(tmp) / f"inbox-{rows[0].inbox_id}.jsonl"
            with path.open("wb") as handle:
                for row in rows:
                    message = dict(row.payload)
                    message["messageId"] = row.message_id
                    message["receivedAt"] = row.received_at.isoformat() + "Z"
                    message.setdefault(
                        "timestamp", message.get("originalTimestamp") or message["receivedAt"]
                    )
                    handle.write(orjson.dumps(message) + b"\n")
            summary = load_file(
                analytical,
                "events",
                path,
                options_for("events"),
                source_label=f"api:inbox {rows[0].inbox_id}-{rows[-1].inbox_id}",
            )
            mark_flushed(store=operational, inbox_ids=[r.inbox_id for r in rows], at=clock())
            result.events += len(rows)
            result.loads.append(summary)
            if progress is not None:
                progress(result.events, result.events)
            path.unlink()
    return result
