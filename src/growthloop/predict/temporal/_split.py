"""The temporal split: three cutoffs, each followed by a label window of ``horizon`` days.

A model is fitted on the profile snapshot taken at the train cutoff, chosen and calibrated on
the snapshot at the validation cutoff and evaluated on the snapshot at the test cutoff, with
labels from the ``horizon`` days after each cutoff. Every label window ends on or before the
next cutoff, so no step learns from the period it is judged on.

Defaults count back from the end of the data (midnight after the last purchase): the test
window is the last ``horizon`` days, validation the ``horizon`` days before it, training the
``horizon`` days before that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from growthloop.errors import ModelError
from growthloop.store import AnalyticalStore

__all__ = ["DataRange", "TemporalSplit", "data_range", "plan_split"]

ROLES = ("train", "validation", "test")


@dataclass(frozen=True)
class DataRange:
    """The first and last purchase (sale order line) in the store."""

    first: datetime
    last: datetime

    @property
    def start(self) -> datetime:
        """Midnight of the first purchase's day."""
        return datetime(self.first.year, self.first.month, self.first.day)

    @property
    def end(self) -> datetime:
        """Midnight after the last purchase's day: label windows end here at the latest."""
        return datetime(self.last.year, self.last.month, self.last.day) + timedelta(days=1)

    def text(self) -> str:
        return f"purchases run from {self.first:%Y-%m-%d} to {self.last:%Y-%m-%d}"


def data_range(store: AnalyticalStore) -> DataRange:
    """The store's first and last purchase; an error when there is none."""
    first, last = store.con.execute(
        "SELECT min(ordered_at), max(ordered_at) FROM v_order_lines "
        "WHERE line_kind = 'sale' AND canonical_id IS NOT NULL"
    ).fetchall()[0]
    if first is None:
        raise ModelError(
            "the workspace has no purchases; load orders first (`growthloop ingest orders FILE`)"
        )
    return DataRange(first, last)


@dataclass(frozen=True)
class TemporalSplit:
    """Train, validation and test cutoffs with the label horizon in days."""

    train: datetime
    validation: datetime
    test: datetime
    horizon_days: int
    data: DataRange

    @property
    def horizon(self) -> timedelta:
        return timedelta(days=self.horizon_days)

    def cutoffs(self) -> dict[str, datetime]:
        return {"train": self.train, "validation": self.validation, "test": self.test}

    def to_dict(self) -> dict[str, Any]:
        return {
            "train_cutoff": self.train.isoformat(),
            "validation_cutoff": self.validation.isoformat(),
            "test_cutoff": self.test.isoformat(),
            "horizon_days": self.horizon_days,
            "data_from": self.data.first.isoformat(),
            "data_to": self.data.last.isoformat(),
        }


def _midnight(value: date | datetime) -> datetime:
    return datetime(value.year, value.month, value.day)


def plan_split(
    data: DataRange,
    *,
    horizon_days: int,
    test: date | datetime | None = None,
    validation: date | datetime | None = None,
    train: date | datetime | None = None,
) -> TemporalSplit:
    """The cutoffs (midnight of the given days), defaults counted back from the data's end.

    Raises :class:`ModelError` naming the data's range when a cutoff leaves no history before
    it or its label window runs past the data, and when the cutoffs are out of order.
    """
    if horizon_days < 1:
        raise ModelError(f"the horizon must be at least 1 day, got {horizon_days}")
    horizon = timedelta(days=horizon_days)
    test_at = _midnight(test) if test is not None else data.end - horizon
    validation_at = _midnight(validation) if validation is not None else test_at - horizon
    train_at = _midnight(train) if train is not None else validation_at - horizon
    earliest, latest = data.start + timedelta(days=1), data.end - horizon
    for role, cutoff in (("test", test_at), ("validation", validation_at), ("train", train_at)):
        if not earliest <= cutoff <= latest:
            if earliest > latest:
                raise ModelError(
                    f"the data is too short for a {horizon_days}-day horizon: {data.text()}; "
                    "load a longer history or pass a shorter --horizon-days"
                )
            raise ModelError(
                f"the {role} cutoff {cutoff:%Y-%m-%d} is outside the data: {data.text()}, so "
                f"with a {horizon_days}-day horizon a cutoff must lie between "
                f"{earliest:%Y-%m-%d} and {latest:%Y-%m-%d} (it needs purchases before it and "
                f"{horizon_days} days of data after it)"
            )
    for earlier, later, names in (
        (train_at, validation_at, ("train", "validation")),
        (validation_at, test_at, ("validation", "test")),
    ):
        if earlier + horizon > later:
            raise ModelError(
                f"the {names[0]} cutoff {earlier:%Y-%m-%d} plus the {horizon_days}-day horizon "
                f"runs past the {names[1]} cutoff {later:%Y-%m-%d}; each label window must end "
                f"before the next cutoff (move the {names[0]} cutoff to "
                f"{later - horizon:%Y-%m-%d} or earlier)"
            )
    return TemporalSplit(train_at, validation_at, test_at, horizon_days, data)
