"""Customers, products and events: cleaning rules and idempotent reloads."""

from __future__ import annotations

import json
from pathlib import Path

from growthloop import Workspace
from growthloop.ingest import load_file, options_for


def test_customers_contact_data_normalised(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_id,email,phone,name,country,timezone,created_at,vip\n"
        "C1, Alice@Example.COM ,020 7946 0018,Alice,United Kingdom,Europe/London,"
        "2024-01-02 10:00:00,yes\n"
        "C2,bob@,+1 650 253 0000,Bob,US,Mars/Base,2024-01-03,no\n"
        ",nobody@example.com,,,,,,\n"
    )
    summary = load_file(workspace.analytical, "customers", path, options_for("customers"))
    assert summary.rows_loaded == 2
    assert summary.rejected_by_reason == {"missing_customer_id": 1}
    assert summary.values_cleared_by_reason == {"invalid_email": 1, "invalid_timezone": 1}
    rows = {r["customer_id"]: r for r in workspace.analytical.rows("SELECT * FROM customers")}
    assert rows["C1"]["email"] == "alice@example.com"
    assert rows["C1"]["phone"] == "+442079460018"
    assert rows["C1"]["country"] == "GB"
    assert json.loads(rows["C1"]["traits"]) == {"vip": "yes"}
    assert rows["C2"]["email"] is None and rows["C2"]["phone"] == "+16502530000"
    # A changed record updates; an unchanged one does not.
    path2 = tmp_path / "customers2.csv"
    path2.write_text("customer_id,email,country\nC1,alice@example.com,FR\n")
    again = load_file(workspace.analytical, "customers", path2, options_for("customers"))
    assert again.counts["updated"] == 1
    assert (
        workspace.analytical.scalar("SELECT country FROM customers WHERE customer_id='C1'") == "FR"
    )


def test_products_tags_and_prices(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text(
        "product_id,title,category,price,tags\nP1,Mug,Home,4.5,kitchen|gift\n"
        "P2,Pen,Office,-1,\nP3,Hat,Fashion,abc,\n"
    )
    summary = load_file(workspace.analytical, "products", path, options_for("products"))
    assert summary.rows_loaded == 1
    assert summary.rejected_by_reason == {"negative_price": 1, "bad_price": 1}
    assert workspace.analytical.scalar("SELECT tags FROM products") == ["kitchen", "gift"]


def test_events_rules_and_idempotent_reload(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "type": "track",
                        "messageId": "m1",
                        "userId": "C1",
                        "event": "Viewed",
                        "timestamp": "2024-02-01T09:59:00+01:00",
                        "properties": {"sku": "P1"},
                    }
                ),
                json.dumps(
                    {
                        "type": "track",
                        "messageId": "m2",
                        "userId": "C1",
                        "timestamp": "2024-02-01T10:00:00Z",
                    }
                ),
                "{not json",
                json.dumps(
                    {"type": "page", "anonymousId": "a1", "timestamp": "2024-02-01T10:00:00Z"}
                ),
                json.dumps({"type": "shout", "userId": "C1", "timestamp": "2024-02-01T10:00:00Z"}),
                json.dumps(
                    {
                        "type": "track",
                        "messageId": "m1",
                        "userId": "C1",
                        "event": "Viewed",
                        "timestamp": "2024-02-01T09:59:00+01:00",
                    }
                ),
            ]
        )
        + "\n"
    )
    summary = load_file(workspace.analytical, "events", path, options_for("events"))
    assert summary.rows_loaded == 2
    assert summary.duplicates == 1
    assert summary.rejected_by_reason == {"missing_event": 1, "invalid_json": 1, "bad_type": 1}
    assert (
        str(workspace.analytical.scalar("SELECT timestamp FROM events WHERE message_id = 'm1'"))
        == "2024-02-01 08:59:00"
    )
    copy = tmp_path / "events_copy.jsonl"
    copy.write_text(path.read_text() + "\n")
    again = load_file(workspace.analytical, "events", copy, options_for("events"))
    assert again.rows_loaded == 0 and again.already_loaded == 2
    assert workspace.analytical.count("events") == 2


def test_returns_link_to_their_order_and_fees_are_flagged(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "100,A1,Lamp,2,2011-01-05 10:00:00,5.00,7,United Kingdom\n"
        "100,POST,POSTAGE,1,2011-01-05 10:00:00,18.00,7,United Kingdom\n"
        "101,A1,Lamp,1,2011-02-05 10:00:00,5.00,7,United Kingdom\n"
        "C102,A1,Lamp,-1,2011-02-06 10:00:00,5.00,7,United Kingdom\n"
        "103,A1,Lamp,4,2011-02-07 10:00:00,5.00,,EIRE\n"
    )
    summary = load_file(
        workspace.analytical, "orders", path, options_for("orders", preset="online-retail")
    )
    c = summary.counts
    assert (c["sales"], c["returns"], c["non_product"], c["guest_sales"]) == (2, 1, 1, 1)
    ret = workspace.analytical.rows(
        "SELECT returned_order_id, amount, currency FROM order_lines WHERE line_kind = 'return'"
    )
    assert ret == [{"returned_order_id": "101", "amount": -5, "currency": "GBP"}]
    assert (
        workspace.analytical.scalar("SELECT country FROM order_lines WHERE order_id = '103'")
        == "IE"
    )
