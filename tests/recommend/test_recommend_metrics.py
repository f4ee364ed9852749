"""Ranking metrics: hand-computed values on a tiny example, and the same MAP, NDCG and precision
as ``implicit.evaluation.ranking_metrics_at_k`` on a fitted implicit model."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

from growthloop.errors import ModelError
from growthloop.recommend import Candidates, Interactions
from growthloop.recommend._metrics import ranking_metrics
from growthloop.recommend._split import temporal_split

USERS = np.array(["u0", "u1", "u2", "u3"], dtype=object)
ITEMS = np.array([f"i{i}" for i in range(6)], dtype=object)


def _log(entries: list[tuple[int, int, float]]) -> Interactions:
    user, item, weight = (np.array(column) for column in zip(*entries, strict=True))
    n = len(entries)
    return Interactions(
        user_ids=USERS, item_ids=ITEMS, user=user.astype(np.int32), item=item.astype(np.int32),
        weight=weight.astype(np.float32),
        time=np.full(n, np.datetime64("NaT"), dtype="datetime64[s]"),
        basket=np.full(n, -1, dtype=np.int64),
    )


def _candidates(lists: dict[int, list[int]]) -> Candidates:
    user = [u for u, items in lists.items() for _ in items]
    item = [i for items in lists.values() for i in items]
    score = [-float(r) for items in lists.values() for r in range(len(items))]
    return Candidates(source="test", user=np.array(user, np.int32),
                      item=np.array(item, np.int32), score=np.array(score, np.float32))


# Popularity in train: i0 by 3 of the 4 users, i1, i2 and i3 by one, i4 and i5 by none.
TRAIN = _log([(0, 0, 1.0), (0, 1, 1.0), (1, 0, 1.0), (2, 0, 1.0), (2, 2, 1.0), (3, 3, 1.0)])
# Relevant: u0 {i2, i4}; u1 {i1}; u2 none (i5 bought and returned); u3 {i0, i1, i4, i5}.
TEST = _log([(0, 2, 1.0), (0, 4, 2.0), (1, 1, 1.0), (2, 5, 1.0), (2, 5, -1.0), (3, 0, 1.0),
             (3, 1, 1.0), (3, 4, 1.0), (3, 5, 1.0)])


def test_hand_computed_metrics_at_3() -> None:
    # u3's lists come first (order of users does not matter) and repeat i2 (counted once);
    # u1 gets nothing (scores 0); u2 has nothing relevant (not evaluated).
    lists = {3: [2, 2, 0, 4], 0: [4, 1, 2, 3], 2: [0, 1, 3]}
    metrics = ranking_metrics(_candidates(lists), test=TEST, train=TRAIN, k=3)
    g = [1.0, 1 / math.log2(3), 0.5]  # gains at ranks 0, 1, 2
    # u0: hits at ranks 0 and 2 of 2 relevant; u3: hits at ranks 1 and 2 of 4 relevant.
    assert metrics.users == 3
    assert metrics.precision == pytest.approx((2 / 3 + 0 + 2 / 3) / 3)
    assert metrics.recall == pytest.approx((1.0 + 0 + 0.5) / 3)
    assert metrics.ndcg == pytest.approx(
        ((g[0] + g[2]) / (g[0] + g[1]) + 0 + (g[1] + g[2]) / sum(g)) / 3
    )
    assert metrics.map == pytest.approx(((1 + 2 / 3) / 2 + 0 + (1 / 2 + 2 / 3) / 3) / 3)
    assert metrics.hit_rate == pytest.approx(2 / 3)
    assert metrics.coverage == pytest.approx(4 / 6)  # i0, i1, i2, i4 shown to u0 and u3
    # Self-information: log2(4 / 1) = 2 for i1, i2 and i4 (no buyer counts as one), and
    # log2(4 / 3) for i0; six recommendations.
    assert metrics.novelty == pytest.approx((5 * 2 + math.log2(4 / 3)) / 6)
    assert metrics.as_dict() == {
        "k": 3, "users": 3, "precision": metrics.precision, "recall": metrics.recall,
        "ndcg": metrics.ndcg, "map": metrics.map, "hit_rate": metrics.hit_rate,
        "coverage": metrics.coverage, "novelty": metrics.novelty,
    }


def test_a_perfect_list_scores_one_and_an_empty_one_zero() -> None:
    perfect = ranking_metrics(_candidates({0: [2, 4], 1: [1], 3: [0, 1, 4, 5]}),
                              test=TEST, train=TRAIN, k=3)
    assert (perfect.ndcg, perfect.map, perfect.hit_rate) == (1.0, 1.0, 1.0)
    assert perfect.recall == pytest.approx((1 + 1 + 3 / 4) / 3)  # u3 has 4 relevant, k is 3
    empty = ranking_metrics(_candidates({}), test=TEST, train=TRAIN, k=3)
    assert empty.as_dict() | {"users": 3} == {
        "k": 3, "users": 3, "precision": 0.0, "recall": 0.0, "ndcg": 0.0, "map": 0.0,
        "hit_rate": 0.0, "coverage": 0.0, "novelty": 0.0,
    }


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ModelError, match=r"^k=0 must be a positive whole number"):
        ranking_metrics(_candidates({}), test=TEST, train=TRAIN, k=0)
    with pytest.raises(ModelError, match=r"^candidate item index 9 is outside the 6 training"):
        ranking_metrics(_candidates({0: [9]}), test=TEST, train=TRAIN)
    returns_only = _log([(0, 1, -1.0)])
    with pytest.raises(ModelError, match=r"^no test user has a relevant item"):
        ranking_metrics(_candidates({}), test=returns_only, train=TRAIN)


def _shop(seed: int, users: int, items: int, per_user: int) -> Interactions:
    """Users who buy mostly from one of eight item groups, over 100 days."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 8, users)
    user = np.repeat(np.arange(users), per_user)
    in_group = rng.random(len(user)) < 0.8
    item = np.where(in_group, group[user] * (items // 8) + rng.integers(0, items // 8, len(user)),
                    rng.integers(0, items, len(user)))
    day = rng.integers(0, 100, len(user))
    frame = pd.DataFrame({"user": user, "item": item,
                          "time": pd.Timestamp("2024-01-01") + pd.to_timedelta(day, "D")})
    return Interactions.from_frame(frame, user_col="user", item_col="item", time_col="time")


def test_same_map_ndcg_and_precision_as_implicit() -> None:
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.evaluation import ranking_metrics_at_k
    from threadpoolctl import threadpool_limits

    split = temporal_split(_shop(0, users=400, items=120, per_user=12), test_days=20)
    train, test = split.train.matrix(), split.test.matrix()
    k = 10
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=8, iterations=5, random_state=0, num_threads=1)
        model.fit(train, show_progress=False)
        users = np.flatnonzero(np.diff(test.indptr)).astype(np.int32)
        ids, scores = model.recommend(users, train[users], N=k, filter_already_liked_items=True)
        expected = ranking_metrics_at_k(model, train, test, K=k, show_progress=False)
    ours = ranking_metrics(Candidates.from_scores("als", users, ids, scores),
                           test=split.test, train=split.train, k=k)
    assert ours.users == len(users) > 300
    assert ours.map == pytest.approx(expected["map"], rel=1e-9)
    assert ours.ndcg == pytest.approx(expected["ndcg"], rel=1e-9)
    # implicit's "precision" is all hits over the sum of min(k, |relevant|) over users.
    hits = ours.precision * ours.users * k
    assert hits / np.minimum(np.diff(test.indptr), k).sum() == pytest.approx(
        expected["precision"], rel=1e-9
    )
    assert 0.0 < ours.ndcg < 1.0


def test_metrics_of_100k_users_take_well_under_a_second_or_two() -> None:
    rng = np.random.default_rng(1)
    users, items, k = 100_000, 20_000, 10
    test_user = np.repeat(np.arange(users), 3)
    log = Interactions(
        user_ids=np.arange(users).astype(str).astype(object),
        item_ids=np.arange(items).astype(str).astype(object),
        user=test_user.astype(np.int32),
        item=rng.integers(0, 50, len(test_user)).astype(np.int32),
        weight=np.ones(len(test_user), np.float32),
        time=np.full(len(test_user), np.datetime64("NaT"), dtype="datetime64[s]"),
        basket=np.full(len(test_user), -1, dtype=np.int64),
    )
    recommended = rng.permuted(np.tile(np.arange(50), (users, 1)), axis=1)[:, :k]
    candidates = Candidates.from_scores(
        "random", np.arange(users, dtype=np.int32), recommended.astype(np.int32),
        np.tile(-np.arange(k, dtype=np.float32), (users, 1)),
    )
    started = time.perf_counter()
    metrics = ranking_metrics(candidates, test=log, train=log, k=k)
    elapsed = time.perf_counter() - started
    assert metrics.users == users
    assert metrics.coverage == 50 / items
    # 10 of 50 items drawn at random: recall about 10/50 for users with 3 relevant items.
    assert metrics.recall == pytest.approx(0.2, abs=0.01)
    assert elapsed < 5.0  # about 0.3 s measured
