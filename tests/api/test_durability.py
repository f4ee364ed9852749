"""Every acknowledged event is stored: the inbox functions, and a server killed mid-stream."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from growthloop.ingest._inbox import (
    EventGroup,
    accept_event_groups,
    accept_events,
    mark_flushed,
    read_unflushed,
)
from growthloop.ingest._segment import AnyMessage, parse_batch
from growthloop.keys import create_key
from growthloop.workspace import Workspace

RECEIVED = datetime(2024, 5, 1, 12, 0, 0)


def _messages(*ids: str) -> list[AnyMessage]:
    body = {"batch": [{"type": "track", "messageId": m, "userId": "u", "event": "E"}
                      for m in ids]}
    parsed = parse_batch(body, received_at=RECEIVED)
    assert not parsed.problems
    return parsed.messages


def test_accept_read_and_mark_flushed(ws: Workspace) -> None:
    store = ws.operational
    first = accept_events(store=store, key_id="key_a", messages=_messages("a", "b", "c"),
                          received_at=RECEIVED)
    assert (first.accepted, first.duplicates) == (3, 0)
    again = accept_events(store=store, key_id="key_a", messages=_messages("c", "d"),
                          received_at=RECEIVED)
    assert (again.accepted, again.duplicates) == (1, 1)
    rows = read_unflushed(store=store, limit=10)
    assert [r.message_id for r in rows] == ["a", "b", "c", "d"]
    assert [r.inbox_id for r in rows] == sorted(r.inbox_id for r in rows)
    assert rows[0].received_at == RECEIVED
    assert rows[0].key_id == "key_a"
    assert rows[0].payload["receivedAt"] == "2024-05-01T12:00:00"
    assert [r.message_id for r in read_unflushed(store=store, limit=2)] == ["a", "b"]
    assert mark_flushed(store=store, inbox_ids=[rows[0].inbox_id, rows[1].inbox_id],
                        at=RECEIVED) == 2
    assert mark_flushed(store=store, inbox_ids=[rows[0].inbox_id], at=RECEIVED) == 0
    assert [r.message_id for r in read_unflushed(store=store, limit=10)] == ["c", "d"]
    with pytest.raises(ValueError, match="limit must be at least 1"):
        read_unflushed(store=store, limit=0)


def test_groups_share_a_transaction_with_their_own_counts(ws: Workspace) -> None:
    groups = [
        EventGroup("key_a", _messages("x", "y"), RECEIVED),
        EventGroup("key_b", _messages("y", "z"), RECEIVED),
        EventGroup("key_c", [], RECEIVED),
    ]
    results = accept_event_groups(store=ws.operational, groups=groups)
    assert [(r.accepted, r.duplicates) for r in results] == [(2, 0), (1, 1), (0, 0)]
    rows = read_unflushed(store=ws.operational, limit=10)
    assert [(r.message_id, r.key_id) for r in rows] == [
        ("x", "key_a"), ("y", "key_a"), ("z", "key_b")]


def test_mark_flushed_many_ids(ws: Workspace) -> None:
    ids = [f"m{i}" for i in range(2500)]
    accept_events(store=ws.operational, key_id="k", messages=_messages(*ids),
                  received_at=RECEIVED)
    rows = read_unflushed(store=ws.operational, limit=5000)
    assert mark_flushed(store=ws.operational, inbox_ids=[r.inbox_id for r in rows],
                        at=RECEIVED) == 2500
    assert read_unflushed(store=ws.operational, limit=10) == []


def _start_server(root: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``growthloop serve --port 0 --json`` in a subprocess; returns it and its URL."""
    command = [sys.executable, "-c",
               "from growthloop.cli import app, _serve; app()",  # only the serve command
               "serve", "--port", "0", "--json", "--workspace", str(root)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROWTHLOOP_")}
    with log.open("wb") as err:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, env=env)
    assert process.stdout is not None
    line = process.stdout.readline()
    deadline = time.monotonic() + 30
    while line and time.monotonic() < deadline:
        url = json.loads(line)["url"]
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    process.wait()
    process.stdout.close()
    raise AssertionError(f"the server did not start: {log.read_text()}")


def test_acknowledged_events_survive_sigkill(ws: Workspace, tmp_path: Path) -> None:
    secret = create_key(store=ws.operational, name="durability", scopes=["write"]).secret
    process, url = _start_server(ws.root, tmp_path / "server.log")
    try:
        acknowledged = _send_until_killed(process, url, secret)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 40 * 50

    with Workspace.open(ws.root) as reopened:
        stored = {row.message_id
                  for row in read_unflushed(store=reopened.operational, limit=10**7)}
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:3]}"


def _send_until_killed(process: subprocess.Popen[bytes], url: str, secret: str) -> list[str]:
    """Send batches from 4 connections; SIGKILL the server once 40 batches were acknowledged.
    Returns the messageIds of every acknowledged batch."""
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def sender(worker: int) -> None:
        with httpx.Client(base_url=url, auth=(secret, ""), timeout=10) as client:
            for n in range(10_000):
                if stop.is_set():
                    return
                ids = [f"w{worker}-b{n}-m{i}" for i in range(50)]
                batch = {"batch": [{"type": "track", "messageId": m, "userId": f"u{worker}",
                                    "event": "Durable"} for m in ids]}
                try:
                    response = client.post("/v1/batch", json=batch)
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code == 200:
                    with lock:
                        acknowledged.extend(ids)

    threads = [threading.Thread(target=sender, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 40 * 50 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)  # mid-stream: requests are in flight
    process.wait(timeout=10)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    return acknowledged
