"""Customers' recommendations recomputed after a build, logged next to the build's arrays.

:func:`~growthloop.recommend.update_customer` writes a customer's new rows into the
``recommendations`` table and appends them, as one JSON line, to ``updates.jsonl`` in the
build's version folder. Every process serving the build reads the lines added since it last
looked (one ``stat`` per look), so an update shows in the API at once, without the API opening
the analytical store. A customer's later line replaces their earlier one.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["UPDATES_FILE", "UpdateLog", "append_update"]

UPDATES_FILE = "updates.jsonl"


def append_update(
    folder: Path, canonical_id: str, rows: list[dict[str, Any]], at: datetime
) -> None:
    """Append one customer's new rows (rank, item_id, score, reason_code, reason) to the log."""
    line = json.dumps(
        {"canonical_id": canonical_id, "at": at.isoformat(), "rows": rows}, ensure_ascii=False
    ).encode("utf-8") + b"\n"
    descriptor = os.open(folder / UPDATES_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line)  # one write in append mode: lines never interleave
    finally:
        os.close(descriptor)


class UpdateLog:
    """The updates of one build, read incrementally: :meth:`refresh` reads new complete lines."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / UPDATES_FILE
        self.offset = 0
        self.customers: dict[str, tuple[datetime, list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Read the lines appended since the last call (a partly written last line waits)."""
        with self._lock:
            self._read_new_lines()

    def _read_new_lines(self) -> None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size <= self.offset:
            return
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read(size - self.offset)
        complete = chunk[: chunk.rfind(b"\n") + 1]
        for line in complete.splitlines():
            entry = json.loads(line)
            self.customers[entry["canonical_id"]] = (
                datetime.fromisoformat(entry["at"]), entry["rows"]
            )
        self.offset += len(complete)

    def get(self, canonical_id: str) -> tuple[datetime, list[dict[str, Any]]] | None:
        """When the customer was updated and their rows, or None."""
        return self.customers.get(canonical_id)
