"""Imports every command module so each registers its commands on the app."""

from __future__ import annotations

from growthloop.cli import (
    _customer,  # noqa: F401
    _ingest,  # noqa: F401
    _workspace,  # noqa: F401
)
