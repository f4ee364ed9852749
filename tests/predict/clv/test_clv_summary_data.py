"""summary_from_transactions: the papers' conventions and clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from growthloop.errors import ModelError
from growthloop.predict.clv import summary_from_transactions


@pytest.fixture
def log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer": ["a", "a", "a", "a", "b", "c"],
            "date": ["2024-01-01 09:00", "2024-01-01 18:00", "2024-01-15", "2024-02-05",
                     "2024-01-10", "2024-02-01"],
            "amount": [10.0, 5.0, 20.0, 8.0, 7.0, 3.0],
        }
    )


def test_days_collapse_and_weeks(log: pd.DataFrame) -> None:
    summary = summary_from_transactions(
        log, "customer", "date", "amount",
        calibration_end="2024-01-29", observation_end="2024-02-12", freq="W",
    )
    assert list(summary.index) == ["a", "b"]  # c first bought after the calibration end
    a = summary.loc["a"]
    assert a["frequency"] == 1  # two purchases on 1 January are one purchase
    assert a["recency"] == pytest.approx(2.0)
    assert a["T"] == pytest.approx(4.0)
    assert a["monetary_value"] == 20.0  # mean of repeat purchases only
    assert a["frequency_holdout"] == 1
    assert a["duration_holdout"] == 2.0
    b = summary.loc["b"]
    assert (b["frequency"], b["recency"], b["monetary_value"]) == (0, 0.0, 0.0)
    assert summary.index.name == "customer"


def test_defaults_use_every_purchase(log: pd.DataFrame) -> None:
    summary = summary_from_transactions(log, "customer", "date")
    assert "monetary_value" not in summary.columns
    assert "frequency_holdout" not in summary.columns
    assert summary.loc["a", "T"] == 35.0
    assert summary.loc["a", "frequency"] == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calibration_end": "2023-12-01"}, "calibration_end 2023-12-01 is before the first"),
        ({"calibration_end": "2024-03-01", "observation_end": "2024-02-01"},
         "calibration_end 2024-03-01 is after observation_end 2024-02-01"),
        ({"calibration_end": "not a date"}, "calibration_end = 'not a date' is not a date"),
        ({"freq": "M"}, "freq = 'M' is not supported"),
    ],
)
def test_bad_periods(log: pd.DataFrame, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        summary_from_transactions(log, "customer", "date", "amount", **kwargs)  # type: ignore[arg-type]


def test_bad_data(log: pd.DataFrame) -> None:
    with pytest.raises(ModelError, match="transactions is empty"):
        summary_from_transactions(log.iloc[:0], "customer", "date")
    with pytest.raises(ModelError, match="has no column 'when'"):
        summary_from_transactions(log, "customer", "when")
    negative = log.assign(amount=[10.0, -5.0, 1.0, 1.0, 1.0, 1.0])
    with pytest.raises(ModelError, match=r"amount = -5.0 in row 1 is not allowed.*drop returns"):
        summary_from_transactions(negative, "customer", "date", "amount")
    bad_date = log.assign(date=["2024-01-01", "yesterday", "2024-01-02", "2024-01-03",
                                "2024-01-04", "2024-01-05"])
    with pytest.raises(ModelError, match="date = 'yesterday' in row 1 is not a date"):
        summary_from_transactions(bad_date, "customer", "date")
    no_id = log.assign(customer=["a", None, "a", "a", "b", "c"])
    with pytest.raises(ModelError, match="customer is missing in row 1"):
        summary_from_transactions(no_id, "customer", "date")
