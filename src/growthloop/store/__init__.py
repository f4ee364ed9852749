"""The two stores: analytical (DuckDB through Ibis) and operational (SQLAlchemy + Alembic)."""

from __future__ import annotations

from growthloop.store._analytical import AnalyticalStore
from growthloop.store._operational import OperationalStore

__all__ = ["AnalyticalStore", "OperationalStore"]
