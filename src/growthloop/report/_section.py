"""A report section: a template and the figures it shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Section"]


@dataclass(frozen=True)
class Section:
    """One section of the HTML report. Each stage of the loop contributes its own."""

    key: str
    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
