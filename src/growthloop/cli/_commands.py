"""Imports every command module so each registers its commands on the app."""

from __future__ import annotations

from growthloop.cli import (  # noqa: F401
    _cluster,
    _clv,
    _customer,
    _demo,
    _events,
    _ingest,
    _keys,
    _models,
    _predict,
    _profile,
    _recommend,
    _recommend_serving,
    _recommend_update,
    _segment,
    _serve,
    _workspace,
)
