"""Imports every command module so each registers its commands on the app."""

from __future__ import annotations

from growthloop.cli import (  # noqa: F401
    _customer,  # noqa: F401
    _demo,  # noqa: F401
    _events,  # noqa: F401
    _ingest,  # noqa: F401
    _keys,
    _serve,
    _workspace,  # noqa: F401
)
