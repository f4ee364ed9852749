"""Identity resolution: order of links never matters; merges are recorded and explainable."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from growthloop import Workspace
from growthloop.customers import show_customer
from growthloop.ingest import load_file, options_for
from growthloop.store import AnalyticalStore
from growthloop.store._schema import EVENT_CANONICAL_ID, EVENT_IDENTITY_JOINS

_ids = st.sampled_from(["C1", "C2", "C3", "C4"])
_anons = st.sampled_from(["a1", "a2", "a3", "a4", "a5"])
_emails = st.sampled_from(["x@example.com", "y@example.com", "z@example.com"])
_event = st.one_of(
    st.tuples(st.just("identify"), _ids, _anons, st.one_of(st.none(), _emails)),
    st.tuples(st.just("alias"), _ids, _anons, st.none()),
    st.tuples(st.just("track"), _ids, _anons, st.none()),
    st.tuples(st.just("anonymous track"), _ids, _anons, st.none()),
)


def _write(path: Path, events: list[tuple[str, str, str, str | None]]) -> Path:
    lines = []
    for i, (kind, user, anon, email) in enumerate(events):
        msg: dict[str, object] = {
            "type": kind,
            "messageId": f"m{i}-{kind}-{user}-{anon}",
            "userId": user,
            "timestamp": "2024-03-01T10:00:00Z",
        }
        if kind == "anonymous track":
            msg.update(type="track", event="Viewed", anonymousId=anon)
            del msg["userId"]
        elif kind == "alias":
            msg["previousId"] = anon
        else:
            msg["anonymousId"] = anon
        if kind == "track":
            msg["event"] = "Viewed"
        if email:
            msg["traits"] = {"email": email}
        lines.append(json.dumps(msg))
    path.write_text("\n".join(lines) + "\n")
    return path


def _resolve(
    tmp: Path, batches: list[list[tuple[str, str, str, str | None]]]
) -> set[tuple[str, str, str]]:
    store = AnalyticalStore.open(None)
    try:
        for n, batch in enumerate(batches):
            if batch:
                load_file(
                    store, "events", _write(tmp / f"b{n}.jsonl", batch), options_for("events")
                )
        # The canonical ids stored on the events were kept current through every load.
        stale = store.scalar(
            f"""SELECT count(*) FROM events e {EVENT_IDENTITY_JOINS.format(e="e")}
            WHERE e.canonical_id IS DISTINCT FROM {EVENT_CANONICAL_ID.format(e="e")}"""
        )
        assert stale == 0
        return {
            (r["kind"], r["value"], r["canonical_id"])
            for r in store.rows("SELECT kind, value, canonical_id FROM identities")
        }
    finally:
        store.close()


@settings(max_examples=25, deadline=None)
@given(events=st.lists(_event, min_size=1, max_size=12), data=st.data())
def test_merge_order_does_not_matter(tmp_path_factory, events, data) -> None:
    tmp = tmp_path_factory.mktemp("ids")
    all_at_once = _resolve(tmp, [events])
    shuffled = data.draw(st.permutations(events))
    cut = data.draw(st.integers(0, len(shuffled)))
    in_two_loads = _resolve(tmp, [shuffled[:cut], shuffled[cut:]])
    assert all_at_once == in_two_loads
    reversed_order = _resolve(tmp, [list(reversed(events))])
    assert all_at_once == reversed_order


def test_merge_is_recorded_and_explained(workspace: Workspace, tmp_path: Path) -> None:
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "customer_id,email,country\nC1,Ann@Example.com,GB\nC2,bob@example.com,GB\n"
    )
    load_file(workspace.analytical, "customers", customers, options_for("customers"))
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,product_id,quantity,unit_price,ordered_at\n"
        "O1,C2,P1,1,5.00,2024-02-01 10:00\nO2,C1,P1,2,5.00,2024-02-02 10:00\n"
    )
    load_file(workspace.analytical, "orders", orders, options_for("orders"))
    events = _write(
        tmp_path / "e.jsonl",
        [
            ("identify", "C9", "a1", "ann@example.com"),
            ("track", "C2", "a1", None),
        ],
    )
    summary = load_file(workspace.analytical, "events", events, options_for("events"))
    assert summary.merges == 2
    view = show_customer(workspace.analytical, "ANN@example.com")
    assert view["canonical_id"] == "C1"
    assert {(i["kind"], i["value"]) for i in view["identities"]} == {
        ("customer", "C1"),
        ("customer", "C2"),
        ("customer", "C9"),
        ("anonymous", "a1"),
        ("email", "ann@example.com"),
        ("email", "bob@example.com"),
    }
    assert {m["absorbed_id"] for m in view["merges"]} == {"C2", "C9"}
    assert ("customer", "C9", "anonymous", "a1") in {
        (lk["left_kind"], lk["left_value"], lk["right_kind"], lk["right_value"])
        for lk in view["links"]
    }
    # Downstream views see the canonical id, on events and on the order lines loaded before.
    assert workspace.analytical.scalar("SELECT count(DISTINCT canonical_id) FROM v_events") == 1
    assert workspace.analytical.rows(
        "SELECT DISTINCT canonical_id FROM v_order_lines"
    ) == [{"canonical_id": "C1"}]
