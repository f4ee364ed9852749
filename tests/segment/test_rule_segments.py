"""Rule segments: validation with clear messages, exact semantics, and incremental updates that
agree with full rebuilds."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from growthloop import Workspace
from growthloop.ingest import load_file, options_for
from growthloop.profile import build_profiles
from growthloop.segment import (
    SegmentError,
    SegmentUpdater,
    create_segment,
    parse_segment,
    read_segment_file,
    refresh_segment,
    save_segment,
    segment_members,
    update_segment,
)
from growthloop.segment._compile import CompileContext, compile_members
from growthloop.segment._documents import get_segment
from growthloop.segment._model import SegmentDefinition

T0 = datetime(2024, 3, 1)


def _doc(condition: dict[str, Any], segment_id: str = "s1") -> dict[str, Any]:
    return {"id": segment_id, "name": segment_id, "condition": condition}


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            {"type": "trait", "field": "country", "op": "eq", "value": "GB", "colour": "red"},
            "condition.trait.colour: Extra inputs are not permitted",
        ),
        (
            {"type": "performed", "event": "Viewed", "at_least": "many"},
            "condition.performed.at_least: Input should be a valid integer",
        ),
        (
            {"type": "performed", "event": "Viewed", "within_days": 0},
            "condition.performed.within_days: Input should be greater than 0",
        ),
        (
            {"type": "performed", "event": "Viewed", "at_least": 5, "at_most": 2},
            "at_most (2) is below at_least (5)",
        ),
        (
            {"type": "and", "conditions": []},
            "condition.and.conditions: List should have at least 1 item",
        ),
        (
            {"type": "sometimes"},
            "condition: Input tag 'sometimes' found using 'type' does not match",
        ),
        ({"type": "rfm_segment", "segments": ["Champs"]}, "unknown RFM segment(s) ['Champs']"),
    ],
)
def test_bad_documents_are_refused_with_the_path(condition: dict[str, Any], message: str) -> None:
    with pytest.raises(SegmentError, match="invalid segment document") as info:
        parse_segment(_doc(condition))
    assert message in str(info.value)


def test_cycles_unknown_references_and_fields_are_refused(workspace: Workspace) -> None:
    ops = workspace.operational
    save_segment(
        store=ops,
        definition=parse_segment(
            _doc({"type": "trait", "field": "country", "op": "eq", "value": "GB"}, "a")
        ),
    )
    save_segment(
        store=ops, definition=parse_segment(_doc({"type": "in_segment", "segment": "a"}, "b"))
    )
    with pytest.raises(SegmentError, match="cycle: a -> b -> a"):
        save_segment(
            store=ops, definition=parse_segment(_doc({"type": "in_segment", "segment": "b"}, "a"))
        )
    with pytest.raises(SegmentError, match="refers to segment 'zzz', which does not exist"):
        save_segment(
            store=ops, definition=parse_segment(_doc({"type": "in_segment", "segment": "zzz"}, "c"))
        )
    with pytest.raises(SegmentError, match="trait field 'shoe_size' is not a profile attribute"):
        save_segment(
            store=ops,
            definition=parse_segment(
                _doc({"type": "trait", "field": "shoe_size", "op": "gt", "value": 40}, "d")
            ),
            profile_fields=["country", "orders"],
        )
    # Saving the same document again keeps its version; a change makes a new one.
    same = parse_segment(_doc({"type": "in_segment", "segment": "a"}, "b"))
    assert save_segment(store=ops, definition=same) == (1, False)
    changed = parse_segment(
        _doc({"type": "not", "condition": {"type": "in_segment", "segment": "a"}}, "b")
    )
    assert save_segment(store=ops, definition=changed) == (2, True)


def _event(i: int, user: str, name: str, at: datetime, **props: object) -> str:
    sender = {"anonymousId": user[5:]} if user.startswith("anon:") else {"userId": user}
    return json.dumps(
        {
            "type": "track",
            "messageId": f"m{i}",
            **sender,
            "event": name,
            "timestamp": at.isoformat() + "Z",
            "properties": props,
        }
    )


def _identify(i: int, user: str, anonymous: str, at: datetime) -> str:
    return json.dumps(
        {
            "type": "identify",
            "messageId": f"m{i}",
            "userId": user,
            "anonymousId": anonymous,
            "timestamp": at.isoformat() + "Z",
        }
    )


def _direct_members(
    ws: Workspace, definition: SegmentDefinition, at: datetime
) -> set[str]:
    """Members computed straight from the events, without any running state."""
    db = ws.analytical.ibis
    profiles = db.table("profiles")
    ctx = CompileContext(
        profiles=profiles,
        events=db.table("v_events"),
        at=at,
        resolve=lambda i: get_segment(ws.operational, i)[0],
        clusters=db.table("clusters") if ws.analytical.has_table("clusters") else None,
    )
    members = compile_members(definition.condition, ctx).intersect(profiles.select("canonical_id"))
    return set(members.distinct().to_pyarrow().column("canonical_id").to_pylist())


def _load_events(ws: Workspace, tmp: Path, name: str, lines: list[str]) -> None:
    path = tmp / f"{name}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    load_file(ws.analytical, "events", path, options_for("events"))


def _shop(ws: Workspace, tmp: Path) -> None:
    customers = tmp / "customers.csv"
    customers.write_text("customer_id,country\nC1,GB\nC2,GB\nC3,FR\nC4,GB\n")
    load_file(ws.analytical, "customers", customers, options_for("customers"))


def test_semantics(workspace: Workspace, tmp_path: Path) -> None:
    _shop(workspace, tmp_path)
    day = timedelta(days=1)
    _load_events(
        workspace,
        tmp_path,
        "e",
        [
            _event(1, "C1", "Viewed", T0 - 2 * day, category="Shoes", price=80),
            _event(2, "C1", "Viewed", T0 - 3 * day, category="Shoes", price=20),
            _event(3, "C2", "Viewed", T0 - 40 * day, category="Shoes", price=90),
            _event(4, "C3", "Viewed", T0 - 1 * day, category="Hats", price=90),
            _event(5, "C4", "Ordered", T0 - 100 * day),
        ],
    )
    build_profiles(workspace.analytical, as_of=T0)

    def members(condition: dict[str, Any]) -> set[str]:
        definition = parse_segment(_doc(condition, "t"))
        version, _ = save_segment(store=workspace.operational, definition=definition)
        resolve = lambda i: get_segment(workspace.operational, i)[0]  # noqa: E731
        refresh_segment(workspace.analytical, definition, version, resolve, at=T0)
        return {r["canonical_id"] for r in segment_members(workspace.analytical, "t")[1]}

    viewed_30 = {"type": "performed", "event": "Viewed", "within_days": 30}
    assert members(viewed_30) == {"C1", "C3"}
    assert members({**viewed_30, "at_least": 2}) == {"C1"}
    assert members({**viewed_30, "where": [{"property": "price", "op": "gte", "value": 50}]}) == {
        "C1",
        "C3",
    }
    assert members(
        {**viewed_30, "where": [{"property": "category", "op": "eq", "value": "Shoes"}]}
    ) == {"C1"}
    assert members({"type": "performed", "event": "Viewed", "at_least": 0, "at_most": 0}) == {"C4"}
    assert members(
        {"type": "last_performed", "event": "Ordered", "when": "before", "days_ago": 90}
    ) == {"C4"}
    assert members({"type": "last_performed", "event": "Viewed", "when": "never"}) == {"C4"}
    assert members(
        {
            "type": "and",
            "conditions": [
                {"type": "trait", "field": "country", "op": "eq", "value": "GB"},
                {"type": "not", "condition": viewed_30},
            ],
        }
    ) == {"C2", "C4"}
    assert members(
        {
            "type": "or",
            "conditions": [
                {"type": "trait", "field": "country", "op": "in", "value": ["FR"]},
                {"type": "performed", "event": "Ordered"},
            ],
        }
    ) == {"C3", "C4"}
    half = members({"type": "random_bucket", "salt": "exp1", "percent": 50})
    assert half == members({"type": "random_bucket", "salt": "exp1", "percent": 50})
    assert members({"type": "random_bucket", "salt": "exp1", "percent": 100}) == {
        "C1",
        "C2",
        "C3",
        "C4",
    }


# Negations, "never", "at most", a random bucket, a trait that is NULL for some customers and a
# referenced segment: the differences against everyone must come out the same whether they are
# taken over the few customers an update evaluates or over all of them.
NEGATIONS = {
    "type": "and",
    "conditions": [
        {"type": "not", "condition": {"type": "performed", "event": "Viewed", "at_least": 3,
                                      "within_days": 5}},
        {"type": "or", "conditions": [
            {"type": "last_performed", "event": "Ordered", "when": "never"},
            {"type": "performed", "event": "Ordered", "at_least": 0, "at_most": 1,
             "within_days": 4},
            {"type": "random_bucket", "salt": "s", "percent": 30},
        ]},
        {"type": "not", "condition": {"type": "trait", "field": "country", "op": "eq",
                                      "value": "FR"}},
        {"type": "in_segment", "segment": "ref"},
    ],
}


@pytest.mark.parametrize(("tree", "engine"), [("mixed", "store"), ("negations", "store"),
                                              ("mixed", "memory"), ("negations", "memory")])
def test_incremental_updates_equal_full_rebuilds(
    workspace: Workspace, tmp_path: Path, tree: str, engine: str
) -> None:
    """Events arrive in batches while time passes (some dated ahead of the evaluation time, some
    from anonymous visitors later identified); after each batch the incremental update of one
    segment must give exactly the members a full rebuild of its twin gives, and both the members
    computed straight from the events. ``engine``: the state in the store (``update_segment``)
    or held in memory (``SegmentUpdater``)."""
    rng = random.Random(7)
    users = [f"C{i}" for i in range(1, 41)]
    anonymous = [f"anon:v{i}" for i in range(1, 9)]
    customers = tmp_path / "customers.csv"
    countries = [rng.choice(["GB", "FR"]) for _ in users]
    if tree == "negations":  # some customers without a country
        countries = [c if i % 5 else "" for i, c in enumerate(countries)]
    customers.write_text(
        "customer_id,country\n"
        + "\n".join(f"{u},{c}" for u, c in zip(users, countries, strict=True)) + "\n"
    )
    load_file(workspace.analytical, "customers", customers, options_for("customers"))
    build_profiles(workspace.analytical, as_of=T0)
    condition = {
        "type": "or",
        "conditions": [
            {
                "type": "performed",
                "event": "Viewed",
                "at_least": 2,
                "within_days": 7,
                "where": [{"property": "price", "op": "gt", "value": 30}],
            },
            {
                "type": "and",
                "conditions": [
                    {"type": "trait", "field": "country", "op": "eq", "value": "GB"},
                    {"type": "last_performed", "event": "Ordered", "when": "after", "days_ago": 10},
                ],
            },
            {
                "type": "and",
                "conditions": [
                    {"type": "performed", "event": "Ordered", "at_least": 3},
                    {"type": "last_performed", "event": "Viewed", "when": "before", "days_ago": 2},
                ],
            },
        ],
    }
    ops, store = workspace.operational, workspace.analytical
    resolve = lambda i: get_segment(ops, i)[0]  # noqa: E731
    if tree == "negations":
        condition = NEGATIONS
        referenced = {"type": "performed", "event": "Viewed", "at_least": 1, "within_days": 9}
        save_segment(store=ops, definition=parse_segment(_doc(referenced, "ref")))
    incremental = parse_segment(_doc(condition, "inc"))
    full = parse_segment(_doc(condition, "full"))
    v_inc, _ = save_segment(store=ops, definition=incremental)
    v_full, _ = save_segment(store=ops, definition=full)
    n = 0
    at = T0
    updater = SegmentUpdater(store)
    update = updater.update if engine == "memory" else partial(update_segment, store)
    for batch in range(12):
        lines = []
        for _ in range(rng.randint(5, 25)):
            n += 1
            when = at - timedelta(hours=rng.uniform(-48, 24 * 12))
            lines.append(
                _event(
                    n,
                    rng.choice(users + anonymous),
                    rng.choice(["Viewed", "Ordered"]),
                    when,
                    price=rng.choice([10, 40, 90]),
                )
            )
        if batch % 3 == 2:
            n += 1
            lines.append(_identify(n, rng.choice(users), anonymous.pop()[5:], at))
        _load_events(workspace, tmp_path, f"b{batch}", lines)
        at = at + timedelta(hours=rng.uniform(6, 72))
        inc = update(incremental, v_inc, resolve, at=at)
        refresh_segment(store, full, v_full, resolve, at=at)
        a = {r["canonical_id"] for r in segment_members(store, "inc", limit=None)[1]}
        b = {r["canonical_id"] for r in segment_members(store, "full", limit=None)[1]}
        assert a == b, f"batch {batch}: incremental and full rebuild disagree"
        assert b == _direct_members(workspace, full, at), f"batch {batch}: state is wrong"
        if batch > 0:
            assert inc.mode == "incremental"
        if engine == "memory" and batch > 0 and batch % 3 != 2:
            # Updated in memory: the state table is behind until written back.
            assert store.scalar(
                "SELECT epoch <> state_epoch FROM segment_state WHERE segment_id = 'inc'"
            )
    updater.close()
    if engine == "memory":
        # Written back: the store's path goes on from the state the updater kept.
        at += timedelta(hours=3)
        assert update_segment(store, incremental, v_inc, resolve, at=at).mode == "incremental"
        refresh_segment(store, full, v_full, resolve, at=at)
        assert _members(store, "inc") == _members(store, "full") == _direct_members(
            workspace, full, at)
    # Buffered events that can no longer change a count (older than the longest window, 7 or
    # 9 days, and a day) are gone (removed once a day).
    assert store.scalar(
        "SELECT count(*) FROM segment_node_events WHERE segment_id = 'inc' AND timestamp < ?",
        [at - timedelta(days=8 if tree == "mixed" else 10)],
    ) == 0
    # Entry and exit history is kept: some customers left and came back.
    stays = store.scalar(
        "SELECT count(*) FROM segment_membership WHERE segment_id = 'inc' AND exited_at IS NOT NULL"
    )
    assert stays > 0
    # The lookup keys are the ids' hashes; keys written by an engine whose hash differs (faked
    # here) make the next update a full refresh that rewrites them.
    stale = (
        "SELECT (SELECT count(*) FROM segment_membership WHERE exited_at IS NULL "
        "AND h IS DISTINCT FROM hash(canonical_id)) + (SELECT count(*) FROM "
        "segment_node_counts WHERE h IS DISTINCT FROM hash(canonical_id))"
    )
    assert store.scalar(stale) == 0
    store.con.execute("UPDATE segment_membership SET h = 0 WHERE segment_id = 'inc'")
    store.con.execute("UPDATE segment_node_counts SET h = 0 WHERE segment_id = 'inc'")
    store.con.execute(
        "UPDATE segment_state SET conditions_key = regexp_replace(conditions_key, "
        "'[|]h=.*', '|h=42') WHERE segment_id = 'inc'"
    )
    at = at + timedelta(hours=5)
    assert update_segment(store, incremental, v_inc, resolve, at=at).mode == "full"
    assert store.scalar(stale) == 0
    at = at + timedelta(hours=5)
    assert update_segment(store, incremental, v_inc, resolve, at=at).mode == "incremental"
    refresh_segment(store, full, v_full, resolve, at=at)
    a = {r["canonical_id"] for r in segment_members(store, "inc", limit=None)[1]}
    assert a == {r["canonical_id"] for r in segment_members(store, "full", limit=None)[1]}


def test_create_from_yaml_file(workspace: Workspace, tmp_path: Path) -> None:
    _shop(workspace, tmp_path)
    build_profiles(workspace.analytical, as_of=T0)
    path = tmp_path / "gb.yaml"
    path.write_text(
        "id: gb\nname: UK customers\ncondition:\n  type: trait\n  field: country\n"
        "  op: eq\n  value: GB\n"
    )
    version, changed, change = create_segment(
        analytical=workspace.analytical,
        operational=workspace.operational,
        definition=read_segment_file(path),
        at=T0,
    )
    assert (version, changed, change.members) == (1, True, 3)
    from growthloop.customers import show_customer

    view = show_customer(workspace.analytical, "C1")
    assert view["profile"]["country"] == "GB"
    assert [s["segment_id"] for s in view["segments"]] == ["gb"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: gb\nname: x\ncondition: [1, 2\n")
    with pytest.raises(SegmentError, match="bad.yaml is not valid YAML"):
        read_segment_file(bad)


def test_a_cluster_saved_as_a_segment(workspace: Workspace, tmp_path: Path) -> None:
    _shop(workspace, tmp_path)
    build_profiles(workspace.analytical, as_of=T0)
    document = parse_segment(_doc({"type": "in_cluster", "method": "kmeans", "cluster": 1},
                                  "cluster-1"))
    with pytest.raises(SegmentError, match="run `growthloop cluster` first"):
        create_segment(analytical=workspace.analytical, operational=workspace.operational,
                       definition=document, at=T0)
    workspace.analytical.con.execute(
        "CREATE TABLE clusters AS SELECT * FROM (VALUES ('C1', 'kmeans', 1), "
        "('C3', 'kmeans', 1), ('C2', 'kmeans', 0), ('C4', 'gmm', 1)) "
        "AS t(canonical_id, method, cluster)")
    _, _, change = create_segment(analytical=workspace.analytical,
                                  operational=workspace.operational, definition=document, at=T0)
    assert change.members == 2
    members = {r["canonical_id"] for r in segment_members(workspace.analytical, "cluster-1")[1]}
    assert members == {"C1", "C3"}


def test_a_changed_referenced_segment_forces_a_full_refresh(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Segment "outer" reads segment "inner"; a new version of "inner" changes who is in
    "outer" for everyone, so the next update of "outer" must evaluate everyone."""
    _shop(workspace, tmp_path)
    build_profiles(workspace.analytical, as_of=T0)
    ops, store = workspace.operational, workspace.analytical
    resolve = lambda i: get_segment(ops, i)[0]  # noqa: E731
    trait = {"type": "trait", "field": "country"}
    save_segment(store=ops, definition=parse_segment(_doc({**trait, "op": "eq", "value": "GB"},
                                                          "inner")))
    outer = parse_segment(_doc({"type": "in_segment", "segment": "inner"}, "outer"))
    version, _ = save_segment(store=ops, definition=outer)
    refresh_segment(store, outer, version, resolve, at=T0)
    before = {r["canonical_id"] for r in segment_members(store, "outer", limit=None)[1]}
    save_segment(store=ops, definition=parse_segment(_doc({**trait, "op": "ne", "value": "GB"},
                                                          "inner")))
    change = update_segment(store, outer, version, resolve, at=T0 + timedelta(hours=1))
    after = {r["canonical_id"] for r in segment_members(store, "outer", limit=None)[1]}
    assert change.mode == "full"
    assert before and after and not before & after


def _views_segment(
    workspace: Workspace, tmp_path: Path, events: list[str] | None = None
) -> tuple[SegmentDefinition, int, SegmentDefinition, int, Any]:
    """Customers C1-C4 (with ``events``) and segments "inc" and its twin "full": viewed in the
    last 2 days."""
    _shop(workspace, tmp_path)
    if events:
        _load_events(workspace, tmp_path, "views", events)
    build_profiles(workspace.analytical, as_of=T0)
    ops = workspace.operational
    resolve = lambda i: get_segment(ops, i)[0]  # noqa: E731
    condition = {"type": "performed", "event": "Viewed", "at_least": 1, "within_days": 2}
    incremental = parse_segment(_doc(condition, "inc"))
    full = parse_segment(_doc(condition, "full"))
    v_inc, _ = save_segment(store=ops, definition=incremental)
    v_full, _ = save_segment(store=ops, definition=full)
    return incremental, v_inc, full, v_full, resolve


def _members(store: Any, segment_id: str) -> set[str]:
    return {r["canonical_id"] for r in segment_members(store, segment_id, limit=None)[1]}


def test_stays_are_closed_by_id_when_hashes_may_collide(
    workspace: Workspace, tmp_path: Path
) -> None:
    """When the full refresh could not rule out colliding id hashes among the profiled
    customers (faked here), an update closes stays by hash and id; the result still equals a
    full rebuild."""
    incremental, v_inc, full, v_full, resolve = _views_segment(workspace, tmp_path, [
        _event(1, "C1", "Viewed", T0 - timedelta(hours=1)),
        _event(2, "C2", "Viewed", T0 - timedelta(hours=30)),
    ])
    store = workspace.analytical
    assert refresh_segment(store, incremental, v_inc, resolve, at=T0).members == 2
    compiled = json.loads(
        store.scalar("SELECT compiled FROM segment_state WHERE segment_id = 'inc'")
    )
    assert compiled["distinct_keys"] is True
    store.con.execute(
        "UPDATE segment_state SET compiled = ? WHERE segment_id = 'inc'",
        [json.dumps({**compiled, "distinct_keys": False})],
    )
    at = T0 + timedelta(hours=20)  # C2's view has left the window, C1's has not
    change = update_segment(store, incremental, v_inc, resolve, at=at)
    assert (change.mode, change.entered, change.exited, change.members) == (
        "incremental", 0, 1, 1
    )
    refresh_segment(store, full, v_full, resolve, at=at)
    for segment_id in ("inc", "full"):
        assert [r["canonical_id"] for r in segment_members(store, segment_id, limit=None)[1]] == [
            "C1"
        ]
    assert store.scalar(
        "SELECT count(*) FROM segment_membership WHERE segment_id = 'inc' AND exited_at = ?",
        [at],
    ) == 1


def test_a_state_held_in_memory_is_written_back_or_rebuilt(
    workspace: Workspace, tmp_path: Path
) -> None:
    """An updater's state is written back by ``close``, after which the store's path goes on
    incrementally; an updater dropped without it leaves the state table stale, and the next
    update refreshes in full, with the same members; an evaluation by someone else in between
    makes the updater load the state again."""
    incremental, v_inc, full, v_full, resolve = _views_segment(workspace, tmp_path)
    store = workspace.analytical
    at = T0
    n = 100

    def step(update: Any, hours: int = 10) -> Any:
        nonlocal at, n
        at += timedelta(hours=hours)
        n += 1
        _load_events(workspace, tmp_path, f"v{n}", [
            _event(n, f"C{1 + n % 4}", "Viewed", at - timedelta(hours=1))])
        change = update(incremental, v_inc, resolve, at=at)
        refresh_segment(store, full, v_full, resolve, at=at)
        assert _members(store, "inc") == _members(store, "full")
        return change

    stale = "SELECT epoch <> state_epoch FROM segment_state WHERE segment_id = 'inc'"
    updater = SegmentUpdater(store)
    assert step(updater.update).mode == "full"  # the first evaluation, through the store
    assert not store.scalar(stale)
    assert step(updater.update).mode == "incremental"
    assert store.scalar(stale)  # updated in memory only
    updater.close()
    assert not store.scalar(stale)
    assert step(partial(update_segment, store)).mode == "incremental"

    crashed = SegmentUpdater(store)
    step(crashed.update)
    step(crashed.update)
    assert store.scalar(stale)
    del crashed  # stopped without writing its state back
    assert step(partial(update_segment, store)).mode == "full"
    assert not store.scalar(stale)

    updater = SegmentUpdater(store)
    step(updater.update)
    step(updater.update)
    refresh_segment(store, incremental, v_inc, resolve, at=at)  # someone else evaluates it
    step(updater.update)  # its copy is not current: through the store, then loaded again
    assert not store.scalar(stale)
    assert step(updater.update).mode == "incremental"
    assert store.scalar(stale)
    # A stale copy is never written over a newer state.
    update_live = updater._live["inc"]  # noqa: SLF001
    refresh_segment(store, incremental, v_inc, resolve, at=at)
    epoch = store.scalar("SELECT epoch FROM segment_state WHERE segment_id = 'inc'")
    assert update_live.token != epoch
    updater.close()
    assert store.scalar(
        "SELECT state_epoch FROM segment_state WHERE segment_id = 'inc'"
    ) == epoch


def test_in_memory_updates_read_clusters_rfm_and_windows(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The one-filter evaluation of in-memory updates (clusters, RFM segments with NULLs,
    negation, windows) gives the members computed straight from the events."""
    _shop(workspace, tmp_path)
    _load_events(workspace, tmp_path, "orders",
                 [_event(1, "C4", "Ordered", T0 - timedelta(days=1))])
    build_profiles(workspace.analytical, as_of=T0)
    store, ops = workspace.analytical, workspace.operational
    store.con.execute(
        "CREATE TABLE clusters AS SELECT * FROM (VALUES ('C1', 'kmeans', 1), "
        "('C3', 'kmeans', 1), ('C2', 'kmeans', 0)) AS t(canonical_id, method, cluster)")
    viewed = {"type": "performed", "event": "Viewed", "at_least": 1, "within_days": 2}
    condition = {"type": "or", "conditions": [
        {"type": "and", "conditions": [
            {"type": "in_cluster", "method": "kmeans", "cluster": 1}, viewed]},
        {"type": "and", "conditions": [
            {"type": "not", "condition": {"type": "rfm_segment", "segments": ["Champions"]}},
            {**viewed, "at_least": 2}]},
    ]}
    definition = parse_segment(_doc(condition, "mixed"))
    version, _ = save_segment(store=ops, definition=definition)
    resolve = lambda i: get_segment(ops, i)[0]  # noqa: E731
    with SegmentUpdater(store) as updater:
        assert updater.update(definition, version, resolve, at=T0).members == 0
        seen = []
        for hours, views in ((3, ["C1", "C2", "C2", "C4"]), (20, ["C3"]), (60, []), (80, [])):
            at = T0 + timedelta(hours=hours)
            lines = [_event(100 * hours + i, user, "Viewed", at - timedelta(minutes=30))
                     for i, user in enumerate(views)]
            if lines:
                _load_events(workspace, tmp_path, f"h{hours}", lines)
            change = updater.update(definition, version, resolve, at=at)
            assert change.mode == "incremental"
            members = _members(store, "mixed")
            assert members == _direct_members(workspace, definition, at)
            seen.append(members)
    assert seen == [{"C1", "C2"}, {"C1", "C2", "C3"}, {"C3"}, set()]
