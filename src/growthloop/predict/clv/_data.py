"""Per-customer RFM summaries (frequency, recency, T, monetary value) from a transaction log."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from growthloop.errors import ModelError

__all__ = ["summary_from_transactions"]

_UNIT_DAYS = {"D": 1.0, "W": 7.0}


def _timestamp(name: str, value: object) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise ModelError(f"{name} = {value!r} is not a date; pass a date such as '1997-09-30'")
    return stamp.normalize()


def summary_from_transactions(
    transactions: pd.DataFrame,
    customer_col: str,
    date_col: str,
    value_col: str | None = None,
    *,
    calibration_end: object = None,
    observation_end: object = None,
    freq: Literal["D", "W"] = "D",
) -> pd.DataFrame:
    """Summarise a transaction log into the inputs of the customer-base models.

    Follows the papers' conventions (Fader, Hardie & Lee 2005): all purchases of a customer on
    one calendar day count as one purchase (their values are added); the first purchase starts
    the customer's clock and is not a *repeat* purchase. ``freq`` only sets the time unit: with
    ``"W"`` times are in weeks of 7 days with fractions (``recency = 30.43`` weeks), as in the
    CDNOW summary of the papers, rather than purchases grouped by calendar week.

    Parameters
    ----------
    transactions
        One row per purchase (or purchase line).
    customer_col, date_col
        Columns with the customer id and the purchase date (anything ``pandas.to_datetime``
        reads; times of day are dropped).
    value_col
        Column with the purchase value; adds ``monetary_value``.
    calibration_end
        Last day of the calibration period (inclusive). Customers whose first purchase is
        later are left out. Defaults to ``observation_end``.
    observation_end
        Last day observed (inclusive); later purchases are ignored. Defaults to the last
        purchase date (or ``calibration_end`` if that is later).
    freq
        Time unit of ``recency``, ``T`` and ``duration_holdout``: ``"D"`` days, ``"W"`` weeks.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer, with ``frequency`` (repeat purchase days in the calibration
        period), ``recency`` (first to last purchase), ``T`` (first purchase to
        ``calibration_end``), ``monetary_value`` (mean value of the repeat purchases, 0 without
        any; only with ``value_col``) and, when ``observation_end`` is after
        ``calibration_end``, ``frequency_holdout`` (purchase days after the calibration period)
        and ``duration_holdout``.

    Raises
    ------
    ModelError
        Missing columns, no rows, dates that cannot be read, negative or missing values, or a
        calibration end before the first purchase.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"customer": [1, 1, 1, 2],
    ...                     "date": ["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-03"],
    ...                     "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> summary_from_transactions(log, "customer", "date", "amount",
    ...                           calibration_end="2024-01-15")  # doctest: +NORMALIZE_WHITESPACE
              frequency  recency     T  monetary_value
    customer
    1                 1      7.0  14.0            20.0
    2                 0      0.0  12.0             0.0
    """
    if freq not in _UNIT_DAYS:
        raise ModelError(f"freq = {freq!r} is not supported; pass 'D' (days) or 'W' (weeks)")
    if not isinstance(transactions, pd.DataFrame):
        raise ModelError(
            f"transactions must be a pandas DataFrame; got {type(transactions).__name__}"
        )
    wanted = [customer_col, date_col] + ([value_col] if value_col is not None else [])
    missing = [c for c in wanted if c not in transactions.columns]
    if missing:
        raise ModelError(
            f"transactions has no column {', '.join(repr(c) for c in missing)}; it has "
            f"{', '.join(repr(str(c)) for c in transactions.columns)}; pass the right column names"
        )
    if len(transactions) == 0:
        raise ModelError("transactions is empty; pass at least one purchase")

    frame = pd.DataFrame({"customer": transactions[customer_col].to_numpy()})
    if frame["customer"].isna().any():
        i = int(np.argmax(frame["customer"].isna().to_numpy()))
        raise ModelError(
            f"{customer_col} is missing in row {i}; drop purchases without a customer id first"
        )
    raw_dates = transactions[date_col]
    dates = pd.to_datetime(raw_dates, errors="coerce")
    if dates.isna().any() and not pd.api.types.is_datetime64_any_dtype(raw_dates):
        # pandas infers one format from the first value; retry value by value
        dates = pd.to_datetime(raw_dates, errors="coerce", format="mixed")
    if dates.isna().any():
        i = int(np.argmax(dates.isna().to_numpy()))
        raise ModelError(
            f"{date_col} = {raw_dates.iloc[i : i + 1].tolist()[0]!r} in row {i} is not a date; "
            "fix or drop that row"
        )
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    frame["date"] = dates.dt.normalize().to_numpy()
    if value_col is not None:
        values = pd.to_numeric(transactions[value_col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise ModelError(
                f"{value_col} = {transactions[value_col].iloc[i : i + 1].tolist()[0]!r} in row "
                f"{i} is not allowed: purchase values must be numbers >= 0; drop returns or net "
                "them against their purchases first"
            )
        frame["value"] = values

    first_day = frame["date"].min()
    last_day = frame["date"].max()
    calibration = None if calibration_end is None else _timestamp(
        "calibration_end", calibration_end
    )
    if observation_end is not None:
        observation = _timestamp("observation_end", observation_end)
    elif calibration is not None:
        observation = max(last_day, calibration)
    else:
        observation = last_day
    if calibration is None:
        calibration = observation
    if calibration > observation:
        raise ModelError(
            f"calibration_end {calibration.date()} is after observation_end "
            f"{observation.date()}; the calibration period must end within the observations"
        )
    if calibration < first_day:
        raise ModelError(
            f"calibration_end {calibration.date()} is before the first purchase "
            f"({first_day.date()}); pick a calibration end after the first purchases"
        )

    frame = frame[frame["date"] <= observation]
    # Several purchases on one day count as one purchase (the papers' rule).
    aggregations: dict[str, tuple[str, str]] = {"n": ("date", "size")}
    if value_col is not None:
        aggregations["value"] = ("value", "sum")
    days = frame.groupby(["customer", "date"], sort=True).agg(**aggregations).reset_index()
    first = days.groupby("customer", sort=True)["date"].transform("min")
    days = days[first <= calibration]
    first = first[days.index]
    unit = _UNIT_DAYS[freq]
    in_calibration = days["date"] <= calibration
    calib = days[in_calibration].copy()
    calib["first"] = first[in_calibration.to_numpy()]
    calib["repeat"] = calib["date"] > calib["first"]
    grouped = calib.groupby("customer", sort=True)
    summary = pd.DataFrame(
        {
            "frequency": grouped["repeat"].sum().astype(np.int64),
            "recency": (grouped["date"].max() - grouped["first"].min()).dt.days.astype(float)
            / unit,
            "T": (calibration - grouped["first"].min()).dt.days.astype(float) / unit,
        }
    )
    if value_col is not None:
        repeat_values = calib[calib["repeat"]].groupby("customer", sort=True)["value"].mean()
        summary["monetary_value"] = repeat_values.reindex(summary.index).fillna(0.0).astype(float)
    if observation > calibration or (calibration_end is not None and observation_end is not None):
        holdout = days[~in_calibration].groupby("customer", sort=True).size()
        summary["frequency_holdout"] = holdout.reindex(summary.index).fillna(0).astype(np.int64)
        summary["duration_holdout"] = float((observation - calibration).days) / unit
    summary.index.name = customer_col
    return summary
