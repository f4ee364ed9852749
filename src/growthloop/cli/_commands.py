"""Imports every command module so each registers its commands on the app."""

from __future__ import annotations

from growthloop.cli import _workspace  # noqa: F401
from growthloop.cli import _ingest  # noqa: F401
from growthloop.cli import _customer  # noqa: F401
