"""Interaction files (CSV, CSV.gz, Parquet) read and checked for evaluation on any benchmark.

:func:`read_interactions` reads the named columns of a file and :func:`check_interactions`
checks a frame already in memory; both return an :class:`InteractionTable`: the clean rows, and
every rejected row with its line and reason (never silently dropped).

Rules
-----
- User and item ids are text. CSV columns are read as text as they are written, so an item code
  column where some codes look like numbers and others do not (Online Retail's ``StockCode``:
  ``85123A`` and ``71053``) is fine. Parquet or in-memory integer columns become their digits;
  float columns holding whole numbers (ids that went through a float because of a gap, like
  ``17850.0``) become ``17850``, so the same id reads the same from a CSV and a Parquet file.
  Leading and trailing spaces are removed.
- *Mixed types* means Python values of different types in one object column of a frame
  (``"85123A"`` and ``85123``): the same id could then be two ids (``85123`` and ``"85123"``),
  so the column is refused as a whole. Parquet cannot store such a column; it comes from pandas.
- A row is rejected (and the rest kept) when its user or item is empty, its weight is not a
  finite number, its time is empty or not a date and time, or its basket is empty. When every
  row fails on the weight or the time, the column is the wrong one and the whole file is refused.
- Times are UTC without a time zone: zone-aware times are converted to UTC; a column of whole
  numbers is read as Unix seconds (MovieLens ``timestamp``).

Every error is a :class:`~growthloop.errors.ModelError` (as for the other model input files,
see ``growthloop.predict.tabular.read_table``) naming the value, the rule and the fix.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from growthloop.errors import ModelError
from growthloop.recommend._interactions import Interactions

__all__ = ["InteractionTable", "RejectedRow", "check_interactions", "read_interactions"]

_CSV_SUFFIXES = (".csv", ".csv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row left out, with why.

    ``line`` is the CSV record's line (the header is line 1; blank lines and line breaks inside
    quoted fields are not counted) or, for Parquet files and frames, the row number from 1.
    ``reason`` is a code (``missing_user``, ``missing_item``, ``bad_weight``, ``missing_time``,
    ``bad_time``, ``missing_basket``); ``message`` says it in words.
    """

    line: int
    column: str
    value: str | None
    reason: str
    message: str


@dataclass(frozen=True, eq=False)
class InteractionTable:
    """Clean interaction rows and the rows rejected on the way.

    ``frame`` holds only the named columns: ids as text, the weight as ``float64``, the time as
    naive UTC ``datetime64``, the basket as text. The column names are the caller's.
    """

    source: str
    frame: pd.DataFrame
    rejected: list[RejectedRow]
    rows_read: int
    user_col: str
    item_col: str
    time_col: str | None = None
    weight_col: str | None = None
    basket_col: str | None = None

    def rejected_by_reason(self) -> dict[str, int]:
        """Number of rejected rows per reason, most frequent first."""
        return dict(Counter(r.reason for r in self.rejected).most_common())

    def to_interactions(
        self,
        *,
        user_ids: npt.NDArray[np.object_] | None = None,
        item_ids: npt.NDArray[np.object_] | None = None,
    ) -> Interactions:
        """The rows as :class:`Interactions` (over given vocabularies, as ``from_frame``)."""
        return Interactions.from_frame(
            self.frame,
            user_col=self.user_col,
            item_col=self.item_col,
            weight_col=self.weight_col,
            time_col=self.time_col,
            basket_col=self.basket_col,
            user_ids=user_ids,
            item_ids=item_ids,
        )


def read_interactions(
    path: str | Path,
    *,
    user_col: str,
    item_col: str,
    time_col: str | None = None,
    weight_col: str | None = None,
    basket_col: str | None = None,
) -> InteractionTable:
    """Read and check the interaction columns of a ``.csv``, ``.csv.gz`` or ``.parquet`` file.

    Raises
    ------
    ModelError
        If the file is missing, empty or of another kind, a named column is missing, the
        user or item column mixes types, or no row is usable.
    """
    path = Path(path)
    kind = _kind(path)
    if not path.is_file():
        raise ModelError(f"cannot read interactions from {path}: no such file; check the path")
    columns = _columns(user_col, item_col, time_col, weight_col, basket_col)
    present = _header(path, kind)
    _check_present(columns, present, path.name)
    wanted = list(dict.fromkeys(columns.values()))
    try:
        if kind == "csv":
            frame = pd.read_csv(
                path, usecols=wanted, dtype=str, keep_default_na=False, na_filter=False
            )
        else:
            frame = pd.read_parquet(path, columns=wanted)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ModelError(
            f"cannot read {path.name}: {_first_line(exc)}; fix or re-export the file"
        ) from exc
    first_line = 2 if kind == "csv" else 1
    return _check(frame, columns, source=path.name, first_line=first_line)


def check_interactions(
    frame: pd.DataFrame,
    *,
    user_col: str,
    item_col: str,
    time_col: str | None = None,
    weight_col: str | None = None,
    basket_col: str | None = None,
    source: str = "the frame",
) -> InteractionTable:
    """Check interactions already in a frame, by the rules of :func:`read_interactions`."""
    columns = _columns(user_col, item_col, time_col, weight_col, basket_col)
    _check_present(columns, [str(c) for c in frame.columns], source)
    wanted = list(dict.fromkeys(columns.values()))
    return _check(frame[wanted], columns, source=source, first_line=1)


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(_CSV_SUFFIXES):
        return "csv"
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    suffix = "".join(path.suffixes[-2:]) or "no suffix"
    raise ModelError(
        f"{path.name}: interaction files must be .csv, .csv.gz or .parquet (got {suffix!r}); "
        "convert the file or give it the right suffix"
    )


def _columns(
    user_col: str,
    item_col: str,
    time_col: str | None,
    weight_col: str | None,
    basket_col: str | None,
) -> dict[str, str]:
    """Role (``user``, ``item``, ``time``, ``weight``, ``basket``) to column name."""
    named = {"user": user_col, "item": item_col, "time": time_col, "weight": weight_col,
             "basket": basket_col}
    columns = {role: name for role, name in named.items() if name is not None}
    seen: dict[str, str] = {}
    for role, name in columns.items():
        if name in seen:
            raise ModelError(
                f"column {name!r} is given as both {seen[name]}_col and {role}_col; "
                "each role needs its own column"
            )
        seen[name] = role
    return columns


def _header(path: Path, kind: str) -> list[str]:
    try:
        if kind == "csv":
            return [str(c) for c in pd.read_csv(path, nrows=0, dtype=str).columns]
        import pyarrow.parquet as pq

        return [str(c) for c in pq.read_schema(path).names]
    except pd.errors.EmptyDataError:
        raise ModelError(
            f"{path.name} is empty (no header, no rows); pass a file with a header row and "
            "one interaction per row"
        ) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ModelError(
            f"cannot read {path.name}: {_first_line(exc)}; fix or re-export the file"
        ) from exc


def _check_present(columns: dict[str, str], present: list[str], source: str) -> None:
    for role, name in columns.items():
        if name not in present:
            shown = ", ".join(present[:30]) + (" ..." if len(present) > 30 else "")
            raise ModelError(
                f"{role} column {name!r} is not in {source} (columns: {shown}); "
                f"pass one of those names as {role}_col"
            )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _check(
    frame: pd.DataFrame, columns: dict[str, str], *, source: str, first_line: int
) -> InteractionTable:
    rows = len(frame)
    if rows == 0:
        raise ModelError(
            f"{source} has no rows; pass a file with at least one interaction"
        )
    lines = np.arange(first_line, first_line + rows, dtype=np.int64)
    clean: dict[str, pd.Series] = {}
    bad: dict[str, npt.NDArray[np.bool_]] = {}
    missing_time = np.zeros(rows, dtype=bool)
    for role in ("user", "item", "basket"):
        if role in columns:
            clean[role], bad[role] = _ids(frame[columns[role]], role, columns[role], source)
    if "weight" in columns:
        clean["weight"], bad["weight"] = _weights(frame[columns["weight"]])
        _refuse_if_all_bad(frame[columns["weight"]], bad["weight"], "weight", columns, source)
    if "time" in columns:
        clean["time"], missing_time, bad_time = _times(frame[columns["time"]])
        bad["time"] = missing_time | bad_time
        _refuse_if_all_bad(frame[columns["time"]], bad_time, "time", columns, source)
    rejected, keep = _rejects(frame, columns, bad, missing_time, lines)
    if not keep.any():
        counts = dict(Counter(r.reason for r in rejected).most_common())
        raise ModelError(
            f"every row of {source} was rejected ({_counts_text(counts)}; first: line "
            f"{rejected[0].line}, {rejected[0].message}); fix the file or choose other columns"
        )
    out = pd.DataFrame(
        {columns[role]: series.to_numpy()[keep] for role, series in clean.items()}
    )
    out = out[[c for c in frame.columns if c in out.columns]]
    return InteractionTable(
        source=source,
        frame=out,
        rejected=rejected,
        rows_read=rows,
        user_col=columns["user"],
        item_col=columns["item"],
        time_col=columns.get("time"),
        weight_col=columns.get("weight"),
        basket_col=columns.get("basket"),
    )


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {reason}" for reason, n in counts.items())


def _refuse_if_all_bad(
    column: pd.Series, bad: npt.NDArray[np.bool_], role: str, columns: dict[str, str],
    source: str,
) -> None:
    """A column none of whose values can be read is the wrong column: refuse the file."""
    if not bad.all():
        return
    examples = ", ".join(repr(v) for v in column.head(_EXAMPLES).tolist())
    rule = "a number" if role == "weight" else "a date and time"
    raise ModelError(
        f"{role} column {columns[role]!r} of {source} has no value that is {rule} (first "
        f"values: {examples}); pass the right column as {role}_col"
    )


def _value_kind(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | np.integer):
        return "int"
    if isinstance(value, float | np.floating):
        return "float"
    if isinstance(value, str):
        return "str"
    return type(value).__name__


def _ids(
    column: pd.Series, role: str, name: str, source: str
) -> tuple[pd.Series, npt.NDArray[np.bool_]]:
    """The ids as stripped text and the mask of empty ones."""
    missing = column.isna().to_numpy(dtype=bool)
    if column.dtype == object:
        present = column[~missing]
        kinds = present.map(_value_kind)
        found = list(dict.fromkeys(kinds.tolist()))
        if len(found) > 1:
            examples = "; ".join(
                f"{kind}: {present[kinds == kind].iloc[0]!r} at row "
                f"{int(np.flatnonzero((kinds == kind).to_numpy())[0]) + 1}"
                for kind in found[:_EXAMPLES]
            )
            raise ModelError(
                f"{role} column {name!r} of {source} mixes value types ({examples}); one id "
                f"could be read as two — convert the column to text first "
                f"(frame[{name!r}].astype(str)) or fix the file"
            )
        if found and found[0] not in ("str", "int", "float"):
            _unsupported(role, name, source, found[0])
        if found and found[0] == "float":
            column = column.astype("float64")
    elif not (
        pd.api.types.is_string_dtype(column.dtype)
        or pd.api.types.is_integer_dtype(column.dtype)
        or pd.api.types.is_float_dtype(column.dtype)
    ):
        _unsupported(role, name, source, str(column.dtype))
    if pd.api.types.is_float_dtype(column.dtype):
        numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
        whole = np.isfinite(numbers) & (numbers == np.round(numbers))
        text = np.where(
            whole, pd.Series(numbers).round().astype("Int64").astype(str), column.astype(str)
        )
        values = pd.Series(text, dtype=object)
    else:
        values = column.astype(str).str.strip()
    missing = missing | (values == "").to_numpy(dtype=bool)
    return values.reset_index(drop=True), missing


def _unsupported(role: str, name: str, source: str, kind: str) -> None:
    raise ModelError(
        f"{role} column {name!r} of {source} holds {kind} values; ids must be text or whole "
        "numbers — convert the column to text first"
    )


def _weights(column: pd.Series) -> tuple[pd.Series, npt.NDArray[np.bool_]]:
    """The weights as ``float64`` and the mask of those that are not finite numbers."""
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
        numbers = pd.Series(column.to_numpy(dtype=np.float64, na_value=np.nan))
    else:
        text = column.astype(str).str.strip()
        numbers = pd.to_numeric(text, errors="coerce").astype(np.float64)
    bad = ~np.isfinite(numbers.to_numpy())
    return numbers.reset_index(drop=True), bad


def _times(
    column: pd.Series,
) -> tuple[pd.Series, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Naive UTC times, the mask of empty ones and the mask of unreadable ones."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        times = column.dt.tz_convert("UTC").dt.tz_localize(None)
        missing = times.isna().to_numpy(dtype=bool)
        return times.reset_index(drop=True), missing, np.zeros(len(column), dtype=bool)
    if pd.api.types.is_datetime64_dtype(column.dtype):
        missing = column.isna().to_numpy(dtype=bool)
        return column.reset_index(drop=True), missing, np.zeros(len(column), dtype=bool)
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
        column.dtype
    ):
        seconds = column.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(seconds)
        times = pd.Series(pd.to_datetime(seconds, unit="s", errors="coerce"))
        bad = times.isna().to_numpy(dtype=bool) & ~missing
        return times, missing, bad
    text = column.astype(str).str.strip().reset_index(drop=True)
    missing = (column.isna().to_numpy(dtype=bool)) | (text == "").to_numpy(dtype=bool)
    digits = text[~missing]
    if len(digits) and digits.str.fullmatch(r"\d+").all():
        if digits.str.len().eq(8).all():  # 20240131: a date written as digits
            times = pd.Series(pd.to_datetime(text.where(~missing), format="%Y%m%d",
                                             errors="coerce"))
        else:  # Unix seconds
            seconds = pd.to_numeric(text.where(~missing), errors="coerce")
            times = pd.Series(pd.to_datetime(seconds, unit="s", errors="coerce"))
    else:
        times = _parse_times(text.where(~missing))
    bad = times.isna().to_numpy(dtype=bool) & ~missing
    return times, missing, bad


def _parse_times(text: pd.Series) -> pd.Series:
    """Parse with the format of the first value (fast), then each failure on its own."""
    with warnings.catch_warnings():
        # pandas warns when it cannot infer one format; the second pass handles those values.
        warnings.simplefilter("ignore", UserWarning)
        times = pd.to_datetime(text, errors="coerce", utc=True)
        retry = times.isna() & text.notna()
        if retry.any():
            times[retry] = pd.to_datetime(text[retry], errors="coerce", utc=True, format="mixed")
    return times.dt.tz_localize(None)


def _rejects(
    frame: pd.DataFrame,
    columns: dict[str, str],
    bad: dict[str, npt.NDArray[np.bool_]],
    missing_time: npt.NDArray[np.bool_],
    lines: npt.NDArray[np.int64],
) -> tuple[list[RejectedRow], npt.NDArray[np.bool_]]:
    """One :class:`RejectedRow` per failing row (its first failing rule) and the kept mask."""
    fixed = {"user": "missing_user", "item": "missing_item", "weight": "bad_weight",
             "basket": "missing_basket"}
    failed = np.zeros(len(frame), dtype=bool)
    parts: list[tuple[npt.NDArray[np.int64], str, list[str | None], npt.NDArray[np.str_]]] = []
    for role in ("user", "item", "weight", "time", "basket"):
        if role not in bad:
            continue
        new = bad[role] & ~failed
        failed |= new
        if new.any():
            positions = np.flatnonzero(new)
            raw = frame[columns[role]].iloc[positions]
            shown = raw.astype(str).where(raw.notna(), None).tolist()
            if role == "time":
                why = np.where(missing_time[positions], "missing_time", "bad_time")
            else:
                why = np.full(len(positions), fixed[role])
            parts.append((positions, columns[role], shown, why))
    rejected = [
        (int(position), RejectedRow(int(lines[position]), name, value, str(reason),
                                    _message(str(reason), name, value)))
        for positions, name, shown, why in parts
        for position, value, reason in zip(positions, shown, why, strict=True)
    ]
    rejected.sort(key=lambda pair: pair[0])
    return [row for _, row in rejected], ~failed


def _message(reason: str, column: str, value: str | None) -> str:
    if reason.startswith("missing_"):
        return f"the {reason.removeprefix('missing_')} ({column}) is empty"
    if reason == "bad_weight":
        return f"the weight ({column}) {value!r} is not a finite number"
    return f"the time ({column}) {value!r} is not a date and time"
