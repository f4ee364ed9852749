"""Segment-spec messages (https://segment.com/docs/connections/spec/) as pydantic models.

``identify``, ``track``, ``page``, ``screen``, ``group`` and ``alias`` share the common fields
(``messageId``, ``userId``, ``anonymousId``, the four timestamps, ``context``, ``integrations``);
a ``batch`` holds a list of them. The rules are Segment's:

- every message needs ``userId`` or ``anonymousId`` (an empty string counts as missing);
  ``alias`` needs ``previousId`` and ``userId``; ``track`` needs ``event``; ``group`` needs
  ``groupId``;
- ``messageId`` is optional: Segment's libraries always send one, and a message without one gets a
  random UUID4 here, so a retry of such a message cannot be recognised as a duplicate;
- fields the spec does not name are kept as sent (Segment tolerates them), which also makes
  RudderStack's payloads (``rudderId``, ``channel``, ...) valid unchanged; numbers sent for string
  fields (``userId: 42``) become strings; ``writeKey`` is never stored;
- timestamps are ISO-8601 strings with or without an offset (no offset means UTC) and are
  normalised to naive UTC. As Segment does, ``receivedAt`` is the server's clock,
  ``originalTimestamp`` is the client's ``originalTimestamp`` or else its ``timestamp``, and
  ``timestamp`` is corrected for the device's clock skew:
  ``receivedAt - (sentAt - originalTimestamp)`` when both are known, else ``originalTimestamp``,
  else ``receivedAt``;
- a batch's ``context``, ``integrations`` and ``sentAt`` apply to each of its messages (keys of the
  message win).

:func:`parse_batch` and :func:`parse_message` validate raw JSON (already parsed) and return the
normalised messages plus one :class:`MessageProblem` per invalid or oversized message.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, TypeAlias

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails, PydanticCustomError

from growthloop.errors import IngestError

__all__ = [
    "MESSAGE_TYPES",
    "AliasMessage",
    "AnyMessage",
    "GroupMessage",
    "IdentifyMessage",
    "MessageProblem",
    "MessageType",
    "PageMessage",
    "ParsedBatch",
    "PayloadError",
    "ScreenMessage",
    "SegmentBatch",
    "SegmentMessage",
    "TrackMessage",
    "parse_batch",
    "parse_message",
]

MessageType: TypeAlias = Literal["identify", "track", "page", "screen", "group", "alias"]
MESSAGE_TYPES: tuple[MessageType, ...] = ("identify", "track", "page", "screen", "group", "alias")
MAX_MESSAGE_ID_LENGTH = 200  # the width of event_inbox.message_id


def _naive_utc(value: datetime) -> datetime:
    offset = value.utcoffset()
    if offset is None:
        return value
    try:
        return value.replace(tzinfo=None) - offset if offset else value.replace(tzinfo=None)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00
        raise ValueError("the date-time is out of range once converted to UTC") from exc


UtcDateTime = Annotated[datetime, AfterValidator(_naive_utc)]
"""An ISO-8601 date-time, normalised to naive UTC (no offset means UTC)."""

JsonObject = dict[str, Any]


class _Message(BaseModel):
    """Fields every Segment message shares."""

    model_config = ConfigDict(
        extra="allow",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        coerce_numbers_to_str=True,
    )

    message_id: str | None = Field(
        default=None,
        max_length=MAX_MESSAGE_ID_LENGTH,
        description="Unique id of the message; retries with the same id are stored once. "
        "A random UUID4 is generated when missing.",
    )
    user_id: str | None = Field(default=None, description="Your id of the user.")
    anonymous_id: str | None = Field(default=None, description="A device or cookie id.")
    timestamp: UtcDateTime | None = Field(
        default=None, description="When it happened (ISO-8601); corrected for clock skew."
    )
    original_timestamp: UtcDateTime | None = None
    sent_at: UtcDateTime | None = Field(default=None, description="When the client sent it.")
    received_at: UtcDateTime | None = Field(
        default=None, description="Set by the server; a value sent by the client is replaced."
    )
    context: JsonObject | None = Field(default=None, description="ip, library, page, traits, ...")
    integrations: JsonObject | None = None
    write_key: Any = Field(default=None, exclude=True, description="Never stored.")

    # (attribute, JSON name) of the stored fields, in order; set for each message class.
    _payload_fields: ClassVar[tuple[tuple[str, str], ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._payload_fields = tuple(
            (name, field.alias or name)
            for name, field in cls.model_fields.items()
            if not field.exclude
        )

    def payload(self) -> bytes:
        """The message as stored, in JSON: the fields the client sent or the server set, by
        their Segment names, then unknown fields as sent. The same as
        ``model_dump_json(exclude_unset=True)``, in half the time."""
        values, fields_set = self.__dict__, self.model_fields_set
        data = {alias: values[name] for name, alias in self._payload_fields if name in fields_set}
        if self.model_extra:
            data.update(self.model_extra)
        try:
            return orjson.dumps(data)
        except TypeError:  # a value JSON cannot hold (only when built from Python objects)
            return self.model_dump_json(exclude_unset=True).encode()

    @model_validator(mode="after")
    def _needs_an_identity(self) -> _Message:
        if not self.user_id and not self.anonymous_id:
            raise PydanticCustomError(
                "identity_missing",
                "{message_type} message needs 'userId' or 'anonymousId'",
                {"message_type": self._message_type()},
            )
        return self

    def _message_type(self) -> str:
        return str(getattr(self, "type", "message"))


class IdentifyMessage(_Message):
    """``identify``: who the user is, with traits."""

    type: Literal["identify"] = "identify"
    traits: JsonObject | None = None


class TrackMessage(_Message):
    """``track``: an action the user performed."""

    type: Literal["track"] = "track"
    event: str = Field(min_length=1, description="Name of the action, e.g. 'Order Completed'.")
    properties: JsonObject | None = None


class PageMessage(_Message):
    """``page``: a web page view."""

    type: Literal["page"] = "page"
    name: str | None = None
    category: str | None = None
    properties: JsonObject | None = None


class ScreenMessage(_Message):
    """``screen``: a mobile screen view."""

    type: Literal["screen"] = "screen"
    name: str | None = None
    category: str | None = None
    properties: JsonObject | None = None


class GroupMessage(_Message):
    """``group``: the user belongs to a group (company, account, household)."""

    type: Literal["group"] = "group"
    group_id: str = Field(min_length=1)
    traits: JsonObject | None = None


class AliasMessage(_Message):
    """``alias``: ``previousId`` and ``userId`` are the same user."""

    type: Literal["alias"] = "alias"
    previous_id: str = Field(min_length=1, description="The id the user was known by.")
    user_id: str = Field(min_length=1, description="The id the user is known by from now on.")

    @model_validator(mode="after")
    def _needs_an_identity(self) -> AliasMessage:  # alias needs previousId and userId only
        return self


AnyMessage: TypeAlias = (
    IdentifyMessage | TrackMessage | PageMessage | ScreenMessage | GroupMessage | AliasMessage
)
SegmentMessage: TypeAlias = Annotated[AnyMessage, Field(discriminator="type")]
"""Any message, told apart by its ``type``."""


class SegmentBatch(BaseModel):
    """The body of ``POST /v1/batch``: messages of any type plus shared fields."""

    model_config = ConfigDict(
        extra="allow",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
    )

    batch: list[SegmentMessage]
    context: JsonObject | None = Field(default=None, description="Merged into every message.")
    integrations: JsonObject | None = Field(default=None, description="Merged into every message.")
    sent_at: UtcDateTime | None = Field(default=None, description="Applies to every message.")
    write_key: str | None = Field(default=None, description="Alternative to HTTP Basic auth.")


class _BatchFields(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_alias=True, extra="ignore")

    context: JsonObject | None = None
    integrations: JsonObject | None = None
    sent_at: UtcDateTime | None = None


_MESSAGES = TypeAdapter(list[SegmentMessage])


@dataclass(frozen=True, slots=True)
class MessageProblem:
    """Why one message was not accepted. ``index`` is its position in the batch (0 for a
    single-message request, ``None`` for the request as a whole); ``field`` is a dotted path."""

    index: int | None
    field: str | None
    message: str
    too_large: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """Valid, normalised messages and the problems of the others."""

    messages: list[AnyMessage]
    problems: list[MessageProblem] = field(default_factory=list)


class PayloadError(IngestError):
    """The request as a whole is not a valid Segment payload; nothing from it was accepted."""

    def __init__(self, message: str, problems: Sequence[MessageProblem] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


def _describe(value: Any) -> str:
    text = orjson.dumps(value).decode() if not isinstance(value, bytes) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _problem(error: ErrorDetails, index: int | None, message_type: str | None) -> MessageProblem:
    """Turn one pydantic error into a one-line, field-named problem."""
    kind, loc = error["type"], error["loc"]
    path = [str(part) for part in loc if not isinstance(part, int)]
    if message_type is None and path and path[0] in MESSAGE_TYPES:
        message_type = path[0]
    if path and path[0] == message_type:
        path = path[1:]
    name = ".".join(path) or None
    what = f"{message_type} message" if message_type else "message"
    value = error.get("input")
    if kind == "missing":
        text = f"{what} needs '{name}'"
    elif kind == "identity_missing":
        name, text = "userId", error["msg"]
    elif kind == "union_tag_not_found":
        name, text = "type", f"message needs 'type', one of {', '.join(MESSAGE_TYPES)}"
    elif kind == "union_tag_invalid":
        name, tag = "type", error.get("ctx", {}).get("tag")
        text = f"unknown type '{tag}'; use one of {', '.join(MESSAGE_TYPES)}"
    elif kind in ("model_attributes_type", "model_type", "dict_type") and name is None:
        text = f"message must be a JSON object, got {_describe(value)}"
    elif kind == "dict_type":
        text = f"'{name}' must be a JSON object, got {_describe(value)}"
    elif kind == "string_too_short":
        text = f"{what} needs '{name}' (it is empty)"
    elif kind.startswith(("datetime", "date_")):
        text = (
            f"'{name}' must be an ISO-8601 date-time such as 2024-05-01T12:00:00Z, "
            f"got {_describe(value)}"
        )
    elif kind == "value_error":
        text = f"'{name}' is invalid: {error.get('ctx', {}).get('error', error['msg'])}"
    else:
        text = f"'{name}': {error['msg'][:1].lower()}{error['msg'][1:]}, got {_describe(value)}"
    return MessageProblem(index=index, field=name, message=text)


def _message_type_of(raw: Any) -> str | None:
    if isinstance(raw, Mapping):
        tag = raw.get("type")
        if isinstance(tag, str) and tag in MESSAGE_TYPES:
            return tag
    return None


def _batch_fields(body: Mapping[str, Any]) -> _BatchFields:
    try:
        return _BatchFields.model_validate(body)
    except ValidationError as exc:
        problems = [_problem(e, None, None) for e in exc.errors()]
        raise PayloadError(f"invalid batch: {problems[0].message}", problems) from exc


def _set(message: _Message, name: str, value: Any) -> None:
    # Plain attribute writes (no validation): pydantic's __setattr__ costs ~1 us per call,
    # which is a tenth of this module's time per message.
    message.__dict__[name] = value
    message.__pydantic_fields_set__.add(name)


def _normalise(
    messages: Sequence[_Message],
    *,
    received_at: datetime,
    shared: _BatchFields,
) -> None:
    """Fill ``messageId`` and the timestamps, and merge the batch's shared fields (in place)."""
    for message in messages:
        if not message.message_id:
            _set(message, "message_id", str(uuid.uuid4()))
        original = message.original_timestamp or message.timestamp
        sent = message.sent_at or shared.sent_at
        timestamp = original or received_at
        if original is not None:
            _set(message, "original_timestamp", original)
            if sent is not None:
                try:
                    timestamp = received_at - (sent - original)
                except OverflowError:
                    timestamp = original
        if sent is not None:
            _set(message, "sent_at", sent)
        _set(message, "received_at", received_at)
        _set(message, "timestamp", timestamp)
        if shared.context:
            _set(message, "context", {**shared.context, **(message.context or {})})
        if shared.integrations:
            _set(message, "integrations", {**shared.integrations, **(message.integrations or {})})


def _validate(
    raws: Sequence[Any], indexes: Sequence[int], problems: list[MessageProblem]
) -> list[AnyMessage]:
    """Validate ``raws`` (at batch positions ``indexes``); report the invalid ones."""
    try:
        return _MESSAGES.validate_python(raws)
    except ValidationError as exc:
        bad: set[int] = set()
        for error in exc.errors():
            position = int(error["loc"][0])
            bad.add(position)
            problems.append(_problem(error, indexes[position], _message_type_of(raws[position])))
    good = [i for i in range(len(raws)) if i not in bad]
    return _MESSAGES.validate_python([raws[i] for i in good]) if good else []


def _too_large(raw: Any, index: int, limit: int) -> MessageProblem | None:
    size = len(orjson.dumps(raw))
    if size <= limit:
        return None
    return MessageProblem(
        index=index,
        field=None,
        message=f"message is {size} bytes; the limit is {limit} bytes per message",
        too_large=True,
    )


def parse_batch(
    body: Mapping[str, Any],
    *,
    received_at: datetime,
    max_message_bytes: int | None = None,
) -> ParsedBatch:
    """Validate and normalise the body of a Segment ``batch`` request.

    Invalid messages, and messages whose JSON is longer than ``max_message_bytes``, are reported
    in :attr:`ParsedBatch.problems`; the others are returned normalised (see the module doc).
    Raises :class:`PayloadError` when the body as a whole is unusable (no ``batch`` list, an
    invalid shared ``sentAt``/``context``/``integrations``).
    """
    raws = body.get("batch")
    if not isinstance(raws, list):
        problem = MessageProblem(
            None,
            "batch",
            "a batch request needs 'batch', a list of messages"
            if raws is None
            else f"'batch' must be a list of messages, got {_describe(raws)}",
        )
        raise PayloadError(problem.message, [problem])
    shared = _batch_fields(body)
    problems: list[MessageProblem] = []
    indexes = list(range(len(raws)))
    if max_message_bytes is not None:
        for i, raw in enumerate(raws):
            if (oversize := _too_large(raw, i, max_message_bytes)) is not None:
                problems.append(oversize)
        if problems:
            oversized = {p.index for p in problems}
            indexes = [i for i in indexes if i not in oversized]
            raws = [raws[i] for i in indexes]
    messages = _validate(raws, indexes, problems)
    _normalise(messages, received_at=received_at, shared=shared)
    problems.sort(key=lambda p: p.index or 0)
    return ParsedBatch(messages=messages, problems=problems)


def parse_message(
    body: Mapping[str, Any],
    *,
    message_type: MessageType,
    received_at: datetime,
) -> ParsedBatch:
    """Validate and normalise the body of a single-message request (``POST /v1/track``, ...).

    ``message_type`` comes from the endpoint and replaces any ``type`` in the body, as Segment
    does. A problem is reported with index 0.
    """
    raw = {**body, "type": message_type}
    problems: list[MessageProblem] = []
    messages = _validate([raw], [0], problems)
    _normalise(messages, received_at=received_at, shared=_BatchFields())
    return ParsedBatch(messages=messages, problems=problems)
