"""Files that cannot be loaded fail with one clear message and load nothing; bad rows are
rejected with their line and reason while the rest loads."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from growthloop import Workspace
from growthloop.errors import IngestError
from growthloop.ingest import load_file, options_for

HEADER = "order_id,customer_id,product_id,quantity,unit_price,ordered_at\n"
GOOD = "O1,C1,P1,2,3.50,2024-01-05 10:00:00\nO2,C2,P2,1,9.99,2024-01-06 11:00:00\n"


def _load(ws: Workspace, path: Path, **kw: object):
    return load_file(ws.analytical, "orders", path, options_for("orders", **kw))


def _nothing_loaded(ws: Workspace) -> None:
    assert ws.analytical.count("order_lines") == 0
    assert ws.analytical.count("rejects") == 0
    assert ws.analytical.count("loads") == 0


def test_binary_file(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(IngestError, match="binary file"):
        _load(workspace, path)
    _nothing_loaded(workspace)


def test_truncated_gzip(workspace: Workspace, tmp_path: Path) -> None:
    data = gzip.compress((HEADER + GOOD * 5000).encode())
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match="corrupt or truncated gzip"):
        _load(workspace, path)
    _nothing_loaded(workspace)


def test_wrong_delimiter_given(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text((HEADER + GOOD).replace(",", ";"))
    with pytest.raises(IngestError, match="delimiter is probably different"):
        _load(workspace, path, delimiter=",")
    _nothing_loaded(workspace)


def test_other_delimiter_is_detected(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text((HEADER + GOOD).replace(",", ";"))
    assert _load(workspace, path).rows_loaded == 2


def test_missing_required_column(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,product_id,unit_price,ordered_at\nO1,C1,P1,3,2024-01-01\n"
    )
    with pytest.raises(IngestError, match=r"no column for 'quantity' \(required for orders\)"):
        _load(workspace, path)
    _nothing_loaded(workspace)


def test_non_utf8_text(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(
        (HEADER + "O1,C1,P1,1,2.00,2024-01-05 10:00:00\n").encode()
        + "O2,Cé,P2,1,2.00,2024-01-05 10:00:00\n".encode("latin-1")
    )
    with pytest.raises(IngestError, match="not utf-8 text .* --encoding"):
        _load(workspace, path)
    _nothing_loaded(workspace)
    summary = _load(workspace, path, encoding="latin-1")
    assert summary.rows_loaded == 2
    assert (
        workspace.analytical.scalar("SELECT customer_id FROM order_lines WHERE order_id = 'O2'")
        == "Cé"
    )


def test_absurdly_long_field_rejects_only_that_row(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + GOOD + f"O3,C3,{'X' * 50_000},1,1.00,2024-01-07 00:00:00\n")
    summary = _load(workspace, path)
    assert summary.rows_loaded == 2
    assert summary.rejected_by_reason == {"field_too_long": 1}
    row = workspace.analytical.rows("SELECT line, column_name, reason FROM rejects")[0]
    assert row == {"line": 4, "column_name": "product_id", "reason": "field_too_long"}


def test_line_over_the_reader_limit_is_rejected(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + GOOD + f"O3,C3,P3,1,1.00,{'9' * 9_000_000}\n" + GOOD.replace("O", "Q"))
    summary = _load(workspace, path)
    assert summary.rows_loaded == 4
    assert summary.rejected_by_reason == {"line_too_long": 1}
    assert workspace.analytical.scalar("SELECT line FROM rejects") == 4
    lines = workspace.analytical.rows("SELECT order_id, source_line FROM order_lines ORDER BY 2")
    assert [r["source_line"] for r in lines] == [2, 3, 5, 6]


def test_row_rules(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    rows = [
        "O1,C1,P1,2,3.50,2024-01-05 10:00:00",  # good
        "O2,C1,P1,1,-3.50,2024-01-05 10:00:00",  # negative price
        "O3,C1,P1,abc,3.50,2024-01-05 10:00:00",  # bad quantity
        "O4,C1,P1,1.5,3.50,2024-01-05 10:00:00",  # fractional quantity
        "O5,C1,P1,0,3.50,2024-01-05 10:00:00",  # zero quantity
        "O6,C1,P1,1,£3,2024-01-05 10:00:00",  # bad price
        "O7,C1,P1,1,3.50,yesterday",  # bad timestamp
        ",C1,P1,1,3.50,2024-01-05 10:00:00",  # missing order id
        "O9,C1,P1,1,3.50",  # too few fields
        "O10,,P1,1,3.50,2024-01-05 10:00:00",  # guest: kept
        "O1,C1,P1,2,3.50,2024-01-05 10:00:00",  # exact duplicate of line 2
    ]
    path.write_text(HEADER + "\n".join(rows) + "\n")
    summary = _load(workspace, path)
    assert summary.rows_read == 11
    assert summary.counts["sales"] == 1
    assert summary.counts["guest_sales"] == 1
    assert summary.duplicates == 1
    rejects = workspace.analytical.rows("SELECT line, reason FROM rejects ORDER BY line")
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (3, "negative_price"),
        (4, "bad_quantity"),
        (5, "bad_quantity"),
        (6, "zero_quantity"),
        (7, "bad_price"),
        (8, "bad_timestamp"),
        (9, "missing_order_id"),
        (10, "missing_columns"),
    ]
    message = workspace.analytical.scalar("SELECT message FROM rejects WHERE line = 3")
    assert message == (
        "unit price -3.50 is negative; record refunds as lines with a negative quantity"
    )


def test_overlapping_file_adds_only_new_rows(workspace: Workspace, tmp_path: Path) -> None:
    first = tmp_path / "jan.csv"
    first.write_text(HEADER + GOOD)
    second = tmp_path / "jan_feb.csv"
    second.write_text(HEADER + GOOD + "O3,C1,P2,1,9.99,2024-02-01 09:00:00\n")
    assert _load(workspace, first).rows_loaded == 2
    summary = _load(workspace, second)
    assert summary.rows_loaded == 1
    assert summary.already_loaded == 2
    assert workspace.analytical.count("order_lines") == 3


def test_failed_load_leaves_store_untouched(workspace: Workspace, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(HEADER + GOOD)
    _load(workspace, good)
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + GOOD.replace("O", "Z"))
    with pytest.raises(IngestError):
        _load(workspace, bad, mapping={"nope": "order_id"})
    assert workspace.analytical.count("order_lines") == 2
    assert workspace.analytical.count("loads") == 1
