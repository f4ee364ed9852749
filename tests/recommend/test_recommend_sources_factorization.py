"""ALS and BPR through ``implicit``: determinism, factor layout, fold-in and explanations.

Twenty users in two clusters (``a*`` users buy three of six ``a-item*``, ``b*`` users three of
six ``b-item*``), with weights 1 to 3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from growthloop.errors import ModelError
from growthloop.recommend import Interactions, TrainingData
from growthloop.recommend.sources import ALS, BPR


def cluster_log() -> Interactions:
    rng = np.random.default_rng(1)
    rows = [
        (f"{letter}{u}", f"{letter}-item{k}", float(rng.integers(1, 4)))
        for letter in "ab"
        for u in range(10)
        for k in rng.choice(6, size=3, replace=False)
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "weight"])
    return Interactions.from_frame(frame, weight_col="weight")


LOG = cluster_log()
DATA = TrainingData(LOG)
USERS = np.arange(LOG.n_users)


@pytest.fixture(scope="module")
def als() -> ALS:
    return ALS(factors=2).fit(DATA)


def same(left: object, right: object) -> bool:
    fields = ("user", "item", "score", "anchor")
    return all(np.array_equal(getattr(left, f), getattr(right, f)) for f in fields)


def test_als_same_seed_same_factors_and_recommendations(als: ALS) -> None:
    again = ALS(factors=2).fit(DATA)
    assert np.array_equal(again.user_factors_, als.user_factors_)
    assert np.array_equal(again.item_factors_, als.item_factors_)
    assert same(again.recommend(USERS, 4), als.recommend(USERS, 4))
    other = ALS(factors=2, random_state=1).fit(DATA)
    assert not np.array_equal(other.item_factors_, als.item_factors_)


def test_als_factors_are_contiguous_float32(als: ALS) -> None:
    for factors, rows in ((als.user_factors_, LOG.n_users), (als.item_factors_, LOG.n_items)):
        assert factors.dtype == np.float32 and factors.flags.c_contiguous
        assert factors.shape == (rows, 2)


@pytest.mark.parametrize("weighting", ["bm25", "confidence"])
def test_als_scores_are_factor_products(weighting: str) -> None:
    model = ALS(factors=2, weighting=weighting).fit(DATA)  # type: ignore[arg-type]
    got = model.recommend(np.array([3]), 12)
    expected = model.user_factors_[3] @ model.item_factors_.T
    assert got.score == pytest.approx(np.sort(expected)[::-1], rel=1e-5)


def test_als_recalculate_user_matches_the_fitted_factors(als: ALS) -> None:
    folded = als.recalculate_user(als.history_)
    # implicit trains with conjugate gradient and folds in with Cholesky: close, not equal.
    assert folded == pytest.approx(als.user_factors_, abs=0.05)
    folded_top, fitted_top = als.recommend_history(als.history_, 3), als.recommend(USERS, 3)
    assert np.array_equal(folded_top.user, fitted_top.user)
    assert np.array_equal(folded_top.item, fitted_top.item)


def test_als_new_interactions_update_recommendations_without_retraining(als: ALS) -> None:
    items = {name: i for i, name in enumerate(LOG.item_ids)}
    history = sp.csr_matrix(
        ([1.0, 1.0], ([0, 1], [items["a-item0"], items["b-item0"]])), shape=(2, LOG.n_items)
    )
    got = als.recommend_history(history, 3, exclude=history)
    assert list(got.user) == [0, 0, 0, 1, 1, 1]
    assert all(name.startswith("a-") for name in LOG.item_ids[got.item[:3]])
    assert all(name.startswith("b-") for name in LOG.item_ids[got.item[3:]])
    assert set(got.anchor) == {items["a-item0"], items["b-item0"]}
    with pytest.raises(ModelError, match=r"history must be a sparse matrix with 12 item columns"):
        als.recalculate_user(np.ones((1, 12)))  # type: ignore[arg-type]


def test_als_anchor_is_implicits_top_explanation(als: ALS) -> None:
    got = als.recommend(USERS[:4], 3)
    with threadpool_limits(limits=1, user_api="blas"):
        model = AlternatingLeastSquares(factors=2, regularization=als.regularization)
    model.item_factors, model.user_factors = als.item_factors_, als.user_factors_
    confidence = als._confidence(als.history_)
    for user, item, anchor in zip(got.user, got.item, got.anchor, strict=True):
        _, top, _ = model.explain(int(user), confidence, int(item), N=1)
        assert anchor == top[0][0]


def test_bpr_factors_carry_a_bias_column_and_repeat_with_one_thread() -> None:
    bpr = BPR(factors=4, iterations=20).fit(DATA)
    assert bpr.item_factors_.shape == (LOG.n_items, 5)
    assert bpr.user_factors_.shape == (LOG.n_users, 5)
    assert np.all(bpr.user_factors_[:, -1] == 1.0)
    again = BPR(factors=4, iterations=20).fit(DATA)
    assert np.array_equal(again.item_factors_, bpr.item_factors_)
    assert (bpr.recommend(USERS, 3).anchor == -1).all()


@pytest.mark.parametrize("banned_share", [0.0, 0.3, 0.9])
def test_excluded_items_give_the_best_of_the_rest(als: ALS, banned_share: float) -> None:
    """The exclusion is applied after a wider selection; the result is the brute force's."""
    rng = np.random.default_rng(2)
    mask = sp.csr_matrix(rng.random((LOG.n_users, LOG.n_items)) < banned_share)
    n = 5
    got = als.recommend(USERS, n, exclude=mask)
    scores = als.user_factors_ @ als.item_factors_.T
    scores[mask.toarray()] = -np.inf
    for user in np.unique(got.user):
        row = scores[user]
        allowed = np.flatnonzero(np.isfinite(row))
        best = allowed[np.argsort(-row[allowed], kind="stable")][:n]
        mine = got.item[got.user == user]
        assert list(mine) == list(best), user
        assert not mask[user, mine].toarray().any()
    # Users with nothing left get nothing.
    assert als.recommend(USERS[:2], n, exclude=sp.csr_matrix(np.ones((LOG.n_users,
                                                                      LOG.n_items)))).user.size == 0
