"""The learned ranker: it learns a planted signal, repeats itself and refuses bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from growthloop.errors import ModelError, NotFittedError
from growthloop.recommend import (
    Candidates,
    Catalogue,
    Interactions,
    TrainingData,
    ranking_metrics,
    temporal_split,
)
from growthloop.recommend._features import candidate_features, purchases
from growthloop.recommend._ranker import LearnedRanker, training_frame
from growthloop.recommend._reasons import explain
from growthloop.recommend._rerank import RerankRules, as_candidates, rerank

N_USERS, N_ITEMS, PER_USER = 300, 60, 20
DAY0 = np.datetime64("2024-01-01T00:00:00", "s")


def _interactions(user, item, weight=None) -> Interactions:
    user = np.asarray(user, np.int32)
    return Interactions(
        user_ids=np.array([f"u{u}" for u in range(N_USERS)], dtype=object),
        item_ids=np.array([f"i{i}" for i in range(N_ITEMS)], dtype=object),
        user=user,
        item=np.asarray(item, np.int32),
        weight=np.ones(len(user), np.float32) if weight is None else weight,
        time=np.full(len(user), DAY0, dtype="datetime64[s]"),
        basket=np.full(len(user), -1, dtype=np.int64),
    )


TRAIN = _interactions(np.arange(N_USERS), np.arange(N_USERS) % N_ITEMS)


def _ordered(name: str, user, item, score) -> Candidates:
    """Candidates best first within each user by ``score``."""
    order = np.lexsort((-score, user))
    return Candidates(
        source=name,
        user=user[order].astype(np.int32),
        item=item[order].astype(np.int32),
        score=score[order].astype(np.float32),
    )


def _world(seed: int) -> tuple[list[Candidates], Interactions]:
    """Sources A (noise) and B (the planted signal) over the same candidates, and the labels."""
    rng = np.random.default_rng(seed)
    user = np.repeat(np.arange(N_USERS), PER_USER)
    item = np.concatenate([rng.choice(N_ITEMS, PER_USER, replace=False) for _ in range(N_USERS)])
    signal = rng.random(len(user))
    relevant = signal + 0.1 * rng.standard_normal(len(user)) > 0.85
    noise = rng.random(len(user))
    sources = [_ordered("a", user, item, noise), _ordered("b", user, item, signal)]
    return sources, _interactions(user[relevant], item[relevant])


@pytest.fixture(scope="module")
def fitted() -> LearnedRanker:
    sources, later = _world(seed=1)
    examples = training_frame(sources, later, train=TRAIN)
    assert examples.labels.sum() == len(later)
    return LearnedRanker(n_estimators=40, learning_rate=0.05, num_leaves=7).fit(
        examples.features, examples.labels, examples.groups
    )


def _pipeline(ranker: LearnedRanker, sources: list[Candidates]) -> Candidates:
    table = candidate_features(sources, train=TRAIN)
    ranked = table.frame[["user", "item", "source", "anchor"]].assign(score=ranker.rank(table))
    top = rerank(ranked, n=10, rules=RerankRules(bought="allow"))
    return as_candidates(top, source="ranker")


def test_the_ranker_learns_the_planted_signal_and_beats_the_noise_source(fitted):
    sources, later = _world(seed=2)
    ranked = ranking_metrics(_pipeline(fitted, sources), test=later, train=TRAIN, k=10)
    by_a = ranking_metrics(sources[0], test=later, train=TRAIN, k=10)
    by_b = ranking_metrics(sources[1], test=later, train=TRAIN, k=10)
    assert ranked.ndcg > by_a.ndcg + 0.3
    assert ranked.ndcg > by_b.ndcg - 0.02
    importance = fitted.importance()
    assert sum(v for k, v in importance.items() if k.startswith("b_")) > 0.8
    assert fitted.feature_importances_.sum() == pytest.approx(1.0)


def test_the_ranker_puts_the_b_favoured_item_first(fitted):
    sources, _ = _world(seed=3)
    first = _pipeline(fitted, sources)
    b = sources[1]
    top_b = b.item[np.r_[True, b.user[1:] != b.user[:-1]]]
    top_ranked = first.item[np.r_[True, first.user[1:] != first.user[:-1]]]
    assert np.mean(top_b == top_ranked) > 0.9


def test_training_is_deterministic(fitted):
    sources, later = _world(seed=1)
    examples = training_frame(sources, later, train=TRAIN)
    again = LearnedRanker(n_estimators=40, learning_rate=0.05, num_leaves=7).fit(
        examples.features, examples.labels, examples.groups
    )
    np.testing.assert_array_equal(again.rank(examples.features), fitted.rank(examples.features))


def test_the_cascade_scores_each_users_shortlist_exactly_and_the_rest_below(fitted):
    sources, _ = _world(seed=2)
    table = candidate_features(sources, train=TRAIN)
    users = table.frame["user"].to_numpy()
    full = fitted.rank(table)
    fitted.screen_trees = 10
    try:
        cascade = fitted.rank(table, groups=users, keep=5)
        screen = fitted.model_.booster_.predict(table.features.to_numpy(float), num_iteration=10)
    finally:
        fitted.screen_trees = 20
    frame = pd.DataFrame({"user": users, "full": full, "cascade": cascade, "screen": screen})
    for _, rows in frame.groupby("user"):
        kept = rows.nlargest(5, "screen", keep="first").index
        dropped = rows.index.difference(kept)
        # The shortlist (the screen's best 5) keeps the whole model's scores ...
        np.testing.assert_array_equal(rows.loc[kept, "cascade"], rows.loc[kept, "full"])
        # ... and everything else ranks below it, in screening order.
        assert rows.loc[dropped, "cascade"].max() < rows.loc[kept, "cascade"].min()
        by_screen = rows.loc[dropped].sort_values("screen", kind="stable")["cascade"]
        assert by_screen.is_monotonic_increasing
    # On the planted world the cascade's top item is the full model's for most users.
    top = frame.loc[frame.groupby("user")["cascade"].idxmax(), "full"].to_numpy()
    assert np.mean(top == frame.groupby("user")["full"].max().to_numpy()) > 0.95
    with pytest.raises(ModelError, match="keep=0 must be a whole number >= 1"):
        fitted.rank(table, groups=users, keep=0)
    with pytest.raises(ModelError, match="groups has 3 entries"):
        fitted.rank(table, groups=users[:3], keep=5)


def test_the_compiled_forests_score_as_lightgbm_and_are_not_pickled(fitted):
    sources, _ = _world(seed=2)
    table = candidate_features(sources, train=TRAIN)
    users = table.frame["user"].to_numpy()
    fitted.screen_trees = 10
    twin = pickle.loads(pickle.dumps(fitted))
    try:
        plain, plain_cascade = fitted.rank(table), fitted.rank(table, groups=users, keep=5)
        assert twin.compile() is twin and set(twin.compiled_) == {10, None}
        np.testing.assert_allclose(twin.rank(table), plain, rtol=0, atol=1e-12)
        np.testing.assert_allclose(twin.rank(table, groups=users, keep=5), plain_cascade,
                                   rtol=0, atol=1e-12)
        # The compiled code is what scored: it is used, and changing its output shows.
        twin.compiled_[None] = _Scaled(twin.compiled_[None])
        np.testing.assert_allclose(twin.rank(table), 2 * plain, rtol=0, atol=1e-12)
        again = pickle.loads(pickle.dumps(twin))
    finally:
        fitted.screen_trees = 20
    assert not hasattr(again, "compiled_")
    np.testing.assert_allclose(again.rank(table), plain, rtol=0, atol=1e-12)
    examples = training_frame(*_world(seed=1), train=TRAIN)
    twin.fit(examples.features, examples.labels, examples.groups)  # a refit drops the old code
    assert not hasattr(twin, "compiled_")
    with pytest.raises(NotFittedError):
        LearnedRanker().compile()


class _Scaled:
    def __init__(self, forest) -> None:
        self.forest = forest

    def predict(self, matrix, n_jobs):
        return 2 * self.forest.predict(matrix, n_jobs=n_jobs)


def test_users_without_a_relevant_candidate_are_dropped(fitted):
    sources, later = _world(seed=1)
    examples = training_frame(sources, later, train=TRAIN)
    with_positive = np.unique(examples.groups[examples.labels > 0])
    assert fitted.n_groups_ == len(with_positive) < N_USERS


def test_rank_needs_the_fitted_columns_and_ignores_others(fitted):
    sources, _ = _world(seed=2)
    frame = candidate_features(sources, train=TRAIN).frame
    scores = fitted.rank(frame)  # user, item, source and anchor are ignored
    assert scores.shape == (len(frame),)
    with pytest.raises(ModelError, match=r"lack the columns \['b_score', 'b_rank'\]"):
        fitted.rank(frame.drop(columns=["b_score", "b_rank"]))


def test_not_fitted_and_bad_parameters():
    with pytest.raises(NotFittedError, match="This LearnedRanker instance is not fitted yet"):
        LearnedRanker().rank(pd.DataFrame({"x": [1.0]}))
    features = pd.DataFrame({"x": [0.0, 1.0]})
    with pytest.raises(ModelError, match=r"n_estimators=0\) is invalid: .* in \[1, inf\]"):
        LearnedRanker(n_estimators=0).fit(features, [0, 1], [0, 0])
    with pytest.raises(ModelError, match=r"num_threads=1.5\) is invalid: num_threads must be an"):
        LearnedRanker(num_threads=1.5).fit(features, [0, 1], [0, 0])  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="'depth' is not a hyperparameter"):
        LearnedRanker().set_params(depth=3)


def test_bad_training_input():
    features = pd.DataFrame({"x": [0.0, 1.0, 2.0]})
    with pytest.raises(ModelError, match="features have 3 rows, labels 2 and groups 3"):
        LearnedRanker().fit(features, [0, 1], [0, 0, 0])
    with pytest.raises(ModelError, match="labels must be whole numbers >= 0"):
        LearnedRanker().fit(features, [0, -1, 1], [0, 0, 0])
    with pytest.raises(ModelError, match="none of the 2 users has a relevant candidate"):
        LearnedRanker().fit(features, [0, 0, 0], [0, 0, 1])
    with pytest.raises(ModelError, match=r"feature columns \['name'\] are not numeric"):
        LearnedRanker().fit(features.assign(name=["a", "b", "c"]), [0, 1, 0], [0, 0, 0])


def test_params_round_trip():
    ranker = LearnedRanker(num_leaves=5)
    assert ranker.get_params()["num_leaves"] == 5
    assert ranker.set_params(num_leaves=9).num_leaves == 9
    assert "LearnedRanker(" in repr(ranker)


def test_pipeline_with_real_sources():
    """Popularity and co-occurrence, features, ranker, re-ranking and reasons end to end."""
    from growthloop.recommend.sources import ItemCooccurrence, Popularity

    rng = np.random.default_rng(0)
    users, items, days, baskets = [], [], [], []
    for user in range(120):
        for basket in range(4):
            pair = int(rng.integers(0, 10))  # items 2k and 2k+1 are bought together
            for item in (2 * pair, 2 * pair + 1):
                users.append(user)
                items.append(item)
                days.append(basket * 10 + int(rng.integers(0, 5)))
                baskets.append(user * 10 + basket)
    log = pd.DataFrame(
        {
            "user_id": users,
            "item_id": [f"p{i:02d}" for i in items],
            "time": DAY0 + np.array(days) * np.timedelta64(1, "D"),
            "basket": baskets,
        }
    )
    split = temporal_split(
        Interactions.from_frame(log, time_col="time", basket_col="basket"), test_days=8
    )
    train = split.train
    data = TrainingData(train)
    sources = [Popularity(half_life_days=None).fit(data), ItemCooccurrence(min_count=1).fit(data)]
    rows = np.arange(train.n_users, dtype=np.int32)
    candidates = [source.recommend(rows, 8) for source in sources]
    examples = training_frame(candidates, split.test, train=train)
    ranker = LearnedRanker(n_estimators=20, num_leaves=7, min_child_samples=5).fit(
        examples.features, examples.labels, examples.groups
    )
    catalogue = Catalogue(
        text=np.array([f"Product {i}\nlong description" for i in train.item_ids], dtype=object),
        category=np.array(["even" if int(i[1:]) % 2 == 0 else "odd" for i in train.item_ids],
                          dtype=object),
        price=np.ones(train.n_items),
        available=np.ones(train.n_items, dtype=bool),
    )
    ranked = examples.features.frame[["user", "item", "source", "anchor"]].assign(
        score=ranker.rank(examples.features)
    )
    top = rerank(ranked, n=3, rules=RerankRules(max_per_category=2), catalogue=catalogue,
                 bought=purchases(train))
    explained = explain(top, catalogue=catalogue)
    assert explained.groupby("user").size().max() <= 3
    category = catalogue.category[explained["item"].to_numpy()]
    assert (explained.groupby([explained["user"], category]).size() <= 2).all()
    assert set(explained["reason_code"]) <= {"popular", "cooccurrence"}
    together = explained[explained["reason_code"] == "cooccurrence"]
    assert len(together) > 0
    assert together["reason"].str.fullmatch(r"bought together with Product p\d\d").all()
    assert set(explained.loc[explained["reason_code"] == "popular", "reason"]) <= {"bestseller"}
    bought = purchases(train).toarray() > 0
    assert not bought[explained["user"], explained["item"]].any()
