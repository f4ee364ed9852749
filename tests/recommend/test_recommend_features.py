"""Candidate features, checked against values worked out by hand on a tiny log."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from growthloop.errors import ModelError
from growthloop.recommend import Candidates, Catalogue, Interactions
from growthloop.recommend._features import LogStatistics, candidate_features, purchases

DAY0 = np.datetime64("2024-01-01T00:00:00", "s")


def _log() -> Interactions:
    # user, item, weight, day
    entries = [
        (0, 0, 1.0, 0),
        (0, 1, 1.0, 0),
        (0, 0, 1.0, 10),
        (0, 2, 0.1, 12),  # a view
        (1, 0, 1.0, 5),
        (1, 0, -1.0, 6),  # returned: the pair nets to zero
        (1, 2, 1.0, 8),
        (2, 3, 1.0, 20),  # the latest entry: as_of is day 20
    ]
    user, item, weight, day = (np.array(column) for column in zip(*entries, strict=True))
    return Interactions(
        user_ids=np.array(["u0", "u1", "u2"], dtype=object),
        item_ids=np.array(["i0", "i1", "i2", "i3"], dtype=object),
        user=user.astype(np.int32),
        item=item.astype(np.int32),
        weight=weight.astype(np.float32),
        time=DAY0 + (day * 86_400).astype("timedelta64[s]"),
        basket=np.full(len(entries), -1, dtype=np.int64),
    )


CATALOGUE = Catalogue(
    text=np.array(["Green tea", "Black tea", "Mug", "Gift card"], dtype=object),
    category=np.array(["tea", "tea", "cup", ""], dtype=object),
    price=np.array([2.0, 4.0, 10.0, np.nan]),
    available=np.array([True, True, True, False]),
)


def _sources() -> list[Candidates]:
    popular = Candidates(
        source="popular",
        user=np.array([0, 0, 1], np.int32),
        item=np.array([2, 3, 1], np.int32),
        score=np.array([0.9, 0.5, 0.7], np.float32),
    )
    together = Candidates(
        source="cooccurrence",
        user=np.array([0, 0, 1], np.int32),
        item=np.array([3, 1, 1], np.int32),
        score=np.array([0.8, 0.6, 0.4], np.float32),
        anchor=np.array([0, 0, 2], np.int32),
    )
    return [popular, together]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    table = candidate_features(
        _sources(), train=_log(), catalogue=CATALOGUE, half_life_days=10.0
    )
    assert table.sources == ("popular", "cooccurrence")
    assert list(table.features.columns) == table.feature_names
    return table.frame


def test_union_has_one_row_per_pair_with_each_sources_score_and_rank(frame):
    assert frame[["user", "item"]].to_numpy().tolist() == [[0, 1], [0, 2], [0, 3], [1, 1]]
    np.testing.assert_allclose(frame["popular_score"], [np.nan, 0.9, 0.5, 0.7], rtol=1e-6)
    np.testing.assert_array_equal(frame["popular_rank"], [1000, 1, 2, 1])
    np.testing.assert_allclose(frame["cooccurrence_score"], [0.6, np.nan, 0.8, 0.4], rtol=1e-6)
    np.testing.assert_array_equal(frame["cooccurrence_rank"], [2, 1000, 1, 1])
    np.testing.assert_array_equal(frame["n_sources"], [1, 1, 2, 2])


def test_best_ranked_source_and_its_anchor_are_kept_ties_going_to_the_first_source(frame):
    assert frame["source"].astype(str).tolist() == [
        "cooccurrence", "popular", "cooccurrence", "popular"
    ]
    assert frame["anchor"].tolist() == [0, -1, 0, -1]


def test_item_popularity_and_recency(frame):
    # i1: u0 only; i2: u0 (a view) and u1; i3: u2. u1's i0 nets to zero and does not count.
    np.testing.assert_array_equal(frame["item_users"], [1, 2, 1, 1])
    # Each user counts 0.5 ** (days since their last interaction / 10).
    i2 = 0.5 ** (8 / 10) + 0.5 ** (12 / 10)
    np.testing.assert_allclose(frame["item_recent_users"], [0.25, i2, 1.0, 0.25])
    np.testing.assert_allclose(frame["item_days_since_first"], [20, 12, 0, 20])
    np.testing.assert_allclose(frame["item_days_since_last"], [20, 8, 0, 20])


def test_price_against_the_users_median_paid_price(frame):
    # u0 paid 2, 4, 2 (median 2); u1 paid 2 and 10 (median 6); the view of i2 is not paid.
    np.testing.assert_allclose(frame["item_price"], [4, 10, np.nan, 4])
    np.testing.assert_allclose(frame["price_ratio"], [2.0, 5.0, np.nan, 4 / 6])


def test_category_affinity_is_the_users_weight_share_in_the_category(frame):
    # u0: tea 2 + 1, cup 0.1 of 3.1; u1: cup 1 of 1 (its i0 nets to zero); i3 has no category.
    np.testing.assert_allclose(frame["category_affinity"], [3 / 3.1, 0.1 / 3.1, np.nan, 0.0])
    np.testing.assert_array_equal(frame["user_items"], [3, 3, 3, 1])


def test_the_users_own_history_with_the_item(frame):
    np.testing.assert_array_equal(frame["interactions"], [1, 1, 0, 0])
    np.testing.assert_array_equal(frame["purchases"], [1, 0, 0, 0])
    np.testing.assert_allclose(frame["net_weight"], [1.0, 0.1, 0.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(frame["days_since_interaction"], [20, 8, np.nan, np.nan])
    np.testing.assert_allclose(frame["days_since_purchase"], [20, np.nan, np.nan, np.nan])


def test_without_a_catalogue_price_and_category_are_unknown():
    frame = candidate_features(_sources(), train=_log()).frame
    assert frame[["item_price", "price_ratio", "category_affinity"]].isna().all().all()


def test_ranks_beyond_missing_rank_are_clipped():
    frame = candidate_features(_sources(), train=_log(), missing_rank=1).frame
    assert set(frame["popular_rank"]) == {1.0}


def test_purchases_counts_entries_of_at_least_the_purchase_weight():
    bought = purchases(_log()).toarray()
    np.testing.assert_array_equal(
        bought, [[2, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]]
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"half_life_days": 0.0}, "half_life_days=0.0 must be > 0"),
        ({"purchase_weight": -1.0}, "purchase_weight=-1.0 must be > 0"),
        ({"missing_rank": 0}, "missing_rank=0 must be a whole number >= 1"),
    ],
)
def test_bad_parameters_name_value_rule_and_fix(kwargs, message):
    with pytest.raises(ModelError, match=message):
        candidate_features(_sources(), train=_log(), **kwargs)


def test_bad_candidates_are_refused():
    with pytest.raises(ModelError, match="no candidates"):
        candidate_features([], train=_log())
    twice = [_sources()[0], _sources()[0]]
    with pytest.raises(ModelError, match=r"source names \['popular'\] occur more than once"):
        candidate_features(twice, train=_log())
    outside = Candidates(
        source="x",
        user=np.array([0], np.int32),
        item=np.array([9], np.int32),
        score=np.array([1.0], np.float32),
    )
    with pytest.raises(ModelError, match="outside the training vocabularies"):
        candidate_features([outside], train=_log())
    short = Catalogue(CATALOGUE.text[:2], CATALOGUE.category[:2], CATALOGUE.price[:2],
                      CATALOGUE.available[:2])
    with pytest.raises(ModelError, match="the catalogue has 2 items"):
        candidate_features(_sources(), train=_log(), catalogue=short)


def test_statistics_computed_once_give_the_same_features_for_every_batch():
    log = _log()
    stats = LogStatistics.of(log, CATALOGUE)
    whole = candidate_features(_sources(), train=log, catalogue=CATALOGUE)
    reused = candidate_features(_sources(), train=log, catalogue=CATALOGUE, statistics=stats)
    pd.testing.assert_frame_equal(whole.frame, reused.frame)
    # one batch per user, from the same statistics, gives the same rows
    parts = []
    for user in (0, 1):
        batch = [Candidates(source=c.source, user=c.user[c.user == user],
                            item=c.item[c.user == user], score=c.score[c.user == user],
                            anchor=c.anchor[c.user == user]) for c in _sources()]
        parts.append(candidate_features(batch, train=log, catalogue=CATALOGUE,
                                        statistics=stats).frame)
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole.frame)


def test_statistics_of_another_log_are_refused():
    log = _log()
    keep = log.user < 2
    smaller = Interactions(user_ids=log.user_ids[:2], item_ids=log.item_ids, user=log.user[keep],
                           item=log.item[keep], weight=log.weight[keep], time=log.time[keep],
                           basket=log.basket[keep])
    other = LogStatistics.of(smaller)
    with pytest.raises(ModelError, match="the statistics describe 2 users x 4 items"):
        candidate_features(_sources(), train=_log(), statistics=other)
