"""``GET /health``: is the service up and its operational store reachable."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from growthloop import __version__
from growthloop.api._deps import StoreDep
from growthloop.api._errors import json_response

__all__ = ["Health", "router"]

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The service's state."""

    status: str
    version: str
    store: str
    revision: str | None


@router.get("/health", summary="Service health", response_model=Health,
            responses={503: {"model": Health, "description": "The store is unreachable."}})
async def health(store: StoreDep) -> Response:
    """``ok`` with the version and the operational store's dialect and schema revision, or
    503 ``unavailable`` when the store cannot be queried."""
    body = {"status": "ok", "version": __version__, "store": store.dialect, "revision": None}
    try:
        body["revision"] = await run_in_threadpool(store.revision)
    except SQLAlchemyError as exc:
        log.warning("health check: the operational store is unreachable: %s", exc)
        body["status"] = "unavailable"
        return json_response(body, 503)
    return json_response(body)
