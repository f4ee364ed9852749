"""The app factory: routers, dependencies' state, JSON error handlers, OpenAPI schemas."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from growthloop import __version__
from growthloop.api._committer import InboxCommitter
from growthloop.api._deps import utc_now
from growthloop.api._errors import ApiError, error_response
from growthloop.api.routes import health, profiles, recommendations, segment, segments
from growthloop.config import ServerConfig
from growthloop.errors import GrowthloopError, NotFoundError, StoreError
from growthloop.ingest._segment import SegmentBatch
from growthloop.keys import AuthError, KeyCache, ScopeError
from growthloop.recommend import ServingCache
from growthloop.store import OperationalStore
from growthloop.workspace import Workspace

__all__ = ["create_app"]

log = logging.getLogger(__name__)

_DESCRIPTION = """Event collection compatible with the Segment HTTP Tracking API: point
analytics-python, analytics.js, analytics-node or a RudderStack SDK at this host and send
`identify`, `track`, `page`, `screen`, `group` and `alias` calls, one by one or in batches.
Authenticate with a write key (`growthloop keys create --name web --scope write`) as the HTTP
Basic username with an empty password, or as `writeKey` in the body. Every accepted message is
stored before the answer; a retried `messageId` is stored once."""

_ENDPOINTS = "POST /v1/batch, /v1/identify, /v1/track, /v1/page, /v1/screen, /v1/group, /v1/alias"


def create_app(
    workspace_root: Path | None = None,
    *,
    store: OperationalStore | None = None,
    settings: ServerConfig | None = None,
    key_cache_seconds: float = 5.0,
    recommendation_check_seconds: float = 1.0,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """Build the API on a workspace's operational store, or on ``store`` when given.

    ``settings`` default to the workspace's ``[server]`` section (or the defaults with
    ``store``). Verified keys are cached for ``key_cache_seconds``: a revoked key is refused
    within that time. Recommendations are served from the promoted build, loaded once and
    reloaded when another is promoted (checked every ``recommendation_check_seconds``).
    ``clock`` gives ``receivedAt`` (naive UTC). A workspace opened here is closed when the app
    shuts down.
    """
    workspace: Workspace | None = None
    if store is None:
        workspace = Workspace.open(workspace_root)
        store = workspace.operational
        settings = settings or workspace.config.server
    settings = settings or ServerConfig()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if workspace is not None:
            workspace.close()

    app = FastAPI(title="growthloop", version=__version__, description=_DESCRIPTION,
                  lifespan=lifespan)
    app.state.store = store
    app.state.settings = settings
    app.state.keys = KeyCache(store, ttl_seconds=key_cache_seconds)
    app.state.inbox = InboxCommitter(store)
    app.state.clock = clock
    app.state.analytical_path = (
        workspace.root / workspace.config.analytical.path if workspace is not None else None
    )
    app.state.recommendations = (
        ServingCache(operational=store, models_dir=workspace.models_dir,
                     ttl_seconds=recommendation_check_seconds)
        if workspace is not None else None
    )
    # Browsers (analytics.js) post from any site, as to Segment's own API.
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"],
                       allow_headers=["*"], max_age=86_400)
    _add_error_handlers(app)
    app.include_router(health.router)
    app.include_router(segment.router)
    app.include_router(profiles.router)
    app.include_router(segments.router)
    app.include_router(recommendations.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the Segment message models the routes parse themselves."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version,
                             description=app.description, routes=app.routes)
        batch = SegmentBatch.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}"
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(batch.pop("$defs", {}))
        components["SegmentBatch"] = batch
        app.openapi_schema = schema
    return app.openapi_schema


def _add_error_handlers(app: FastAPI) -> None:
    """Every error becomes a JSON body (see :mod:`growthloop.api._errors`), never a traceback."""

    async def api_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def auth_error(_request: Request, exc: Exception) -> Response:
        if isinstance(exc, ScopeError):
            return error_response(403, "forbidden", str(exc))
        return error_response(401, "invalid_write_key", str(exc),
                              headers={"WWW-Authenticate": 'Basic realm="growthloop"'})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        path = request.url.path
        if exc.status_code == 404:
            message = f"no endpoint {request.method} {path}; the event endpoints are {_ENDPOINTS}"
        elif exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            message = f"{request.method} is not allowed on {path}; use {allowed or 'POST'}"
        else:
            message = str(exc.detail)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, message, headers=exc.headers)

    async def validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        details = [{"index": None, "field": ".".join(str(p) for p in e["loc"]),
                    "message": e["msg"]} for e in exc.errors()]
        first = details[0] if details else {"field": None, "message": "invalid request"}
        return error_response(400, "invalid_request", f"'{first['field']}': {first['message']}",
                              details=details)

    async def store_error(_request: Request, exc: Exception) -> Response:
        log.error("the operational store failed: %s", exc)
        return error_response(
            503, "store_unavailable",
            "the event store is unavailable, nothing was stored; retry later",
            headers={"Retry-After": "5"},
        )

    async def growthloop_error(_request: Request, exc: Exception) -> Response:
        status = 404 if isinstance(exc, NotFoundError) else 400
        return error_response(status, "not_found" if status == 404 else "invalid_request",
                              str(exc))

    async def unexpected_error(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            500, "internal_error",
            "internal error, nothing was stored; retry later (the server log has the details)",
        )

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(AuthError, auth_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StoreError, store_error)
    for transient in (OperationalError, InterfaceError, PoolTimeoutError):  # DB down or busy
        app.add_exception_handler(transient, store_error)
    app.add_exception_handler(GrowthloopError, growthloop_error)
    app.add_exception_handler(Exception, unexpected_error)
