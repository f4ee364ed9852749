"""Profiles: exact feature values on a hand-made shop, and no leakage past ``as_of``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from growthloop import Workspace
from growthloop.ingest import load_file, options_for
from growthloop.profile import build_profiles

ORDERS = """order_id,customer_id,product_id,quantity,unit_price,ordered_at
O1,C1,P1,2,10.00,2024-01-01 23:30:00
O2,C1,P2,1,30.00,2024-01-11 08:00:00
O3,C1,P1,1,10.00,2024-01-31 08:00:00
R1,C1,P1,-1,10.00,2024-02-02 09:00:00
O4,C2,P2,1,27.00,2024-01-20 10:00:00
O9,C1,P2,5,30.00,2024-03-05 10:00:00
"""
PRODUCTS = """product_id,title,category,brand,price
P1,Mug,Kitchen,Acme,10.00
P2,Lamp,Lighting,Glow,30.00
"""
CUSTOMERS = """customer_id,email,phone,country,created_at,marketing_opt_in,signup_source
C1,c1@example.com,+442079460018,GB,2023-12-01 00:00:00,true,web
C2,c2@example.com,,GB,2024-01-15 00:00:00,false,app
C3,c3@example.com,,FR,2024-03-01 00:00:00,true,web
"""


def _event(i: int, user: str, name: str, ts: str, **props: object) -> str:
    return json.dumps({"type": "track", "messageId": f"e{i}", "userId": user, "event": name,
                       "timestamp": ts, "properties": props,
                       "context": {"channel": "web", "device": "mobile"}})


def _shop(ws: Workspace, tmp: Path) -> None:
    for entity, text in (("products", PRODUCTS), ("customers", CUSTOMERS), ("orders", ORDERS)):
        path = tmp / f"{entity}.csv"
        path.write_text(text)
        load_file(ws.analytical, entity, path, options_for(entity))
    events = tmp / "events.jsonl"
    events.write_text("\n".join([
        _event(1, "C1", "Email Sent", "2024-01-05T10:00:00Z"),
        _event(2, "C1", "Email Opened", "2024-01-05T11:00:00Z"),
        _event(3, "C1", "Email Sent", "2024-01-19T10:00:00Z"),
        _event(4, "C1", "Product Viewed", "2024-01-20T20:00:00Z", product_id="P2"),
        _event(5, "C1", "Product Viewed", "2024-01-21T20:00:00Z", product_id="P2"),
        _event(6, "C1", "Product Viewed", "2024-03-03T20:00:00Z", product_id="P1"),
    ]) + "\n")
    load_file(ws.analytical, "events", events, options_for("events"))


def test_feature_values(workspace: Workspace, tmp_path: Path) -> None:
    _shop(workspace, tmp_path)
    build_profiles(workspace.analytical, as_of=datetime(2024, 2, 10))
    rows = {r["canonical_id"]: r for r in workspace.analytical.rows("SELECT * FROM profiles")}
    assert set(rows) == {"C1", "C2"}  # C3 signed up after the as-of date
    c1 = rows["C1"]
    assert c1["orders"] == 3
    assert c1["gross_revenue"] == pytest.approx(60.0)
    assert c1["monetary"] == pytest.approx(50.0)  # one mug returned
    assert c1["average_order_value"] == pytest.approx(20.0)
    assert c1["return_rate"] == pytest.approx(1 / 4)
    # Recency counts calendar days: last order 2024-01-31 → 10 days before 2024-02-10.
    assert c1["recency_days"] == 10
    assert c1["mean_days_between_orders"] == pytest.approx((9.354167 + 20.0) / 2, rel=1e-4)
    assert c1["top_category"] == "Kitchen" and c1["top_category_share"] == pytest.approx(0.5)
    assert c1["top_brand"] in {"Acme", "Glow"}
    assert (c1["emails_sent"], c1["email_open_rate"]) == (2, 0.5)
    assert c1["product_views"] == 2
    assert c1["preferred_device"] == "mobile" and c1["active_hour"] == 20
    assert c1["reachable_channels"] == ["email", "sms"]
    assert c1["signup_source"] == "web" and c1["tenure_days"] == 71
    assert c1["interest_tags"][0] in {"Kitchen", "Lighting"}
    assert rows["C2"]["reachable_channels"] == []  # no consent
    assert rows["C2"]["recency_days"] == 21
    assert c1["peak_season_share"] == 0.0  # no order in November or December
    # The last visit is the product view on 2024-01-21 (calendar days, like recency).
    assert c1["last_visit_at"] == datetime(2024, 1, 21, 20, 0)
    assert c1["days_since_last_visit"] == 20
    assert rows["C2"]["days_since_last_visit"] is None  # no events at all
    assert rows["C2"]["peak_season_share"] == 0.0


def test_peak_season_share_and_last_visit(workspace: Workspace, tmp_path: Path) -> None:
    _shop(workspace, tmp_path)
    orders = tmp_path / "season.csv"
    orders.write_text("order_id,customer_id,product_id,quantity,unit_price,ordered_at\n"
                      "O30,C3,P1,1,10.00,2024-11-20 10:00:00\n"
                      "O31,C3,P2,1,30.00,2024-12-02 10:00:00\n"
                      "O31,C3,P1,1,10.00,2024-12-02 10:00:00\n"
                      "O32,C3,P1,1,10.00,2025-01-05 10:00:00\n"
                      "O33,C3,P1,1,10.00,2025-01-20 10:00:00\n")
    load_file(workspace.analytical, "orders", orders, options_for("orders"))
    events = tmp_path / "season.jsonl"
    events.write_text("\n".join([
        _event(40, "C3", "Product Viewed", "2024-12-01T20:00:00Z", product_id="P2"),
        _event(41, "C3", "Email Sent", "2025-01-06T10:00:00Z"),
        _event(42, "C3", "Product Viewed", "2025-01-12T20:00:00Z", product_id="P2"),
    ]) + "\n")
    load_file(workspace.analytical, "events", events, options_for("events"))
    build_profiles(workspace.analytical, as_of=datetime(2025, 1, 10))
    c3 = workspace.analytical.rows("SELECT * FROM profiles WHERE canonical_id = 'C3'")[0]
    # Two of three orders before the as-of date fall in November-December (O31 has two lines).
    assert c3["orders"] == 3
    assert c3["peak_season_share"] == pytest.approx(2 / 3)
    # An email sent to the customer is seen activity but not a visit; later events are ignored.
    assert c3["last_seen_at"] == datetime(2025, 1, 6, 10, 0)
    assert c3["last_visit_at"] == datetime(2024, 12, 1, 20, 0)
    assert c3["days_since_last_visit"] == 40


def test_no_data_after_as_of_leaks(workspace: Workspace, tmp_path: Path) -> None:
    _shop(workspace, tmp_path)
    as_of = datetime(2024, 2, 1)
    build_profiles(workspace.analytical, as_of=as_of, table="before")
    later = tmp_path / "later.csv"
    later.write_text("order_id,customer_id,product_id,quantity,unit_price,ordered_at\n"
                     "O20,C1,P2,9,30.00,2024-02-01 00:00:00\n"
                     "O21,C4,P1,1,10.00,2024-02-05 00:00:00\n")
    load_file(workspace.analytical, "orders", later, options_for("orders"))
    late_events = tmp_path / "late.jsonl"
    late_events.write_text(_event(99, "C2", "Email Sent", "2024-02-01T00:00:00Z") + "\n")
    load_file(workspace.analytical, "events", late_events, options_for("events"))
    build_profiles(workspace.analytical, as_of=as_of, table="after")
    diff = workspace.analytical.scalar(
        "SELECT count(*) FROM ((SELECT * FROM before EXCEPT SELECT * FROM after) "
        "UNION ALL (SELECT * FROM after EXCEPT SELECT * FROM before))")
    assert diff == 0
    # ... while a later as-of date does see the new data.
    build_profiles(workspace.analytical, as_of=datetime(2024, 2, 2), table="later")
    assert workspace.analytical.scalar(
        "SELECT orders FROM later WHERE canonical_id = 'C1'") == 4
