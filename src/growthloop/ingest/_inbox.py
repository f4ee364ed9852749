"""The event inbox: Segment messages accepted by the API, stored before the API answers.

:func:`accept_events` writes one request's messages in one transaction, with
``INSERT ... ON CONFLICT (message_id) DO NOTHING`` so a retried message is stored once, and
returns only after the commit (SQLite runs in WAL mode with ``synchronous=FULL``, see
:mod:`growthloop.store._operational`). A later stage reads the inbox in arrival order with
:func:`read_unflushed` and marks what it copied with :func:`mark_flushed`.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import Engine, Insert, Table, select, update
from sqlalchemy.dialects import postgresql

from growthloop.errors import StoreError
from growthloop.ingest._segment import AnyMessage
from growthloop.store import OperationalStore
from growthloop.store._models import EventReject, InboxEvent

__all__ = [
    "AcceptResult",
    "EventGroup",
    "InboxRow",
    "accept_event_groups",
    "accept_events",
    "mark_flushed",
    "read_unflushed",
]

_INBOX = cast(Table, InboxEvent.__table__)
_CHUNK = 1000  # ids per UPDATE, well under SQLite's bound-parameter limit


@dataclass(frozen=True, slots=True)
class AcceptResult:
    """How many messages were stored, and how many were already in the inbox."""

    accepted: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One stored message; ``payload`` is the normalised Segment message."""

    inbox_id: int
    message_id: str
    payload: dict[str, Any]
    received_at: datetime
    type: str
    key_id: str


def _insert_statement(dialect: str) -> Insert:
    if dialect == "postgresql":
        pg_insert = postgresql.insert(_INBOX).on_conflict_do_nothing(index_elements=["message_id"])
        return pg_insert.returning(_INBOX.c.message_id)
    raise StoreError(
        f"the event inbox supports SQLite and PostgreSQL, not {dialect!r}; "
        "set the operational store URL to one of them"
    )


# On SQLite the rows go straight to the driver's executemany (C), which is 3x cheaper than
# SQLAlchemy's per-row parameter processing; its rowcount is the number of rows inserted.
_SQLITE_INSERT = (
    "INSERT INTO event_inbox (message_id, key_id, type, payload, received_at) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING"
)


def _sqlite_time(value: datetime) -> str:
    """A naive datetime as SQLAlchemy's SQLite ``DateTime`` stores it."""
    return value.isoformat(sep=" ", timespec="microseconds")


_POSTGRESQL_INSERT = _insert_statement("postgresql")

# SQLite has one writer at a time; threads of this process queue on a lock instead of on
# SQLite's busy handler, whose sleeps (up to 100 ms each) would stall the API under load.
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_SQLITE_WRITERS_LOCK = threading.Lock()


@contextmanager
def _one_writer(engine: Engine) -> Iterator[None]:
    if engine.dialect.name != "sqlite":
        yield
        return
    with _SQLITE_WRITERS_LOCK:
        lock = _SQLITE_WRITERS.setdefault(engine, threading.Lock())
    with lock:
        yield


@dataclass(frozen=True, slots=True)
class EventGroup:
    """The messages of one request, for :func:`accept_event_groups`."""

    key_id: str
    messages: Sequence[AnyMessage]
    received_at: datetime


def accept_events(
    *,
    store: OperationalStore,
    key_id: str,
    messages: Sequence[AnyMessage],
    received_at: datetime,
) -> AcceptResult:
    """Store ``messages`` (normalised, see :func:`~growthloop.ingest._segment.parse_batch`) in
    one committed transaction; a message whose ``messageId`` is already stored is skipped.

    A message without ``messageId`` gets a random UUID4. Returns after the commit.
    """
    group = EventGroup(key_id=key_id, messages=messages, received_at=received_at)
    return accept_event_groups(store=store, groups=[group])[0]


def accept_event_groups(
    *, store: OperationalStore, groups: Sequence[EventGroup]
) -> list[AcceptResult]:
    """:func:`accept_events` for several requests in one transaction: one commit (one fsync)
    for all, and one result per group (a message in two groups counts for the first)."""
    dialect = store.dialect
    if dialect == "sqlite":
        return _accept_sqlite(store.engine, groups)
    statement = _POSTGRESQL_INSERT if dialect == "postgresql" else _insert_statement(dialect)
    results = []
    with store.engine.begin() as connection:
        for group in groups:
            params = [
                {
                    "message_id": message.message_id or str(uuid.uuid4()),
                    "key_id": group.key_id,
                    "type": message.type,
                    "payload": message.payload().decode(),
                    "received_at": group.received_at,
                }
                for message in group.messages
            ]
            inserted = len(connection.execute(statement, params).all()) if params else 0
            results.append(AcceptResult(accepted=inserted, duplicates=len(params) - inserted))
    return results


def _accept_sqlite(engine: Engine, groups: Sequence[EventGroup]) -> list[AcceptResult]:
    batches = []
    for group in groups:
        at = _sqlite_time(group.received_at)
        batches.append(
            [
                (
                    message.message_id or str(uuid.uuid4()),
                    group.key_id,
                    message.type,
                    message.payload().decode(),
                    at,
                )
                for message in group.messages
            ]
        )
    results = []
    with _one_writer(engine), engine.begin() as connection:
        cursor = connection.connection.cursor()
        try:
            for rows in batches:
                inserted = 0
                if rows:
                    cursor.executemany(_SQLITE_INSERT, rows)
                    inserted = cursor.rowcount
                results.append(AcceptResult(accepted=inserted, duplicates=len(rows) - inserted))
        finally:
            cursor.close()
    return results


def read_unflushed(*, store: OperationalStore, limit: int) -> list[InboxRow]:
    """The oldest ``limit`` messages not yet flushed, in arrival (``inbox_id``) order."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    query = (
        select(
            _INBOX.c.inbox_id,
            _INBOX.c.message_id,
            _INBOX.c.payload,
            _INBOX.c.received_at,
            _INBOX.c.type,
            _INBOX.c.key_id,
        )
        .where(_INBOX.c.flushed_at.is_(None))
        .order_by(_INBOX.c.inbox_id)
        .limit(limit)
    )
    with store.engine.connect() as connection:
        result = connection.execute(query).all()
    return [
        InboxRow(
            inbox_id=row.inbox_id,
            message_id=row.message_id,
            payload=orjson.loads(row.payload),
            received_at=row.received_at,
            type=row.type,
            key_id=row.key_id,
        )
        for row in result
    ]


def mark_flushed(*, store: OperationalStore, inbox_ids: Sequence[int], at: datetime) -> int:
    """Set ``flushed_at`` on the given rows (one transaction); return how many changed."""
    ids = list(inbox_ids)
    changed = 0
    with _one_writer(store.engine), store.engine.begin() as connection:
        for start in range(0, len(ids), _CHUNK):
            statement = (
                update(_INBOX)
                .where(_INBOX.c.inbox_id.in_(ids[start : start + _CHUNK]))
                .where(_INBOX.c.flushed_at.is_(None))
                .values(flushed_at=at)
            )
            changed += connection.execute(statement).rowcount
    return changed


_MAX_QUARANTINED_BYTES = 64_000


def quarantine(
    *,
    store: OperationalStore,
    key_id: str,
    received_at: datetime,
    problems: Sequence[tuple[int | None, str | None, str]],
    raw_messages: Sequence[Any] | None,
) -> int:
    """Keep rejected messages in ``event_rejects`` with their reason; return how many rows.

    ``problems`` are ``(index, field, reason)``; ``raw_messages`` the request's messages as sent
    (a payload over 64 KB is cut, marked as such).
    """
    rows = []
    for index, field, reason in problems:
        raw = None
        if raw_messages is not None and index is not None and 0 <= index < len(raw_messages):
            try:
                raw = orjson.dumps(raw_messages[index]).decode()
            except TypeError:
                raw = repr(raw_messages[index])
            if len(raw) > _MAX_QUARANTINED_BYTES:
                raw = raw[:_MAX_QUARANTINED_BYTES] + "…(cut)"
        rows.append(
            {
                "key_id": key_id,
                "received_at": received_at,
                "message_index": index,
                "field": field,
                "reason": reason,
                "payload": raw,
            }
        )
    if not rows:
        return 0
    with _one_writer(store.engine), store.engine.begin() as connection:
        connection.execute(cast(Table, EventReject.__table__).insert(), rows)
    return len(rows)
