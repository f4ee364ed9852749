"""Popularity, GroupPopularity and TrendingPopularity on logs where the counts are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from growthloop.errors import ModelError
from growthloop.recommend import Interactions, TrainingData
from growthloop.recommend.sources import GroupPopularity, Popularity, TrendingPopularity

START = pd.Timestamp("2024-05-01")


def log_of(rows: list[tuple[str, str, int, float]]) -> Interactions:
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "day", "weight"])
    frame["time"] = START + pd.to_timedelta(frame["day"], unit="D")
    return Interactions.from_frame(frame, weight_col="weight", time_col="time")


# u1 bought X twice (latest day 10), u2 and u5 bought X, u3 bought Y and returned it, u4 bought Z.
SHOP = log_of([
    ("u1", "X", 0, 1), ("u1", "X", 10, 1), ("u2", "X", 20, 1), ("u5", "X", 0, 1),
    ("u3", "Y", 20, 1), ("u3", "Y", 20, -1), ("u4", "Z", 0, 1),
])
GROUPS = np.array(["uk", "uk", "fr", "fr", None], dtype=object)  # u1..u5


def test_decayed_count_of_distinct_users() -> None:
    source = Popularity(half_life_days=10).fit(TrainingData(SHOP))
    # X: u1 (latest day 10, 10 days old) 0.5 + u2 1 + u5 (20 days old) 0.25; Y returned; Z 0.25.
    assert source.item_scores_ == pytest.approx([1.75, -np.inf, 0.25])
    got = source.recommend(np.arange(5), 3)
    assert list(got.user) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert list(SHOP.item_ids[got.item[:2]]) == ["X", "Z"]


def test_undecayed_counts_and_exclusion_moves_down_the_list() -> None:
    source = Popularity(half_life_days=None).fit(TrainingData(SHOP))
    assert source.item_scores_ == pytest.approx([3.0, -np.inf, 1.0])
    exclude = sp.csr_matrix(([1.0], ([0], [0])), shape=(5, 3))  # u1 may not get X
    got = source.recommend(np.array([0, 1]), 2, exclude=exclude)
    assert list(got.user) == [0, 1, 1]
    assert list(SHOP.item_ids[got.item]) == ["Z", "X", "Z"]


def test_group_popularity_is_shrunk_towards_the_global_share() -> None:
    source = GroupPopularity(half_life_days=None, prior_users=1.0)
    source.fit(TrainingData(SHOP, groups=GROUPS))
    assert list(source.group_labels_) == ["uk", "fr"]
    assert list(source.group_sizes_) == [2.0, 1.0]  # u3 has no purchase left: not active
    # Global share p = (0.75, 0, 0.25) over 4 active users; score (c_g + m p) / (N_g + m).
    got = source.recommend(np.arange(5), 2)
    by_user = {u: list(SHOP.item_ids[got.item[got.user == u]]) for u in range(5)}
    assert by_user == {0: ["X", "Z"], 1: ["X", "Z"], 2: ["Z", "X"], 3: ["Z", "X"], 4: ["X", "Z"]}
    assert got.score[got.user == 0] == pytest.approx([(2 + 0.75) / 3, 0.25 / 3])
    assert got.score[got.user == 3] == pytest.approx([(1 + 0.25) / 2, 0.75 / 2])
    assert got.score[got.user == 4] == pytest.approx([0.75, 0.25])  # no group: global share


def test_group_popularity_without_groups_is_global() -> None:
    source = GroupPopularity(half_life_days=None).fit(TrainingData(SHOP))
    assert list(SHOP.item_ids[source.recommend(np.array([3]), 2).item]) == ["X", "Z"]
    with pytest.raises(ModelError, match=r"groups has 2 labels for 5 users"):
        GroupPopularity().fit(TrainingData(SHOP, groups=GROUPS[:2]))


def test_trending_ranks_rising_above_steady_above_fading() -> None:
    rows = [(f"s{d}", "steady", d, 1.0) for d in range(0, 60, 2)]
    rows += [(f"r{k}", "rising", 57 + k % 3, 1.0) for k in range(10)]
    rows += [(f"f{k}", "fading", k, 1.0) for k in range(10)]
    rows += [("late", "steady", 59, 1.0)]
    source = TrendingPopularity(short_half_life_days=7, long_half_life_days=60)
    got = source.fit(TrainingData(log_of(rows))).recommend(np.array([0]), 3)
    assert list(source_items(got.item, rows)) == ["rising", "steady", "fading"]


def source_items(items: np.ndarray, rows: list[tuple[str, str, int, float]]) -> list[str]:
    return list(np.unique([r[1] for r in rows])[items])


def test_trending_needs_short_below_long() -> None:
    with pytest.raises(ModelError, match=r"short_half_life_days=30 must be below long_half_life"):
        TrendingPopularity(short_half_life_days=30, long_half_life_days=30).fit(
            TrainingData(SHOP)
        )
