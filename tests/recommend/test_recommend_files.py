"""Interaction files: CSV, CSV.gz and Parquet read the same ids; bad rows are rejected with their
line and reason; files that cannot be used at all get one-line errors naming value, rule and fix."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from growthloop.errors import ModelError
from growthloop.recommend._files import check_interactions, read_interactions

CSV = """user,item,qty,at,order
C1,85123A,6,2024-01-01 08:26:00,O1
,71053,2,2024-01-01 08:26:00,O1
C1,71053,2,2024-01-01 08:26:00,O1
C2,,1,2024-01-02 09:00:00,O2
C2,00123,x,2024-01-02 09:00:00,O2
C2,00123,1,not a date,O2
C3,71053,-1,2024/01/05 10:00,O3
C3,85123A, 3 ,2024-01-06T10:00:00Z,
"""
COLUMNS = {"user_col": "user", "item_col": "item", "weight_col": "qty", "time_col": "at"}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_rows_are_kept_or_rejected_with_line_and_reason(tmp_path: Path) -> None:
    table = read_interactions(_write(tmp_path, "log.csv", CSV), **COLUMNS, basket_col="order")
    assert table.rows_read == 8
    assert [(r.line, r.reason, r.column, r.value) for r in table.rejected] == [
        (3, "missing_user", "user", ""),
        (5, "missing_item", "item", ""),
        (6, "bad_weight", "qty", "x"),
        (7, "bad_time", "at", "not a date"),
        (9, "missing_basket", "order", ""),
    ]
    assert table.rejected[2].message == "the weight (qty) 'x' is not a finite number"
    assert table.rejected_by_reason() == {
        "missing_user": 1, "missing_item": 1, "bad_weight": 1, "bad_time": 1, "missing_basket": 1
    }
    frame = table.frame
    assert list(frame.columns) == ["user", "item", "qty", "at", "order"]
    assert frame["user"].tolist() == ["C1", "C1", "C3"]
    # Item codes that look like numbers stay text as written (leading zeros too).
    assert frame["item"].tolist() == ["85123A", "71053", "71053"]
    assert frame["qty"].tolist() == [6.0, 2.0, -1.0]
    assert frame["at"].tolist() == [
        pd.Timestamp("2024-01-01 08:26"), pd.Timestamp("2024-01-01 08:26"),
        pd.Timestamp("2024-01-05 10:00"),  # another format, read on the second pass
    ]
    log = table.to_interactions()
    assert log.user_ids.tolist() == ["C1", "C3"] and log.item_ids.tolist() == ["71053", "85123A"]
    assert log.basket.tolist() == [0, 0, 1]


def test_csv_gz_and_parquet_give_the_same_ids(tmp_path: Path) -> None:
    text = "user,item,at\n17850,85123A,2024-01-01T10:00:00+01:00\n12,71053,2024-01-02\n"
    gz = tmp_path / "log.csv.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    from_csv = read_interactions(gz, user_col="user", item_col="item", time_col="at")
    # The same ids as numbers in Parquet: the user went through a float (a gap elsewhere).
    parquet = tmp_path / "log.parquet"
    pd.DataFrame({
        "user": [17850.0, 12.0, np.nan],
        "item": ["85123A", "71053", "22423"],
        "at": pd.to_datetime(["2024-01-01 09:00", "2024-01-02 00:00", "2024-01-03 00:00"],
                            utc=True),
    }).to_parquet(parquet)
    from_parquet = read_interactions(parquet, user_col="user", item_col="item", time_col="at")
    assert from_parquet.frame["user"].tolist() == ["17850", "12"]
    assert [(r.line, r.reason) for r in from_parquet.rejected] == [(3, "missing_user")]
    pd.testing.assert_frame_equal(from_csv.frame, from_parquet.frame, check_dtype=False)
    assert from_csv.frame["at"].tolist() == [pd.Timestamp("2024-01-01 09:00"),  # UTC
                                             pd.Timestamp("2024-01-02")]


def test_whole_number_times_are_unix_seconds(tmp_path: Path) -> None:
    path = _write(tmp_path, "ratings.csv", "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n")
    table = read_interactions(path, user_col="userId", item_col="movieId", weight_col="rating",
                              time_col="timestamp")
    assert table.frame["timestamp"].tolist() == [pd.Timestamp("2009-12-14 02:52:24")]
    assert table.frame["rating"].tolist() == [2.5]


@pytest.mark.parametrize(
    ("name", "text", "columns", "message"),
    [
        ("log.xlsx", "x", COLUMNS,
         "log.xlsx: interaction files must be .csv, .csv.gz or .parquet (got '.xlsx'); "
         "convert the file or give it the right suffix"),
        ("log.csv", "", COLUMNS,
         "log.csv is empty (no header, no rows); pass a file with a header row and one "
         "interaction per row"),
        ("log.csv", "user,item,qty,at\n", COLUMNS,
         "log.csv has no rows; pass a file with at least one interaction"),
        ("log.csv", "user,product\nC1,P1\n", {"user_col": "user", "item_col": "item"},
         "item column 'item' is not in log.csv (columns: user, product); pass one of those "
         "names as item_col"),
        ("log.csv", "user,item\nC1,P1\n", {"user_col": "user", "item_col": "user"},
         "column 'user' is given as both user_col and item_col; each role needs its own column"),
        ("log.csv", "user,item,name\nC1,P1,Mug\nC2,P2,Lamp\n",
         {"user_col": "user", "item_col": "item", "weight_col": "name"},
         "weight column 'name' of log.csv has no value that is a number (first values: 'Mug', "
         "'Lamp'); pass the right column as weight_col"),
        ("log.csv", "user,item,when\nC1,P1,soon\n",
         {"user_col": "user", "item_col": "item", "time_col": "when"},
         "time column 'when' of log.csv has no value that is a date and time (first values: "
         "'soon'); pass the right column as time_col"),
        ("log.csv", "user,item\n,P1\nC2,\n", {"user_col": "user", "item_col": "item"},
         "every row of log.csv was rejected (1 missing_user, 1 missing_item; first: line 2, "
         "the user (user) is empty); fix the file or choose other columns"),
    ],
)
def test_unusable_files_are_refused(
    tmp_path: Path, name: str, text: str, columns: dict[str, str], message: str
) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(ModelError) as error:
        read_interactions(path, **columns)
    assert str(error.value) == message


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no such file; check the path$"):
        read_interactions(tmp_path / "nope.parquet", user_col="u", item_col="i")


def test_an_id_column_mixing_types_is_refused() -> None:
    frame = pd.DataFrame({"user": ["C1", "C2", "C3"], "item": ["85123A", 85123, None]})
    with pytest.raises(ModelError) as error:
        check_interactions(frame, user_col="user", item_col="item", source="orders")
    assert str(error.value) == (
        "item column 'item' of orders mixes value types (str: '85123A' at row 1; int: 85123 at "
        "row 2); one id could be read as two — convert the column to text first "
        "(frame['item'].astype(str)) or fix the file"
    )
    # One type per column is fine, numbers or text.
    table = check_interactions(frame.iloc[[1]], user_col="user", item_col="item")
    assert table.frame["item"].tolist() == ["85123"]


@pytest.mark.datasets
def test_online_retail_reads_as_published(datasets: Path) -> None:
    """Online Retail (UCI): 541,909 lines, 135,080 without a CustomerID (first on line 624);
    StockCode mixes codes like 85123A with all-digit ones, which is not an error."""
    path = datasets / "online_retail" / "Online_Retail.csv.gz"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    table = read_interactions(path, user_col="CustomerID", item_col="StockCode",
                              time_col="InvoiceDate", weight_col="Quantity",
                              basket_col="InvoiceNo")
    assert (table.rows_read, len(table.frame)) == (541_909, 406_829)
    assert table.rejected_by_reason() == {"missing_user": 135_080}
    assert table.rejected[0].line == 624
    log = table.to_interactions()
    assert (log.n_users, log.n_items) == (4_372, 3_684)
    assert {"85123A", "71053"} <= set(log.item_ids.tolist())
    assert str(log.latest()) == "2011-12-09T12:50:00"
