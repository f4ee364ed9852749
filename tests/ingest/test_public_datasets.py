"""The two public order datasets load with exact, published counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from growthloop import Workspace
from growthloop.ingest import load_file, options_for

pytestmark = pytest.mark.datasets


def test_online_retail_every_line_accounted_for(workspace: Workspace, datasets: Path) -> None:
    path = datasets / "online_retail" / "Online_Retail.csv.gz"
    summary = load_file(
        workspace.analytical, "orders", path, options_for("orders", preset="online-retail")
    )
    c = summary.counts
    assert summary.rows_read == 541_909
    # Exclusive buckets: every input line lands in exactly one of them.
    assert c["sales"] == 391_187
    assert c["guest_sales"] == 132_510
    assert c["returns"] == 8_668
    assert c["non_product"] == 2_938
    assert c["rejected"] == 1_338
    assert c["duplicates"] == 5_268
    assert (
        c["sales"]
        + c["guest_sales"]
        + c["returns"]
        + c["non_product"]
        + c["rejected"]
        + c["duplicates"]
    ) == 541_909
    assert summary.rejected_by_reason == {
        "negative_quantity_not_cancellation": 1_336,
        "negative_price": 2,
    }
    assert c["new_customers"] == 4_372  # the customer count usually reported for this data
    store = workspace.analytical
    assert store.count("order_lines") == 541_909 - 1_338 - 5_268
    assert store.count("rejects") == 1_338
    # Cancellations are stored as negative return lines; most find the order they return.
    assert store.scalar("SELECT max(quantity) FROM order_lines WHERE line_kind = 'return'") < 0
    assert c["returns_linked"] == 7_478
    # UK local time converted to UTC: summer times move back an hour (BST), winter ones not.
    summer = store.scalar("SELECT min(ordered_at) FROM order_lines WHERE order_id = '555156'")
    winter = store.scalar("SELECT min(ordered_at) FROM order_lines WHERE order_id = '539993'")
    assert str(summer) == "2011-06-01 06:37:00"
    assert str(winter) == "2011-01-04 10:00:00"

    again = load_file(
        workspace.analytical, "orders", path, options_for("orders", preset="online-retail")
    )
    assert again.skipped
    assert store.count("order_lines") == 541_909 - 1_338 - 5_268
    assert store.count("loads") == 1


def test_cdnow_master_counts(workspace: Workspace, datasets: Path) -> None:
    path = datasets / "cdnow" / "CDNOW_master.txt"
    summary = load_file(workspace.analytical, "orders", path, options_for("orders", preset="cdnow"))
    store = workspace.analytical
    assert summary.rows_read == 69_659
    assert summary.rows_loaded == 69_659
    assert summary.rows_rejected == 0
    assert store.count("order_lines") == 69_659
    assert store.scalar("SELECT count(DISTINCT customer_id) FROM order_lines") == 23_570
    assert store.count("customers") == 23_570
    # Repeat-purchase models count customer-days: several rows on one day are one transaction.
    assert (
        store.scalar(
            "SELECT count(DISTINCT (customer_id, CAST(ordered_at AS DATE))) FROM order_lines"
        )
        == 67_591
    )
    assert store.count("v_orders") == 67_591
    total = store.scalar("SELECT sum(amount) FROM order_lines")
    assert float(total) == pytest.approx(2_500_315.63)
