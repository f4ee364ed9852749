"""Dependencies of the routes, as ``Annotated`` aliases.

``StoreDep``, ``SettingsDep``, ``KeyCacheDep``, ``InboxDep`` and ``ReceivedAtDep`` (the app's
clock) come from the app's state, set by :func:`~growthloop.api.create_app`. ``JsonBodyDep``
reads the request body within the size limit, gunzips it and parses it as one JSON object.
``WriteKeyDep`` is the verified key with the ``write`` scope, taken from HTTP Basic auth (the key
as username, empty password) or from ``writeKey`` in the body, as Segment accepts both. The body
is read before the key is checked, since the key may be in it.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, cast

import orjson
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from growthloop.api._committer import InboxCommitter
from growthloop.api._errors import ApiError
from growthloop.config import ServerConfig
from growthloop.keys import KeyCache
from growthloop.store import OperationalStore
from growthloop.store._models import ApiKey

__all__ = [
    "InboxDep",
    "JsonBody",
    "JsonBodyDep",
    "KeyCacheDep",
    "ReceivedAtDep",
    "SettingsDep",
    "StoreDep",
    "WriteKeyDep",
    "payload_too_large",
    "utc_now",
]

_JSON_MEDIA_TYPES = ("", "application/json", "text/plain")  # analytics.js sends text/plain
_KEY_HINT = "create one with `growthloop keys create --name NAME --scope write`"


async def get_store(request: Request) -> OperationalStore:
    return cast(OperationalStore, request.app.state.store)


async def get_settings(request: Request) -> ServerConfig:
    return cast(ServerConfig, request.app.state.settings)


async def get_key_cache(request: Request) -> KeyCache:
    return cast(KeyCache, request.app.state.keys)


async def get_inbox(request: Request) -> InboxCommitter:
    return cast(InboxCommitter, request.app.state.inbox)


def utc_now() -> datetime:
    """The current time as naive UTC (how the stores keep times)."""
    return datetime.now(UTC).replace(tzinfo=None)


async def get_received_at(request: Request) -> datetime:
    """The time the request is handled, from the app's clock (naive UTC)."""
    clock = cast(Callable[[], datetime], request.app.state.clock)
    return clock()


StoreDep = Annotated[OperationalStore, Depends(get_store)]
SettingsDep = Annotated[ServerConfig, Depends(get_settings)]
KeyCacheDep = Annotated[KeyCache, Depends(get_key_cache)]
InboxDep = Annotated[InboxCommitter, Depends(get_inbox)]
ReceivedAtDep = Annotated[datetime, Depends(get_received_at)]


@dataclass(frozen=True, slots=True)
class JsonBody:
    """A parsed request body and its size in bytes (after decompression)."""

    data: dict[str, Any]
    size: int


def payload_too_large(what: str, size: int, limit: int, *, at_least: bool = False) -> ApiError:
    """The 413 error for ``what`` (e.g. "request body") of ``size`` bytes over ``limit``."""
    amount = f"more than {limit} bytes" if at_least else f"{size} bytes"
    return ApiError(
        413,
        "payload_too_large",
        f"{what} is {amount}; the limit is {limit} bytes: send smaller batches "
        "(analytics libraries split batches by size on their own)",
        limit=limit,
        size=size,
    )


def _gunzip(raw: bytes, limit: int) -> bytes:
    """Decompress gzip members; never produce more than ``limit`` + 1 bytes (gzip bombs)."""
    out = bytearray()
    data = raw
    while data:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(data, limit + 1 - len(out))
        except zlib.error as exc:
            raise ApiError(400, "invalid_request", f"the body is marked Content-Encoding: gzip "
                           f"but is not valid gzip ({exc}); compress it with gzip or drop the "
                           "header") from None
        if len(out) > limit:
            raise payload_too_large("the decompressed request body", len(out), limit,
                                    at_least=True)
        if not inflater.eof:
            raise ApiError(400, "invalid_request",
                           "the gzip body is truncated; send the whole compressed body")
        data = inflater.unused_data
    return bytes(out)


async def read_json_body(request: Request, settings: SettingsDep) -> JsonBody:
    """The body as one JSON object, within ``settings.max_request_bytes``.

    415 for a content type other than JSON (``application/json``, ``*+json``, or ``text/plain``
    as analytics.js sends) or an encoding other than gzip; 413 when the declared, received or
    decompressed size is over the limit; 400 when it is not a JSON object.
    """
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in _JSON_MEDIA_TYPES and not media_type.endswith("+json"):
        raise ApiError(415, "unsupported_media_type",
                       f"Content-Type {media_type!r} is not supported; send the events as JSON "
                       "with Content-Type: application/json")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", ""):
        raise ApiError(415, "unsupported_media_type",
                       f"Content-Encoding {encoding!r} is not supported; send the body "
                       "uncompressed or with Content-Encoding: gzip")
    limit = settings.max_request_bytes
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise ApiError(400, "invalid_request",
                           f"Content-Length {declared!r} is not a number of bytes")
        if int(declared) > limit:
            raise payload_too_large("the request body", int(declared), limit)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise payload_too_large("the request body", len(raw), limit, at_least=True)
    body = _gunzip(bytes(raw), limit) if encoding == "gzip" else bytes(raw)
    if not body:
        raise ApiError(400, "invalid_request",
                       "the request body is empty; send a JSON object (a message or a batch)")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_request",
                       f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", f"the request body must be a JSON object, got "
                       f"{type(data).__name__ if data is not None else 'null'}")
    return JsonBody(data=data, size=len(body))


JsonBodyDep = Annotated[JsonBody, Depends(read_json_body)]


def _basic_username(header: str) -> str:
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = None
        if decoded is not None:
            return decoded.partition(":")[0]
    raise ApiError(
        401, "invalid_authorization",
        "the Authorization header must be HTTP Basic with the write key as username and an "
        "empty password (base64 of 'KEY:')",
        headers={"WWW-Authenticate": 'Basic realm="growthloop"'},
    )


async def require_write_key(request: Request, body: JsonBodyDep, keys: KeyCacheDep) -> ApiKey:
    """The key of the request, verified for the ``write`` scope (401/403 otherwise)."""
    header = request.headers.get("authorization")
    secret = _basic_username(header) if header else body.data.get("writeKey")
    if not secret or not isinstance(secret, str):
        raise ApiError(
            401, "missing_write_key",
            "no write key: send it as the HTTP Basic username with an empty password, or as "
            f"'writeKey' in the JSON body; {_KEY_HINT}",
            headers={"WWW-Authenticate": 'Basic realm="growthloop"'},
        )
    key = keys.verify_cached(secret, "write")
    if key is None:
        key = await run_in_threadpool(keys.verify, secret, "write")
    return key


WriteKeyDep = Annotated[ApiKey, Depends(require_write_key)]
