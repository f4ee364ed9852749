"""Group commit: the messages of requests that arrive together share one transaction.

Every accepted message must be committed before its request is answered, and a commit costs an
fsync. On SQLite (one writer at a time) the requests waiting on the event loop are written in one
transaction, run on the loop itself: handing each request to a worker thread was measured
slower (the GIL hand-offs cost more than the fsync), and a single writer gains nothing from
threads. While a commit runs, the loop waits (about 1 ms on an SSD). On PostgreSQL, which
commits in parallel, each request is written in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from starlette.concurrency import run_in_threadpool

from growthloop.ingest._inbox import AcceptResult, EventGroup, accept_event_groups, accept_events
from growthloop.ingest._segment import AnyMessage
from growthloop.store import OperationalStore

__all__ = ["InboxCommitter"]


class InboxCommitter:
    """Writes requests' messages to the event inbox, sharing commits between requests."""

    def __init__(self, store: OperationalStore) -> None:
        self.store = store
        self._group_commit = store.dialect == "sqlite"
        self._pending: list[tuple[EventGroup, asyncio.Future[AcceptResult]]] = []

    async def accept(
        self, *, key_id: str, messages: Sequence[AnyMessage], received_at: datetime
    ) -> AcceptResult:
        """Store ``messages``; return once they are committed."""
        if not self._group_commit:
            return await run_in_threadpool(accept_events, store=self.store, key_id=key_id,
                                           messages=messages, received_at=received_at)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AcceptResult] = loop.create_future()
        self._pending.append((EventGroup(key_id, messages, received_at), future))
        if len(self._pending) == 1:
            # Runs after the callbacks already due, so requests parsed meanwhile join in.
            loop.call_soon(self._commit)
        return await future

    def _commit(self) -> None:
        pending, self._pending = self._pending, []
        try:
            results = accept_event_groups(store=self.store, groups=[g for g, _ in pending])
        except Exception as exc:  # every request of the group fails; clients retry
            for _, future in pending:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(pending, results, strict=True):
            if not future.done():  # a request cancelled meanwhile (client gone) is still stored
                future.set_result(result)
