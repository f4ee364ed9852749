"""BuyAgain: repurchase cycles, repeat probability and recency on a hand-made log.

Four regulars buy coffee and tea every 10 days (days 0, 10, 20). "me" bought coffee on days 0
and 10 (due again on day 20) and tea on days 9 and 19 (just bought), a mug once on day 15 (no
cycle: recency decay) and a vase on day 12 that was returned on day 13. The log ends on day 20.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from growthloop.errors import ModelError
from growthloop.recommend import Interactions, TrainingData
from growthloop.recommend.sources import BuyAgain

START = pd.Timestamp("2024-03-01 09:00")


def purchase_log() -> pd.DataFrame:
    rows = []
    for regular in range(4):
        for day in (0, 10, 20):
            rows += [(f"regular{regular}", item, day, 1) for item in ("coffee", "tea")]
    rows += [("me", "coffee", 0, 1), ("me", "coffee", 10, 1)]
    rows += [("me", "tea", 9, 1), ("me", "tea", 19, 1)]
    rows += [("me", "mug", 15, 1), ("regular0", "mug", 5, 1)]
    rows += [("me", "vase", 12, 1), ("me", "vase", 13, -1)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "day", "weight"])
    frame["time"] = START + pd.to_timedelta(frame["day"], unit="D")
    return frame


LOG = Interactions.from_frame(purchase_log(), weight_col="weight", time_col="time")
ITEM = {name: i for i, name in enumerate(LOG.item_ids)}
ME = int(np.flatnonzero(LOG.user_ids == "me")[0])


@pytest.fixture(scope="module")
def fitted() -> BuyAgain:
    return BuyAgain(half_life_days=30.0).fit(TrainingData(LOG))


def test_cycles_and_repeat_probability(fitted: BuyAgain) -> None:
    # Every coffee and tea interval is 10 days; spread 0 is floored at min_spread.
    assert fitted.cycle_days_[ITEM["coffee"]] == pytest.approx(10.0)
    assert fitted.spread_[ITEM["tea"]] == pytest.approx(0.5)
    assert np.isnan(fitted.cycle_days_[ITEM["mug"]])
    # RCP = (repeaters + 1) / (buyers + 2): 5 of 5 coffee buyers repeat, 0 of 2 mug buyers.
    assert fitted.repeat_probability_[ITEM["coffee"]] == pytest.approx(6 / 7)
    assert fitted.repeat_probability_[ITEM["mug"]] == pytest.approx(1 / 4)
    assert fitted.as_of_ == np.datetime64("2024-03-21T09:00:00")


def test_due_item_ranks_above_one_just_bought(fitted: BuyAgain) -> None:
    got = fitted.recommend(np.array([ME]), 5)
    assert list(LOG.item_ids[got.item]) == ["coffee", "mug", "tea"]  # never the returned vase
    coffee = 6 / 7 * 2 * 1.0  # RCP * frequency * exp(0): exactly one cycle since last purchase
    mug = 1 / 4 * 1 * 0.5 ** (5 / 30)  # no cycle: recency decay
    tea = 6 / 7 * 2 * math.exp(-0.5 * (math.log(1 / 10) / 0.5) ** 2)
    assert got.score == pytest.approx([coffee, mug, tea], rel=1e-5)
    assert list(got.anchor) == list(got.item)


def test_overdue_purchases_fade(fitted: BuyAgain) -> None:
    # Regulars bought coffee today (day 20): far from due, below "me" whose coffee is due.
    regular = int(np.flatnonzero(LOG.user_ids == "regular1")[0])
    got = fitted.recommend(np.array([regular, ME]), 1)
    assert list(LOG.item_ids[got.item]) == ["coffee", "coffee"]
    assert got.score[0] < got.score[1] / 1000


def test_min_intervals_decides_when_a_cycle_is_trusted() -> None:
    strict = BuyAgain(min_intervals=10).fit(TrainingData(LOG))  # only 9 coffee intervals
    assert np.isnan(strict.cycle_days_).all()
    got = strict.recommend(np.array([ME]), 1)
    assert LOG.item_ids[got.item[0]] == "tea"  # now the most recent repeat purchase wins


def test_needs_times() -> None:
    untimed = Interactions.from_frame(purchase_log(), weight_col="weight")
    with pytest.raises(ModelError, match=r"BuyAgain needs interaction times.*pass time_col"):
        BuyAgain().fit(TrainingData(untimed))


def test_views_and_cart_adds_are_not_purchases() -> None:
    """In the store's interactions a view weighs 0.1 and a cart-add 0.3: neither is a purchase,
    so an item only viewed is never "bought before"."""
    frame = purchase_log()
    browsed = pd.DataFrame({"user_id": ["me", "me"], "item_id": ["teapot", "kettle"],
                            "day": [18, 19], "weight": [0.1, 0.3]})
    browsed["time"] = START + pd.to_timedelta(browsed["day"], unit="D")
    log = Interactions.from_frame(pd.concat([frame, browsed]), weight_col="weight",
                                  time_col="time")
    me = int(np.flatnonzero(log.user_ids == "me")[0])
    proposed = BuyAgain().fit(TrainingData(log)).recommend(np.array([me], np.int32), 10)
    names = {log.item_ids[i] for i in proposed.item}
    assert names == {"coffee", "tea", "mug"}
