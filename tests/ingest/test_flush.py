"""Events accepted by the API reach the analytical store through the inbox flush."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from growthloop import Workspace
from growthloop.ingest import load_file, options_for
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


def test_follow_updates_segments_from_the_inbox(workspace: Workspace) -> None:
    """``events flush --segments --follow``: each round moves the inbox into the store and
    updates the segments with their states held in memory; stopping writes the states back,
    and the members equal a full rebuild's."""
    from typer.testing import CliRunner

    from growthloop.cli import _register, app
    from growthloop.profile import build_profiles
    from growthloop.segment import get_segment, parse_segment, refresh_segment, save_segment

    customers = workspace.root / "customers.csv"
    customers.write_text("customer_id\nC1\nC2\nC3\n")
    load_file(workspace.analytical, "customers", customers, options_for("customers"))
    build_profiles(workspace.analytical, as_of=RECEIVED)
    ops = workspace.operational
    for sid in ("viewers", "twin"):
        save_segment(store=ops, definition=parse_segment({"id": sid, "name": sid, "condition": {
            "type": "performed", "event": "Product Viewed", "at_least": 1, "within_days": 3}}))
    # (The command evaluates the segments now: the views are an hour old.)
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    _accept(workspace, [
        {"type": "track", "messageId": f"v{i}", "userId": user, "event": "Product Viewed",
         "properties": {"product_id": "P1"}, "timestamp": hour_ago}
        for i, user in enumerate(["C1", "C2", "C1"])
    ])
    root = workspace.root
    workspace.close()  # the command opens the workspace itself
    _register()
    result = CliRunner().invoke(app, ["events", "flush", "--segments", "--follow", "0.05",
                                      "--rounds", "3", "-w", str(root), "--json"])
    assert result.exit_code == 0, result.output
    out = orjson.loads(result.stdout)
    assert (out["rounds"], out["events"], out["loaded"], out["loads"]) == (3, 3, 3, 1)
    # The first round goes through the store (a full refresh: never evaluated); the next ones
    # run on the states held in memory (through the store, the third would be a full refresh
    # again: the state table is stale after the second).
    assert {k: out["segments"]["viewers"][k] for k in ("updates", "full", "incremental",
                                                       "entered", "members")} == {
        "updates": 3, "full": 1, "incremental": 2, "entered": 2, "members": 2}
    assert "segment_updates" not in out  # a worker keeps totals only
    with Workspace.open(root) as ws:
        store = ws.analytical
        assert store.scalar(
            "SELECT count(*) FROM segment_state WHERE epoch <> state_epoch"
        ) == 0  # written back
        at = store.scalar("SELECT max(evaluated_at) FROM segment_state")
        twin, version = get_segment(ws.operational, "twin")[:2]
        refresh_segment(store, twin, version, lambda i: get_segment(ws.operational, i)[0],
                        at=at)
        members = "SELECT canonical_id FROM segment_membership WHERE segment_id = ? " \
                  "AND exited_at IS NULL ORDER BY 1"
        assert [r[0] for r in store.con.execute(members, ["viewers"]).fetchall()] == [
            r[0] for r in store.con.execute(members, ["twin"]).fetchall()] == ["C1", "C2"]
        _accept(ws, [{"type": "track", "messageId": "v9", "userId": "C3", "timestamp": hour_ago,
                      "event": "Product Viewed", "properties": {"product_id": "P1"}}])
    # Once, without --follow: from the store, which the worker left current.
    once = CliRunner().invoke(app, ["events", "flush", "--segments", "-w", str(root), "--json"])
    assert once.exit_code == 0, once.output
    out = orjson.loads(once.stdout)
    viewers = [u for u in out["segment_updates"] if u["segment_id"] == "viewers"]
    assert [(u["mode"], u["entered"], u["members"]) for u in viewers] == [("incremental", 1, 3)]
    code = CliRunner().invoke(app, ["events", "flush", "--rounds", "2", "-w", str(root)])
    assert code.exit_code == 2 and "--follow" in code.output
