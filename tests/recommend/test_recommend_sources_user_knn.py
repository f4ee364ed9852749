"""UserKNN: cosine neighbours of users and the neighbour-weighted score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from growthloop.errors import ModelError
from growthloop.recommend import Interactions, TrainingData
from growthloop.recommend.sources import UserKNN

# ann: x, y; bea: x, y, z (z twice); cal: x, w; dan: v alone.
ROWS = [("ann", "x"), ("ann", "y"), ("bea", "x"), ("bea", "y"), ("bea", "z"), ("bea", "z"),
        ("cal", "x"), ("cal", "w"), ("dan", "v")]
LOG = Interactions.from_frame(pd.DataFrame(ROWS, columns=["user_id", "item_id"]))
ITEM = {name: i for i, name in enumerate(LOG.item_ids)}


def test_neighbours_are_cosine_of_user_rows() -> None:
    source = UserKNN().fit(TrainingData(LOG))
    ann_bea = 2 / (np.sqrt(2) * np.sqrt(6))  # bea's row is x=1, y=1, z=2
    ann_cal = 1 / 2
    bea_cal = 1 / (np.sqrt(6) * np.sqrt(2))
    expected = np.array([
        [0, ann_bea, ann_cal, 0],
        [ann_bea, 0, bea_cal, 0],
        [ann_cal, bea_cal, 0, 0],
        [0, 0, 0, 0],
    ])
    assert source.neighbours_.toarray() == pytest.approx(expected, rel=1e-6)


def test_score_sums_neighbour_similarity_times_weight() -> None:
    source = UserKNN().fit(TrainingData(LOG))
    got = source.recommend(np.array([0, 3]), 5, exclude=LOG.matrix())
    assert list(got.user) == [0, 0]  # dan shares nothing with anybody
    assert list(LOG.item_ids[got.item]) == ["z", "w"]
    ann_bea = 2 / (np.sqrt(2) * np.sqrt(6))
    assert got.score == pytest.approx([ann_bea * 2, 0.5 * 1])
    assert (got.anchor == -1).all()


def test_fewer_neighbours_keep_the_closest() -> None:
    source = UserKNN(n_neighbours=1).fit(TrainingData(LOG))
    assert list(source.neighbours_.indices[:1]) == [1]  # ann's closest is bea
    got = source.recommend(np.array([0]), 5, exclude=LOG.matrix())
    assert list(LOG.item_ids[got.item]) == ["z"]


def test_an_item_links_only_its_heaviest_users_when_capped() -> None:
    exact = UserKNN(max_item_users=None).fit(TrainingData(LOG)).neighbours_.toarray()
    # x, the busiest item, has 3 users: a cap of 3 or more changes nothing.
    assert UserKNN(max_item_users=3).fit(TrainingData(LOG)).neighbours_.toarray() == (
        pytest.approx(exact, rel=1e-6)
    )
    # With 1, x and y link everybody to ann alone (her weight 1/sqrt(2) ties cal's on x; the
    # lower row wins), z to bea, w to cal: ann finds nobody but herself; bea and cal find ann,
    # with their exact similarity (every item they share with her reaches her).
    capped = UserKNN(max_item_users=1).fit(TrainingData(LOG)).neighbours_.toarray()
    expected = np.zeros((4, 4))
    expected[1, 0] = exact[1, 0]
    expected[2, 0] = exact[2, 0]
    assert capped == pytest.approx(expected, rel=1e-6)


def test_auto_is_exact_when_affordable_and_capped_within_the_budget() -> None:
    from growthloop.recommend.sources._user_knn import item_cap

    auto = UserKNN().fit(TrainingData(LOG))
    assert auto.item_cap_ is None
    exact = UserKNN(max_item_users=None).fit(TrainingData(LOG))
    assert (auto.neighbours_ != exact.neighbours_).nnz == 0
    degrees = [1000, 300, 10, 1]
    assert item_cap(degrees, 1e9) is None  # 1,090,101 multiplications
    cap = item_cap(degrees, 500_000)
    cost = sum(d * min(d, cap) for d in degrees)
    assert cost <= 500_000 < sum(d * min(d, cap + 1) for d in degrees)
    assert item_cap(degrees, 0) == 1
    with pytest.raises(ModelError, match="max_item_users"):
        UserKNN(max_item_users="all").fit(TrainingData(LOG))
