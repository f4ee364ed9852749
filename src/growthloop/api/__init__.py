"""The HTTP API: a FastAPI app built by :func:`create_app` (Segment-compatible event collection)."""

from __future__ import annotations

from growthloop.api._app import create_app

__all__ = ["create_app"]
