"""The Segment HTTP Tracking API: ``POST /v1/{identify,track,page,screen,group,alias,batch}``.

Compatible with Segment's and RudderStack's libraries pointed at this host: HTTP Basic auth with
the write key as username (or ``writeKey`` in the body), ``/v1/import`` as an alias of
``/v1/batch``, analytics.js's short paths (``/v1/t``, ``/v1/b``, ...) and its ``text/plain``
bodies, gzip bodies. Success is ``200 {"success": true, ...}``, returned only after the messages
were committed to the event inbox; a message whose ``messageId`` is already stored is counted
as a duplicate and not stored again, so retries are safe.

A batch with some invalid messages is accepted in part: the valid messages are stored and the
response (200) lists the others under ``rejected`` with their index, field and reason (they are
also logged). Segment's libraries retry only on 5xx and 429 and drop a batch on any other 4xx,
so answering 400 for one bad message would make them drop every good message with it, while
retrying would not fix the bad one. Only when no message of a batch is valid is the answer
400 (or 413 when every message was too large).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import anyio
from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import Response

from growthloop.api._committer import InboxCommitter
from growthloop.api._deps import (
    InboxDep,
    JsonBodyDep,
    ReceivedAtDep,
    SettingsDep,
    WriteKeyDep,
    payload_too_large,
)
from growthloop.api._errors import ApiError, ErrorBody, ErrorDetail, json_response
from growthloop.ingest._inbox import quarantine
from growthloop.ingest._segment import (
    MESSAGE_TYPES,
    MessageType,
    ParsedBatch,
    PayloadError,
    parse_batch,
    parse_message,
)
from growthloop.store._models import ApiKey

__all__ = ["Accepted", "router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["events"])


class Accepted(BaseModel):
    """The answer to an accepted request."""

    success: bool = Field(description="Always true (what Segment answers).")
    accepted: int = Field(description="Messages stored by this request.")
    duplicates: int = Field(description="Messages whose messageId was already stored.")
    rejected: list[ErrorDetail] = Field(
        description="Invalid messages of a batch that were not stored."
    )


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed JSON or invalid messages."},
    401: {"model": ErrorBody, "description": "No write key, or an unknown or revoked one."},
    403: {"model": ErrorBody, "description": "The key lacks the write scope."},
    413: {"model": ErrorBody, "description": "Over the size limit (see `limit` and `size`)."},
    415: {"model": ErrorBody, "description": "Not JSON, or an encoding other than gzip."},
}


def _request_body(schema: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


async def _quarantine(
    parsed: ParsedBatch, inbox: InboxCommitter, key: ApiKey, received_at: datetime,
    raws: list[Any] | None,
) -> None:
    """Keep the rejected messages and their reasons in ``event_rejects``."""
    problems = [(p.index, p.field, p.message) for p in parsed.problems]
    await anyio.to_thread.run_sync(
        lambda: quarantine(store=inbox.store, key_id=key.key_id, received_at=received_at,
                           problems=problems, raw_messages=raws)
    )


async def _store(
    parsed: ParsedBatch,
    inbox: InboxCommitter,
    key: ApiKey,
    received_at: datetime,
    *,
    single: bool = False,
    raws: list[Any] | None = None,
) -> Response:
    """Store the valid messages, or answer 400/413 when there is none. Rejected messages are
    quarantined in ``event_rejects`` either way."""
    if parsed.problems:
        await _quarantine(parsed, inbox, key, received_at, raws)
    if parsed.problems and not parsed.messages:
        details = [p.as_dict() for p in parsed.problems]
        first = parsed.problems[0]
        if all(p.too_large for p in parsed.problems):
            raise ApiError(413, "payload_too_large",
                           f"every message is over the size limit; {first.message}",
                           details=details)
        where = "" if single or first.index is None else f"message {first.index}: "
        count = len({p.index for p in parsed.problems})
        raise ApiError(400, "invalid_request",
                       f"{where}{first.message}" if count == 1
                       else f"no valid message; {count} invalid, the first at {where}"
                       f"{first.message}", details=details)
    result = await inbox.accept(key_id=key.key_id, messages=parsed.messages,
                                received_at=received_at)
    rejected = [p.as_dict() for p in parsed.problems]
    if rejected:
        log.warning("key %s: stored %d messages, rejected %d, the first ones: %s", key.key_id,
                    len(parsed.messages), len({p.index for p in parsed.problems}), rejected[:10])
    return json_response({"success": True, "accepted": result.accepted,
                          "duplicates": result.duplicates, "rejected": rejected})


@router.post(
    "/batch",
    summary="Send a batch of messages",
    response_model=Accepted,
    responses=_ERRORS,
    openapi_extra=_request_body("SegmentBatch"),
)
async def batch(
    body: JsonBodyDep,
    key: WriteKeyDep,
    inbox: InboxDep,
    settings: SettingsDep,
    received_at: ReceivedAtDep,
) -> Response:
    """Store up to ``max_request_bytes`` (500 KB) of messages of any type, each at most
    ``max_event_bytes`` (32 KB). Invalid messages are rejected one by one (listed in
    ``rejected``); the valid ones are stored."""
    try:
        parsed = parse_batch(body.data, received_at=received_at,
                             max_message_bytes=settings.max_event_bytes)
    except PayloadError as exc:
        raise ApiError(400, "invalid_request", str(exc),
                       details=[p.as_dict() for p in exc.problems]) from None
    raws = body.data.get("batch")
    return await _store(parsed, inbox, key, received_at,
                        raws=raws if isinstance(raws, list) else None)


router.add_api_route(
    "/import", batch, methods=["POST"], summary="Send a batch of messages (alias of /v1/batch)",
    response_model=Accepted, responses=_ERRORS, openapi_extra=_request_body("SegmentBatch"),
)
router.add_api_route("/b", batch, methods=["POST"], include_in_schema=False)


def _single_message_route(
    message_type: MessageType,
) -> Callable[..., Awaitable[Response]]:
    async def send(
        body: JsonBodyDep,
        key: WriteKeyDep,
        inbox: InboxDep,
        settings: SettingsDep,
        received_at: ReceivedAtDep,
    ) -> Response:
        if body.size > settings.max_event_bytes:
            raise payload_too_large(f"the {message_type} message", body.size,
                                    settings.max_event_bytes)
        parsed = parse_message(body.data, message_type=message_type, received_at=received_at)
        return await _store(parsed, inbox, key, received_at, single=True, raws=[body.data])

    send.__name__ = message_type
    send.__doc__ = (f"Store one `{message_type}` message (at most `max_event_bytes`, 32 KB). "
                    "The `type` field may be left out.")
    return send


_MODELS = {"identify": "IdentifyMessage", "track": "TrackMessage", "page": "PageMessage",
           "screen": "ScreenMessage", "group": "GroupMessage", "alias": "AliasMessage"}

for _type in MESSAGE_TYPES:
    _endpoint = _single_message_route(_type)
    router.add_api_route(
        f"/{_type}", _endpoint, methods=["POST"], summary=f"Send one {_type} message",
        response_model=Accepted, responses=_ERRORS, openapi_extra=_request_body(_MODELS[_type]),
    )
    router.add_api_route(f"/{_type[0]}", _endpoint, methods=["POST"], include_in_schema=False)
