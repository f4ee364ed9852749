"""Events accepted by the API reach the analytical store through the inbox flush."""

from __future__ import annotations

from datetime import datetime

from growthloop import Workspace
from growthloop.ingest._flush import flush_inbox
from growthloop.ingest._inbox import accept_events, read_unflushed
from growthloop.ingest._segment import parse_batch

RECEIVED = datetime(2024, 5, 1, 12, 0, 0)


def _accept(ws: Workspace, batch: list[dict[str, object]]) -> None:
    parsed = parse_batch({"batch": batch}, received_at=RECEIVED)
    assert not parsed.problems
    accept_events(
        store=ws.operational, key_id="key_test", messages=parsed.messages, received_at=RECEIVED
    )


def test_flush_moves_events_once(workspace: Workspace) -> None:
    _accept(
        workspace,
        [
            {
                "type": "identify",
                "messageId": "i1",
                "userId": "C1",
                "anonymousId": "a1",
                "traits": {"email": "Ann@Example.com"},
                "timestamp": "2024-05-01T11:00:00+02:00",
            },
            {
                "type": "track",
                "messageId": "t1",
                "anonymousId": "a1",
                "event": "Product Viewed",
                "properties": {"product_id": "P1"},
            },
            {"type": "page", "messageId": "p1", "userId": "C1", "name": "Home"},
        ],
    )
    result = flush_inbox(operational=workspace.operational, analytical=workspace.analytical)
    assert (result.events, result.loaded, result.rejected) == (3, 3, 0)
    assert read_unflushed(store=workspace.operational, limit=10) == []
    store = workspace.analytical
    rows = {
        r["message_id"]: r
        for r in store.rows("SELECT message_id, timestamp, canonical_id FROM v_events")
    }
    assert str(rows["i1"]["timestamp"]) == "2024-05-01 09:00:00"
    # No timestamp sent: Segment uses the time the API received it.
    assert str(rows["t1"]["timestamp"]) == "2024-05-01 12:00:00"
    assert {r["canonical_id"] for r in rows.values()} == {"C1"}
    assert store.scalar("SELECT canonical_id FROM identities WHERE kind = 'email'") == "C1"
    # A retry of the same message and a second flush store nothing twice.
    _accept(workspace, [{"type": "page", "messageId": "p1", "userId": "C1", "name": "Home"}])
    again = flush_inbox(operational=workspace.operational, analytical=workspace.analytical)
    assert again.events == 0
    assert store.count("events") == 3
