"""The API's routers, one per resource."""

from __future__ import annotations
