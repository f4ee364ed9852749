"""ItemCooccurrence: cosine and lift over baskets, anchors, and the blocked neighbour search.

Five baskets: {p, q}, {p, q}, {p, r}, {q, r}, {p, q, r}; so p and q are in 4 baskets, r in 3,
p and q share 3, p and r 2, q and r 2 (a returned r in the first basket does not count).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from growthloop.recommend import Interactions, TrainingData
from growthloop.recommend.sources import ItemCooccurrence
from growthloop.recommend.sources._neighbours import top_k_neighbours, top_k_per_row

BASKETS = [("U1", "B1", "pq"), ("U2", "B2", "pq"), ("U1", "B3", "pr"), ("U2", "B4", "qr"),
           ("U3", "B5", "pqr")]
ROWS = [(user, basket, item, 1.0) for user, basket, items in BASKETS for item in items]
ROWS.append(("U1", "B1", "r", -1.0))
LOG = Interactions.from_frame(
    pd.DataFrame(ROWS, columns=["user_id", "basket", "item_id", "weight"]),
    weight_col="weight",
    basket_col="basket",
)
DATA = TrainingData(LOG)


def fit(**params: object) -> ItemCooccurrence:
    settings = {"context": "basket", "min_count": 1, "normalize": False, **params}
    return ItemCooccurrence(**settings).fit(DATA)  # type: ignore[arg-type]


def test_cosine_over_baskets() -> None:
    expected = np.array([
        [0, 3 / 4, 2 / np.sqrt(12)],
        [3 / 4, 0, 2 / np.sqrt(12)],
        [2 / np.sqrt(12), 2 / np.sqrt(12), 0],
    ])
    assert fit().similarity_.toarray() == pytest.approx(expected, rel=1e-6)


def test_lift_over_baskets_and_min_count() -> None:
    expected = np.array([
        [0, 3 * 5 / 16, 2 * 5 / 12],
        [3 * 5 / 16, 0, 2 * 5 / 12],
        [2 * 5 / 12, 2 * 5 / 12, 0],
    ])
    assert fit(similarity="lift").similarity_.toarray() == pytest.approx(expected, rel=1e-6)
    only_pq = fit(min_count=3).similarity_.toarray()
    assert only_pq == pytest.approx(np.array([[0, 0.75, 0], [0.75, 0, 0], [0, 0, 0]]))


def test_normalised_rows_and_neighbour_cut() -> None:
    rows = fit(normalize=True).similarity_.toarray()
    assert rows.sum(axis=1) == pytest.approx([1.0, 1.0, 1.0])
    nearest = fit(n_neighbours=1).similarity_.toarray()
    assert list((nearest > 0).sum(axis=1)) == [1, 1, 1]
    assert list(nearest.argmax(axis=1)) == [1, 0, 0]  # r's tie between p and q: lower index


def test_user_context_counts_users() -> None:
    # U1 holds p, q, r; U2 p, q, r; U3 p, q, r: every pair shares all three users.
    assert fit(context="user").similarity_.toarray() == pytest.approx(1 - np.eye(3))


def test_score_is_weighted_sum_and_anchor_the_strongest_history_item() -> None:
    source = fit()
    history = sp.csr_matrix(np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 3.0]], dtype=np.float32))
    got = source.recommend_history(history, 5, exclude=history)
    assert list(got.user) == [0, 1, 1]
    assert list(LOG.item_ids[got.item]) == ["q", "p", "q"]
    assert got.score == pytest.approx([0.75 + 2 / np.sqrt(12), 6 / np.sqrt(12), 6 / np.sqrt(12)])
    assert list(LOG.item_ids[got.anchor]) == ["p", "r", "r"]


def test_recommend_history_matches_recommend_for_known_users() -> None:
    source = fit(half_life_days=None)
    users = np.arange(LOG.n_users)
    direct = source.recommend(users, 3)
    again = source.recommend_history(source.history_, 3)
    for field in ("user", "item", "score", "anchor"):
        assert np.array_equal(getattr(direct, field), getattr(again, field))


def test_blocked_neighbours_equal_unblocked() -> None:
    rng = np.random.default_rng(3)
    holds = sp.random(300, 40, density=0.08, random_state=rng, format="csr", dtype=np.float32)
    whole = top_k_neighbours(holds.T.tocsr(), holds, 5)
    blocked = top_k_neighbours(holds.T.tocsr(), holds, 5, cells=7 * 40)
    assert (whole != blocked).nnz == 0
    assert whole.diagonal().sum() == 0 and (np.diff(whole.indptr) <= 5).all()


@pytest.mark.parametrize("density", [0.05, 0.5])  # the sparse and the dense path
def test_top_k_per_row_keeps_the_largest(density: float) -> None:
    rng = np.random.default_rng(4)
    matrix = sp.random(50, 60, density=density, random_state=rng, format="csr")
    kept = top_k_per_row(matrix, 3).toarray()
    dense = matrix.toarray()
    for row in range(50):
        expected = sorted(dense[row][dense[row] > 0], reverse=True)[:3]
        assert sorted(kept[row][kept[row] > 0], reverse=True) == pytest.approx(expected)


@pytest.mark.parametrize("density", [0.05, 0.5])
def test_top_k_per_row_breaks_ties_by_the_lower_column(density: float) -> None:
    rng = np.random.default_rng(8)
    matrix = sp.random(200, 120, density=density, random_state=rng, format="csr")
    matrix.data = np.round(matrix.data * 4) / 4  # many ties, some zeros
    matrix.data[rng.random(matrix.nnz) < 0.1] *= -1  # and negatives, never kept
    for k in (1, 3, 7):
        kept = top_k_per_row(matrix, k)
        for row in range(matrix.shape[0]):
            line = matrix.getrow(row)
            best = sorted(((-v, c) for v, c in zip(line.data, line.indices, strict=True)
                           if v > 0))[:k]
            got = kept.getrow(row)
            assert sorted(got.indices.tolist()) == sorted(c for _, c in best), (k, row)
