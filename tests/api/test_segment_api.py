"""The Segment-compatible event API over real HTTP (in process) on a real workspace.

Every test runs on SQLite, and on PostgreSQL when GROWTHLOOP_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import anyio
import httpx
import orjson
import pytest
from sqlalchemy.exc import OperationalError

from growthloop.api import create_app
from growthloop.api._committer import InboxCommitter
from growthloop.ingest._inbox import read_unflushed
from growthloop.keys import CreatedKey, create_key, revoke_key
from growthloop.workspace import Workspace

pytestmark = pytest.mark.anyio

KEY_HINT = "create one with `growthloop keys create --name NAME --scope write`"


def error(code: str, message: str, details: list[dict[str, Any]] | None = None,
          **extra: Any) -> dict[str, Any]:
    """The body of every error response."""
    return {"error": message, "code": code, "message": message, "details": details or [],
            **extra}


def ok(accepted: int, duplicates: int = 0, rejected: list[dict[str, Any]] | None = None
       ) -> dict[str, Any]:
    return {"success": True, "accepted": accepted, "duplicates": duplicates,
            "rejected": rejected or []}


def basic(secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{secret}:".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def stored(ws: Workspace) -> dict[str, dict[str, Any]]:
    """Inbox payloads by messageId."""
    return {row.message_id: row.payload
            for row in read_unflushed(store=ws.operational, limit=10_000)}


TRACK = {"userId": "u1", "event": "Order Completed", "messageId": "m-1",
         "properties": {"revenue": 42.5}}


# --- storing -----------------------------------------------------------------------------


async def test_track_is_stored_before_the_answer(
    client: httpx.AsyncClient, write_key: CreatedKey, ws: Workspace
) -> None:
    response = await client.post("/v1/track", json=TRACK, headers=basic(write_key.secret))
    assert response.status_code == 200
    assert response.json() == ok(1)
    rows = read_unflushed(store=ws.operational, limit=10)
    assert [(r.message_id, r.type, r.key_id) for r in rows] == [
        ("m-1", "track", write_key.key_id)]
    payload = rows[0].payload
    assert payload["event"] == "Order Completed"
    assert payload["properties"] == {"revenue": 42.5}
    assert payload["type"] == "track"
    assert payload["receivedAt"] == payload["timestamp"]  # no timestamp sent: receivedAt
    assert rows[0].received_at.isoformat() == payload["receivedAt"]


async def test_retried_message_is_stored_once(
    client: httpx.AsyncClient, write_key: CreatedKey, ws: Workspace
) -> None:
    first = await client.post("/v1/track", json=TRACK, headers=basic(write_key.secret))
    again = await client.post("/v1/track", json=TRACK, headers=basic(write_key.secret))
    assert first.json() == ok(1)
    assert again.status_code == 200
    assert again.json() == ok(0, duplicates=1)
    batch = {"batch": [{**TRACK, "type": "track"}, {**TRACK, "type": "track", "messageId": "m-2"},
                       {**TRACK, "type": "track", "messageId": "m-2"}]}
    response = await client.post("/v1/batch", json=batch, headers=basic(write_key.secret))
    assert response.json() == ok(1, duplicates=2)
    assert sorted(stored(ws)) == ["m-1", "m-2"]


async def test_batch_of_every_type(
    client: httpx.AsyncClient, write_key: CreatedKey, ws: Workspace
) -> None:
    batch = [
        {"type": "identify", "messageId": "i", "userId": "C1", "anonymousId": "a1",
         "traits": {"email": "ann@example.com", "plan": None}},
        {"type": "track", "messageId": "t", "anonymousId": "a1", "event": "Signed Up"},
        {"type": "page", "messageId": "p", "userId": "C1", "name": "Pricing",
         "category": "Docs", "properties": {"path": "/pricing"}},
        {"type": "screen", "messageId": "s", "userId": "C1", "name": "Home"},
        {"type": "group", "messageId": "g", "userId": "C1", "groupId": "acme",
         "traits": {"employees": 40}},
        {"type": "alias", "messageId": "al", "previousId": "a1", "userId": "C1"},
    ]
    response = await client.post("/v1/batch", json={"batch": batch},
                                 headers=basic(write_key.secret))
    assert response.json() == ok(6)
    rows = {row.message_id: row for row in read_unflushed(store=ws.operational, limit=10)}
    assert {m: r.type for m, r in rows.items()} == {
        "i": "identify", "t": "track", "p": "page", "s": "screen", "g": "group", "al": "alias"}
    assert rows["al"].payload["previousId"] == "a1"
    assert rows["al"].payload["userId"] == "C1"
    assert rows["i"].payload["userId"] == "C1"
    assert rows["i"].payload["anonymousId"] == "a1"
    assert rows["i"].payload["traits"] == {"email": "ann@example.com", "plan": None}
    assert rows["g"].payload["groupId"] == "acme"
    assert rows["p"].payload["category"] == "Docs"


async def test_batch_shared_fields_and_clock_skew(
    client: httpx.AsyncClient, write_key: CreatedKey, ws: Workspace
) -> None:
    body = {
        "batch": [{"type": "track", "messageId": "t", "userId": "u", "event": "E",
                   "timestamp": "2024-05-01T12:00:00+02:00", "context": {"ip": "10.0.0.1"}}],
        "context": {"ip": "192.0.2.1", "library": {"name": "analytics-python"}},
        "integrations": {"All": True},
        "sentAt": "2024-05-01T10:05:00Z",
        "writeKey": write_key.secret,
    }
    response = await client.post("/v1/batch", json=body)
    assert response.json() == ok(1)
    payload = stored(ws)["t"]
    assert payload["context"] == {"ip": "10.0.0.1", "library": {"name": "analytics-python"}}
    assert payload["integrations"] == {"All": True}
    assert payload["originalTimestamp"] == "2024-05-01T10:00:00"
    assert payload["sentAt"] == "2024-05-01T10:05:00"
    # timestamp = receivedAt - (sentAt - originalTimestamp): 5 minutes before receipt.
    received = payload["receivedAt"]
    assert datetime.fromisoformat(payload["timestamp"]) == (
        datetime.fromisoformat(received) - timedelta(minutes=5))
    assert "writeKey" not in payload


async def test_stored_payload_is_the_normalised_message(write_key: CreatedKey,
                                                        ws: Workspace) -> None:
    app = create_app(store=ws.operational, clock=lambda: datetime(2024, 5, 1, 12, 0, 0))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as http:
        response = await http.post("/v1/alias", json={
            "previousId": "anon-1", "userId": 42, "messageId": "a-1", "writeKey": "ignored",
            "timestamp": "2024-05-01T13:59:00+02:00", "sentAt": "2024-05-01T14:00:00+02:00",
        }, headers=basic(write_key.secret))
    assert response.json() == ok(1)
    [row] = read_unflushed(store=ws.operational, limit=10)
    assert (row.message_id, row.type, row.received_at) == ("a-1", "alias",
                                                           datetime(2024, 5, 1, 12, 0, 0))
    assert row.payload == {
        "type": "alias",
        "messageId": "a-1",
        "previousId": "anon-1",
        "userId": "42",
        "timestamp": "2024-05-01T11:59:00",
        "originalTimestamp": "2024-05-01T11:59:00",
        "sentAt": "2024-05-01T12:00:00",
        "receivedAt": "2024-05-01T12:00:00",
    }


async def test_rudderstack_payload_is_accepted_unchanged(
    client: httpx.AsyncClient, write_key: CreatedKey, ws: Workspace
) -> None:
    message = {
        "type": "track", "event": "Product Added", "messageId": "rs-1", "anonymousId": "anon-7",
        "rudderId": "4a9c6b2e-7d1f", "channel": "web", "originalTimestamp":
        "2024-05-01T09:00:00.000Z", "sentAt": "2024-05-01T09:00:01.000Z",
        "properties": {"sku": "A1"}, "context": {"library": {"name": "RudderLabs JavaScript SDK"}},
    }
    response = await client.post("/v1/batch", json={"batch": [message]},
                                 headers=basic(write_key.secret))
    assert response.json() == ok(1)
    payload = stored(ws)["rs-1"]
    assert payload["rudderId"] == "4a9c6b2e-7d1f"
    assert payload["channel"] == "web"
    assert payload["originalTimestamp"] == "2024-05-01T09:00:00"


async def test_analytics_js_short_paths_text_plain_and_import(
    client: httpx.AsyncClient, write_key: CreatedKey, ws: Workspace
) -> None:
    # analytics.js posts text/plain (no CORS preflight) with writeKey in the body.
    body = orjson.dumps({"event": "Clicked", "anonymousId": "a", "messageId": "js-1",
                         "writeKey": write_key.secret})
    response = await client.post("/v1/t", content=body, headers={"Content-Type": "text/plain"})
    assert response.json() == ok(1)
    batch: dict[str, Any] = {"batch": [{"type": "page", "anonymousId": "a", "messageId": "js-2"}],
                             "writeKey": write_key.secret}
    assert (await client.post("/v1/b", json=batch)).json() == ok(1)
    batch["batch"][0]["messageId"] = "imp-1"
    assert (await client.post("/v1/import", json=batch)).json() == ok(1)
    assert sorted(stored(ws)) == ["imp-1", "js-1", "js-2"]


async def test_gzip_body(client: httpx.AsyncClient, write_key: CreatedKey, ws: Workspace) -> None:
    body = gzip.compress(orjson.dumps({"batch": [{**TRACK, "type": "track"}]}))
    headers = {**basic(write_key.secret), "Content-Encoding": "gzip",
               "Content-Type": "application/json"}
    response = await client.post("/v1/batch", content=body, headers=headers)
    assert response.json() == ok(1)
    assert list(stored(ws)) == ["m-1"]


async def test_cors_preflight_for_browsers(client: httpx.AsyncClient) -> None:
    response = await client.options("/v1/t", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"


# --- authentication -------------------------------------------------------------------------


async def test_no_key(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/track", json=TRACK)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="growthloop"'
    assert response.json() == error(
        "missing_write_key",
        "no write key: send it as the HTTP Basic username with an empty password, or as "
        f"'writeKey' in the JSON body; {KEY_HINT}")


async def test_unknown_key(client: httpx.AsyncClient, write_key: CreatedKey) -> None:
    for headers, body in ((basic("gl_w_wrong"), TRACK), ({}, {**TRACK, "writeKey": "nope"})):
        response = await client.post("/v1/track", json=body, headers=headers)
        assert response.status_code == 401
        assert response.json() == error(
            "invalid_write_key", f"unknown API key; check it, or {KEY_HINT}")


async def test_malformed_authorization(client: httpx.AsyncClient) -> None:
    for header in ("Bearer abc", "Basic not-base64!"):
        response = await client.post("/v1/track", json=TRACK, headers={"Authorization": header})
        assert response.status_code == 401
        assert response.json() == error(
            "invalid_authorization",
            "the Authorization header must be HTTP Basic with the write key as username and an "
            "empty password (base64 of 'KEY:')")


async def test_revoked_key(client: httpx.AsyncClient, write_key: CreatedKey,
                           ws: Workspace) -> None:
    assert (await client.post("/v1/track", json=TRACK, headers=basic(write_key.secret))
            ).status_code == 200
    key = revoke_key(store=ws.operational, key_id=write_key.key_id)
    assert key.revoked_at is not None
    response = await client.post("/v1/track", json={**TRACK, "messageId": "m-2"},
                                 headers=basic(write_key.secret))
    assert response.status_code == 401
    assert response.json() == error(
        "invalid_write_key",
        f"API key {write_key.key_id} was revoked at "
        f"{key.revoked_at.isoformat(timespec='seconds')}Z; {KEY_HINT}")
    assert list(stored(ws)) == ["m-1"]


async def test_revocation_within_the_cache_window(write_key: CreatedKey, ws: Workspace) -> None:
    app = create_app(store=ws.operational, key_cache_seconds=60.0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as http:
        assert (await http.post("/v1/track", json=TRACK, headers=basic(write_key.secret))
                ).status_code == 200
        revoke_key(store=ws.operational, key_id=write_key.key_id)
        # Remembered for the cache window (documented); then refused.
        again = await http.post("/v1/track", json={**TRACK, "messageId": "m-2"},
                                headers=basic(write_key.secret))
        assert again.status_code == 200
        app.state.keys.clear()
        refused = await http.post("/v1/track", json={**TRACK, "messageId": "m-3"},
                                  headers=basic(write_key.secret))
        assert refused.status_code == 401


async def test_key_without_write_scope(client: httpx.AsyncClient, ws: Workspace) -> None:
    reader = create_key(store=ws.operational, name="dashboard", scopes=["read"])
    response = await client.post("/v1/track", json=TRACK, headers=basic(reader.secret))
    assert response.status_code == 403
    assert response.json() == error(
        "forbidden",
        f"API key {reader.key_id} lacks the 'write' scope (it has: read); "
        "create one with `growthloop keys create --name NAME --scope write`")
    admin = create_key(store=ws.operational, name="ops", scopes=["admin"])
    assert (await client.post("/v1/track", json=TRACK, headers=basic(admin.secret))
            ).status_code == 200


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field", "message"),
    [
        ("/v1/track", {"userId": "u"}, "event", "track message needs 'event'"),
        ("/v1/track", {"userId": "u", "event": ""}, "event",
         "track message needs 'event' (it is empty)"),
        ("/v1/identify", {"traits": {"a": 1}}, "userId",
         "identify message needs 'userId' or 'anonymousId'"),
        ("/v1/identify", {"userId": "", "anonymousId": ""}, "userId",
         "identify message needs 'userId' or 'anonymousId'"),
        ("/v1/alias", {"userId": "u"}, "previousId", "alias message needs 'previousId'"),
        ("/v1/alias", {"previousId": "a", "anonymousId": "x"}, "userId",
         "alias message needs 'userId'"),
        ("/v1/group", {"userId": "u"}, "groupId", "group message needs 'groupId'"),
        ("/v1/page", {"userId": "u", "timestamp": "yesterday"}, "timestamp",
         "'timestamp' must be an ISO-8601 date-time such as 2024-05-01T12:00:00Z, "
         'got "yesterday"'),
        ("/v1/screen", {"userId": "u", "properties": [1]}, "properties",
         "'properties' must be a JSON object, got [1]"),
    ],
)
async def test_invalid_message(client: httpx.AsyncClient, write_key: CreatedKey, ws: Workspace,
                               path: str, body: dict[str, Any], field: str, message: str) -> None:
    response = await client.post(path, json=body, headers=basic(write_key.secret))
    assert response.status_code == 400
    assert response.json() == error("invalid_request", message,
                                    [{"index": 0, "field": field, "message": message}])
    assert stored(ws) == {}


async def test_batch_with_some_invalid_messages_keeps_the_valid_ones(
    client: httpx.AsyncClient, write_key: CreatedKey, ws: Workspace
) -> None:
    batch = [
        {"type": "track", "messageId": "ok-1", "userId": "u", "event": "E"},
        {"type": "track", "messageId": "bad-1", "userId": "u"},
        {"type": "unknown", "userId": "u"},
        {"type": "identify", "messageId": "ok-2", "anonymousId": "a"},
        "not an object",
    ]
    response = await client.post("/v1/batch", json={"batch": batch},
                                 headers=basic(write_key.secret))
    assert response.status_code == 200
    assert response.json() == ok(2, rejected=[
        {"index": 1, "field": "event", "message": "track message needs 'event'"},
        {"index": 2, "field": "type", "message":
         "unknown type 'unknown'; use one of identify, track, page, screen, group, alias"},
        {"index": 4, "field": None,
         "message": 'message must be a JSON object, got "not an object"'},
    ])
    assert sorted(stored(ws)) == ["ok-1", "ok-2"]
    # Nothing is silently lost: the rejected messages are quarantined with their reason.
    assert quarantined(ws) == [
        (1, "event", "track message needs 'event'",
         {"type": "track", "messageId": "bad-1", "userId": "u"}),
        (2, "type",
         "unknown type 'unknown'; use one of identify, track, page, screen, group, alias",
         {"type": "unknown", "userId": "u"}),
        (4, None, 'message must be a JSON object, got "not an object"', "not an object"),
    ]


def quarantined(ws: Workspace) -> list[tuple[Any, ...]]:
    with ws.operational.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT message_index, field, reason, payload FROM event_rejects "
            "ORDER BY message_index").all()
    return [(i, f, r, json.loads(p) if p else None) for i, f, r, p in rows]


async def test_batch_with_no_valid_message_is_rejected(
    client: httpx.AsyncClient, write_key: CreatedKey, ws: Workspace
) -> None:
    batch = [{"type": "track", "userId": "u"}, {"event": "E", "userId": "u"}]
    response = await client.post("/v1/batch", json={"batch": batch},
                                 headers=basic(write_key.secret))
    assert response.status_code == 400
    assert response.json() == error(
        "invalid_request",
        "no valid message; 2 invalid, the first at message 0: track message needs 'event'",
        [{"index": 0, "field": "event", "message": "track message needs 'event'"},
         {"index": 1, "field": "type",
          "message": "message needs 'type', one of identify, track, page, screen, group, alias"}])
    assert stored(ws) == {}
    assert [q[0] for q in quarantined(ws)] == [0, 1]


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (b"{not json", 400, error(
            "invalid_request", "the request body is not valid JSON: unexpected character, "
            "expected a string key: line 1 column 2 (char 1)")),
        (b"", 400, error("invalid_request", "the request body is empty; send a JSON object "
                         "(a message or a batch)")),
        (b"[1, 2]", 400, error("invalid_request",
                               "the request body must be a JSON object, got list")),
        (b'{"writeKey": "K"}', 400, error(
            "invalid_request", "a batch request needs 'batch', a list of messages",
            [{"index": None, "field": "batch",
              "message": "a batch request needs 'batch', a list of messages"}])),
        (b'{"writeKey": "K", "batch": {}}', 400, error(
            "invalid_request", "'batch' must be a list of messages, got {}",
            [{"index": None, "field": "batch",
              "message": "'batch' must be a list of messages, got {}"}])),
        (b'{"writeKey": "K", "batch": [], "sentAt": "soon"}', 400, error(
            "invalid_request", "invalid batch: 'sentAt' must be an ISO-8601 date-time such as "
            '2024-05-01T12:00:00Z, got "soon"',
            [{"index": None, "field": "sentAt", "message": "'sentAt' must be an ISO-8601 "
              'date-time such as 2024-05-01T12:00:00Z, got "soon"'}])),
    ],
)
async def test_malformed_batch_body(client: httpx.AsyncClient, write_key: CreatedKey,
                                    body: bytes, status: int, expected: dict[str, Any]) -> None:
    body = body.replace(b'"K"', orjson.dumps(write_key.secret))
    response = await client.post("/v1/batch", content=body,
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert response.json() == expected


async def test_empty_batch_is_fine(client: httpx.AsyncClient, write_key: CreatedKey) -> None:
    response = await client.post("/v1/batch", json={"batch": []}, headers=basic(write_key.secret))
    assert response.json() == ok(0)


async def test_wrong_content_type_and_encoding(client: httpx.AsyncClient,
                                               write_key: CreatedKey) -> None:
    response = await client.post("/v1/batch", content=b"batch=1", headers={
        **basic(write_key.secret), "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    assert response.json() == error(
        "unsupported_media_type",
        "Content-Type 'application/x-www-form-urlencoded' is not supported; send the events as "
        "JSON with Content-Type: application/json")
    response = await client.post("/v1/batch", content=b"xx", headers={
        **basic(write_key.secret), "Content-Encoding": "br"})
    assert response.status_code == 415
    assert response.json() == error(
        "unsupported_media_type",
        "Content-Encoding 'br' is not supported; send the body uncompressed or with "
        "Content-Encoding: gzip")


async def test_invalid_gzip(client: httpx.AsyncClient, write_key: CreatedKey) -> None:
    headers = {**basic(write_key.secret), "Content-Encoding": "gzip"}
    response = await client.post("/v1/batch", content=b"plain text", headers=headers)
    assert response.status_code == 400
    assert response.json()["error"].startswith(
        "the body is marked Content-Encoding: gzip but is not valid gzip")
    truncated = gzip.compress(orjson.dumps({"batch": []}))[:-12]
    response = await client.post("/v1/batch", content=truncated, headers=headers)
    assert response.json() == error(
        "invalid_request", "the gzip body is truncated; send the whole compressed body")


# --- limits ---------------------------------------------------------------------------------


def _too_large(what: str, size: int, limit: int, more_than: bool = False) -> dict[str, Any]:
    amount = f"more than {limit} bytes" if more_than else f"{size} bytes"
    return error("payload_too_large",
                 f"{what} is {amount}; the limit is {limit} bytes: send smaller batches "
                 "(analytics libraries split batches by size on their own)",
                 limit=limit, size=size)


async def test_request_over_the_limit(client: httpx.AsyncClient, write_key: CreatedKey,
                                      ws: Workspace) -> None:
    events = [{"type": "track", "userId": "u", "event": "E", "messageId": f"m{i}",
               "properties": {"text": "x" * 20_000}} for i in range(30)]
    body = orjson.dumps({"batch": events})
    response = await client.post("/v1/batch", content=body, headers=basic(write_key.secret))
    assert response.status_code == 413
    assert response.json() == _too_large("the request body", len(body), 512_000)
    assert stored(ws) == {}


async def test_chunked_request_over_the_limit(client: httpx.AsyncClient,
                                              write_key: CreatedKey) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(60):  # 600 KB, sent without Content-Length
            yield b" " * 10_000

    response = await client.post("/v1/batch", content=chunks(), headers=basic(write_key.secret))
    assert response.status_code == 413
    body = response.json()
    assert body == _too_large("the request body", body["size"], 512_000, more_than=True)
    assert 512_000 < body["size"] <= 522_000


async def test_gzip_bomb_is_stopped_at_the_limit(client: httpx.AsyncClient,
                                                 write_key: CreatedKey) -> None:
    bomb = gzip.compress(b" " * 50_000_000, compresslevel=9)  # 50 MB in about 50 KB
    assert len(bomb) < 100_000
    response = await client.post("/v1/batch", content=bomb, headers={
        **basic(write_key.secret), "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert response.json() == _too_large("the decompressed request body", 512_001, 512_000,
                                         more_than=True)


async def test_single_message_over_32_kb(client: httpx.AsyncClient,
                                         write_key: CreatedKey) -> None:
    body = orjson.dumps({**TRACK, "properties": {"text": "x" * 40_000}})
    response = await client.post("/v1/track", content=body, headers=basic(write_key.secret))
    assert response.status_code == 413
    assert response.json() == _too_large("the track message", len(body), 32_000)


async def test_batch_message_over_32_kb_is_rejected_alone(
    client: httpx.AsyncClient, write_key: CreatedKey, ws: Workspace
) -> None:
    big = {"type": "track", "userId": "u", "event": "E", "messageId": "big",
           "properties": {"text": "x" * 40_000}}
    small = {"type": "track", "userId": "u", "event": "E", "messageId": "small"}
    size = len(orjson.dumps(big))
    response = await client.post("/v1/batch", json={"batch": [small, big]},
                                 headers=basic(write_key.secret))
    assert response.json() == ok(1, rejected=[{"index": 1, "field": None, "message":
                                               f"message is {size} bytes; the limit is "
                                               "32000 bytes per message"}])
    response = await client.post("/v1/batch", json={"batch": [big]},
                                 headers=basic(write_key.secret))
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert list(stored(ws)) == ["small"]


async def test_limits_follow_the_workspace_settings(write_key: CreatedKey, ws: Workspace) -> None:
    settings = ws.config.server.model_copy(update={"max_request_bytes": 2048,
                                                   "max_event_bytes": 512})
    app = create_app(store=ws.operational, settings=settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as http:
        body = orjson.dumps({**TRACK, "properties": {"text": "x" * 600}})
        response = await http.post("/v1/track", content=body, headers=basic(write_key.secret))
        assert response.json() == _too_large("the track message", len(body), 512)
        body = orjson.dumps({"batch": [{**TRACK, "type": "track"}] * 30})
        response = await http.post("/v1/batch", content=body, headers=basic(write_key.secret))
        assert response.json() == _too_large("the request body", len(body), 2048)


# --- the rest of the service ----------------------------------------------------------------


async def test_health(client: httpx.AsyncClient, ws: Workspace) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": "0.1.0", "store": ws.operational.dialect,
                               "revision": ws.operational.revision()}


async def test_openapi_shows_the_request_models(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    components = schema["components"]["schemas"]
    assert {"SegmentBatch", "TrackMessage", "IdentifyMessage", "AliasMessage", "Accepted",
            "ErrorBody"} <= set(components)
    batch = schema["paths"]["/v1/batch"]["post"]
    assert batch["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SegmentBatch"}
    assert set(batch["responses"]) == {"200", "400", "401", "403", "413", "415"}
    track = schema["paths"]["/v1/track"]["post"]["requestBody"]["content"]["application/json"]
    assert track["schema"] == {"$ref": "#/components/schemas/TrackMessage"}
    assert "event" in components["TrackMessage"]["required"]
    assert "/v1/t" not in schema["paths"]
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_unknown_route_and_method(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/nothing", json={})
    assert response.status_code == 404
    assert response.json() == error(
        "not_found", "no endpoint POST /v1/nothing; the event endpoints are POST /v1/batch, "
        "/v1/identify, /v1/track, /v1/page, /v1/screen, /v1/group, /v1/alias")
    response = await client.get("/v1/batch")
    assert response.status_code == 405
    assert response.json() == error("method_not_allowed",
                                    "GET is not allowed on /v1/batch; use POST")


async def test_store_failure_is_a_retryable_503(
    client: httpx.AsyncClient, write_key: CreatedKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_args: Any, **_kwargs: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr("growthloop.api._committer.accept_event_groups", down)
    monkeypatch.setattr("growthloop.api._committer.accept_events", down)
    response = await client.post("/v1/track", json=TRACK, headers=basic(write_key.secret))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == error(
        "store_unavailable", "the event store is unavailable, nothing was stored; retry later")


async def test_unexpected_error_is_json_without_traceback(
    write_key: CreatedKey, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(InboxCommitter, "accept", broken)
    app = create_app(store=ws.operational)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post("/v1/track", json=TRACK, headers=basic(write_key.secret))
    assert response.status_code == 500
    assert response.json() == error(
        "internal_error",
        "internal error, nothing was stored; retry later (the server log has the details)")
    assert "secret internals" not in response.text


async def test_concurrent_requests_share_commits(write_key: CreatedKey, ws: Workspace) -> None:
    app = create_app(store=ws.operational)
    results: list[int] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as http:
        async def send(i: int) -> None:
            batch = {"batch": [{"type": "track", "userId": "u", "event": "E",
                                "messageId": f"c{i}-{j}"} for j in range(20)]}
            response = await http.post("/v1/batch", json=batch, headers=basic(write_key.secret))
            results.append(response.json()["accepted"])

        async with anyio.create_task_group() as group:
            for i in range(10):
                group.start_soon(send, i)
    assert results == [20] * 10
    assert len(stored(ws)) == 200


async def test_multi_member_gzip(client: httpx.AsyncClient, write_key: CreatedKey,
                                 ws: Workspace) -> None:
    # Concatenated gzip streams are one valid gzip body (RFC 1952).
    message = orjson.dumps({**TRACK, "type": "track"})
    body = gzip.compress(b'{"batch": [') + gzip.compress(message + b"]}")
    response = await client.post("/v1/batch", content=body, headers={
        **basic(write_key.secret), "Content-Encoding": "gzip"})
    assert response.json() == ok(1)
