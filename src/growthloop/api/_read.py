"""Dependencies of the read endpoints: a key with the ``read`` scope, and the analytical store
opened for one request.

Read endpoints take the key as ``Authorization: Bearer KEY`` (or HTTP Basic username, as the
collection endpoints do). The analytical store is a DuckDB file that one process writes at a
time, so the API opens it read-only per request; while a command writes to it the API answers
503 with ``Retry-After`` (the answer to retry).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, cast

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from growthloop.api._deps import KeyCacheDep
from growthloop.api._errors import ApiError
from growthloop.errors import StoreError
from growthloop.store import AnalyticalStore
from growthloop.store._models import ApiKey

__all__ = ["AdminKeyDep", "ReadKeyDep", "analytical_store"]

_HINT = "create one with `growthloop keys create --name NAME --scope read`"


def _secret(request: Request) -> str:
    header = request.headers.get("authorization", "").strip()
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            user = ""
        if user:
            return user
    raise ApiError(
        401,
        "missing_key",
        f"send a key with the read scope as 'Authorization: Bearer KEY'; {_HINT}",
        headers={"WWW-Authenticate": 'Bearer realm="growthloop"'},
    )


async def _require(request: Request, keys: KeyCacheDep, scope: str) -> ApiKey:
    secret = _secret(request)
    key = keys.verify_cached(secret, scope)
    if key is None:
        key = await run_in_threadpool(keys.verify, secret, scope)
    return key


async def require_read_key(request: Request, keys: KeyCacheDep) -> ApiKey:
    """A key with the ``read`` scope (401/403 otherwise)."""
    return await _require(request, keys, "read")


async def require_admin_key(request: Request, keys: KeyCacheDep) -> ApiKey:
    """A key with the ``admin`` scope (401/403 otherwise)."""
    return await _require(request, keys, "admin")


ReadKeyDep = Annotated[ApiKey, Depends(require_read_key)]
AdminKeyDep = Annotated[ApiKey, Depends(require_admin_key)]


@contextmanager
def analytical_store(request: Request, *, write: bool = False) -> Iterator[AnalyticalStore]:
    """The workspace's analytical store for the duration of a request (read-only by default)."""
    path = cast(Path | None, getattr(request.app.state, "analytical_path", None))
    if path is None or not path.exists():
        raise ApiError(
            404,
            "no_analytical_store",
            "this server has no analytical store: start it with "
            "`growthloop serve --workspace DIR` and load data first",
        )
    try:
        store = AnalyticalStore.open(path) if write else AnalyticalStore.open_read_only(path)
    except StoreError as exc:
        raise ApiError(503, "store_busy", str(exc), headers={"Retry-After": "2"}) from None
    try:
        yield store
    finally:
        store.close()
