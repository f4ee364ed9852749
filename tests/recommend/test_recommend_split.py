"""Splits: which entries land in train and test, over train's vocabularies, with the unknown
test users and items dropped and counted; validation splits never touch the test period."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from growthloop.errors import ModelError
from growthloop.recommend import Interactions
from growthloop.recommend._split import leave_last_basket_out, temporal_split, validation_split

# user, item, weight, day of January 2024, basket
LOG = [
    ("A", "mug", 1.0, 1, "o1"),
    ("A", "lamp", 1.0, 1, "o1"),
    ("B", "mug", 1.0, 3, "o2"),
    ("A", "pen", 1.0, 10, "o3"),
    ("B", "lamp", 1.0, 12, "o4"),
    ("B", "lamp", -1.0, 14, "r1"),  # B returns the lamp
    ("A", "mug", 1.0, 21, "o5"),
    ("C", "pen", 1.0, 22, "o6"),  # C is new in the test period
    ("B", "vase", 1.0, 25, "o7"),  # the vase is new in the test period
    ("B", "pen", 1.0, 25, "o7"),
]


def _log(rows: list[tuple[str, str, float, int, str]] = LOG) -> Interactions:
    frame = pd.DataFrame(rows, columns=["user", "item", "weight", "day", "basket"])
    frame["time"] = pd.to_datetime("2024-01-01") + pd.to_timedelta(frame["day"] - 1, "D")
    return Interactions.from_frame(frame, user_col="user", item_col="item",
                                   weight_col="weight", time_col="time", basket_col="basket")


def _entries(log: Interactions) -> list[tuple[str, str, float]]:
    return [(str(log.user_ids[u]), str(log.item_ids[i]), float(w))
            for u, i, w in zip(log.user, log.item, log.weight, strict=True)]


def test_temporal_split_drops_what_train_never_saw() -> None:
    split = temporal_split(_log(), test_days=5)
    assert str(split.cutoff) == "2024-01-20T00:00:00"  # 5 days before Jan 25
    assert split.train.user_ids.tolist() == ["A", "B"]
    assert split.train.item_ids.tolist() == ["lamp", "mug", "pen"]
    assert _entries(split.train) == [
        ("A", "mug", 1.0), ("A", "lamp", 1.0), ("B", "mug", 1.0), ("A", "pen", 1.0),
        ("B", "lamp", 1.0), ("B", "lamp", -1.0),
    ]
    assert split.test.user_ids is split.train.user_ids
    assert _entries(split.test) == [("A", "mug", 1.0), ("B", "pen", 1.0)]
    assert (split.dropped_users, split.dropped_items, split.dropped_entries) == (1, 1, 2)
    assert (split.method, split.test_days) == ("temporal", 5)
    # The lamp bought and returned nets to nothing in B's training row.
    assert split.train.matrix().toarray().tolist() == [[1, 1, 1], [0, 1, 0]]


def test_a_given_cutoff_is_the_same_split() -> None:
    by_days = temporal_split(_log(), test_days=5)
    by_cutoff = temporal_split(_log(), cutoff=datetime(2024, 1, 20, tzinfo=UTC))
    assert _entries(by_cutoff.train) == _entries(by_days.train)
    assert _entries(by_cutoff.test) == _entries(by_days.test)
    assert by_cutoff.test_days == 5.0


def test_validation_is_carved_off_the_end_of_train() -> None:
    split = temporal_split(_log(), test_days=5)
    validation = validation_split(split)
    # The same 5 days off the end of train (latest Jan 14): from Jan 9 on.
    assert str(validation.cutoff) == "2024-01-09T00:00:00"
    assert _entries(validation.train) == [("A", "mug", 1.0), ("A", "lamp", 1.0),
                                          ("B", "mug", 1.0)]
    assert _entries(validation.test) == [("B", "lamp", 1.0), ("B", "lamp", -1.0)]
    assert (validation.dropped_items, validation.dropped_entries) == (1, 1)  # the pen
    assert validation.test.time.max() < split.cutoff


def test_leave_last_basket_out() -> None:
    split = leave_last_basket_out(_log())
    assert split.method == "last_basket"
    # A's last order is o5 (the mug), B's is o7 (vase, pen); C has one order: train only.
    assert sorted(_entries(split.test)) == [("A", "mug", 1.0), ("B", "pen", 1.0)]
    assert (split.dropped_items, split.dropped_entries) == (1, 1)  # the vase
    assert split.train.user_ids.tolist() == ["A", "B", "C"]
    assert ("C", "pen", 1.0) in _entries(split.train)
    # The validation split holds out the next-to-last baskets: A's o3, B's r1 is a return,
    # so B's o4.
    validation = validation_split(split)
    assert sorted(_entries(validation.test)) == [("A", "pen", 1.0), ("B", "lamp", 1.0)]
    # B's return came after o4, so it is in neither part.
    assert ("B", "lamp", -1.0) not in _entries(validation.train)


def test_the_last_basket_is_the_latest_and_ties_go_to_the_later_basket() -> None:
    rows = [("A", "mug", 1.0, 2, "o2"), ("A", "pen", 1.0, 1, "o1"), ("A", "lamp", 1.0, 1, "o1"),
            ("A", "lamp", 1.0, 2, "o3")]
    split = leave_last_basket_out(_log(rows))
    assert _entries(split.test) == [("A", "lamp", 1.0)]
    # The mug's basket has the same time as the test basket: not in train (not before it).
    assert _entries(split.train) == [("A", "pen", 1.0), ("A", "lamp", 1.0)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"test_days": 0}, "test_days=0 must be a positive number of days; pass for example 30"),
        ({"test_days": 5, "cutoff": datetime(2024, 1, 1)},
         "temporal_split needs exactly one of test_days and cutoff"),
        ({"test_days": 100}, "the cutoff 2023-10-17T00:00:00 leaves no training entries"),
        ({"cutoff": datetime(2024, 2, 1)}, "the cutoff 2024-02-01T00:00:00 leaves no test"),
    ],
)
def test_temporal_split_refuses_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ModelError) as error:
        temporal_split(_log(), **kwargs)  # type: ignore[arg-type]
    assert str(error.value).startswith(message)


def test_splits_need_times_or_baskets() -> None:
    frame = pd.DataFrame({"user": ["A", "A"], "item": ["x", "y"]})
    log = Interactions.from_frame(frame, user_col="user", item_col="item")
    with pytest.raises(ModelError) as error:
        temporal_split(log, test_days=1)
    assert str(error.value) == (
        "2 of 2 entries have no time; temporal_split needs a time per entry — pass time_col, "
        "or use leave_last_basket_out"
    )
    with pytest.raises(ModelError, match="^no entry has a basket; "):
        leave_last_basket_out(log)
    single = _log([("A", "x", 1.0, 1, "o1"), ("B", "x", 1.0, 2, "o2")])
    with pytest.raises(ModelError, match="^no user has two or more baskets"):
        leave_last_basket_out(single)


def test_split_of_many_users_is_fast_and_consistent() -> None:
    rng = np.random.default_rng(0)
    n = 300_000
    log = Interactions(
        user_ids=np.array([f"u{i}" for i in range(50_000)], dtype=object),
        item_ids=np.array([f"i{i}" for i in range(5_000)], dtype=object),
        user=rng.integers(0, 50_000, n).astype(np.int32),
        item=rng.integers(0, 5_000, n).astype(np.int32),
        weight=np.ones(n, np.float32),
        time=(np.datetime64("2024-01-01T00:00:00")
              + rng.integers(0, 365 * 86_400, n).astype("timedelta64[s]")),
        basket=rng.integers(0, 60_000, n).astype(np.int64),
    )
    split = leave_last_basket_out(log)
    kept = len(split.train) + len(split.test) + split.dropped_entries
    assert kept <= n and len(split.test) > 0
    temporal = temporal_split(log, test_days=30)
    assert len(temporal.train) + len(temporal.test) + temporal.dropped_entries == n


# A view (weight 0.1) of the mug by A in the test period, and a view-only last "basket" for B.
VIEWED = [*LOG, ("A", "lamp", 0.1, 23, "d-A-23"), ("B", "mug", 0.1, 26, "d-B-26")]


def test_only_testable_entries_are_test_and_the_rest_of_the_period_is_left_out() -> None:
    log = _log(VIEWED)
    lines = np.abs(log.weight) >= 1  # order lines, not views
    split = temporal_split(log, test_days=6, testable=lines)
    assert _entries(split.test) == [("A", "mug", 1.0), ("B", "pen", 1.0)]
    assert all(w != np.float32(0.1) for *_, w in _entries(split.train))
    plain = temporal_split(log, test_days=6)
    assert ("A", "lamp", np.float32(0.1)) in _entries(plain.test)
    with pytest.raises(ModelError, match="no test entry from the cutoff"):
        temporal_split(log, test_days=6, testable=np.zeros(len(log), dtype=bool))
    with pytest.raises(ModelError, match="testable must be one boolean per entry"):
        temporal_split(log, test_days=6, testable=lines[:3])


def test_leave_last_basket_out_skips_baskets_that_are_not_testable() -> None:
    log = _log(VIEWED)
    lines = np.abs(log.weight) >= 1
    split = leave_last_basket_out(log, testable=lines)
    # B's last purchase basket (o7), not the later day of views; A's o5, not the view.
    assert sorted(_entries(split.test)) == [("A", "mug", 1.0), ("B", "pen", 1.0)]
    plain = leave_last_basket_out(log)
    assert ("B", "mug", np.float32(0.1)) in _entries(plain.test)
