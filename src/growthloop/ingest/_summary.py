"""The summary of one load, as the CLI prints it and ``--json`` returns it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["LoadSummary"]


@dataclass
class LoadSummary:
    """What one load did. ``counts`` holds the entity's own breakdown; for orders the
    exclusive buckets ``sales + guest_sales + returns + non_product + rejected + duplicates +
    already_loaded`` add up to ``rows_read``."""

    load_id: str | None
    entity: str
    source: str
    fingerprint: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    duplicates: int = 0
    already_loaded: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    values_cleared_by_reason: dict[str, int] = field(default_factory=dict)
    identity_links: int = 0
    merges: int = 0
    skipped: bool = False
    skipped_reason: str | None = None
    elapsed_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
