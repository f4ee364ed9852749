"""The shared ranking helpers: n best per row, ties to the lower item, exclusions removed."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from growthloop.recommend.sources._ranking import remove_entries, top_n_dense, top_n_sparse


def test_dense_ties_go_to_the_lower_item_and_minus_inf_is_never_shown() -> None:
    scores = np.array([[1, 2, 2, 2, 0], [-np.inf, 3, -np.inf, -np.inf, -np.inf]], np.float32)
    items, values = top_n_dense(scores, 3)
    assert items.tolist() == [[1, 2, 3], [1, -1, -1]]
    assert values.tolist() == [[2, 2, 2], [3, -np.inf, -np.inf]]
    wide, _ = top_n_dense(scores, 7)
    assert wide.tolist() == [[1, 2, 3, 0, 4, -1, -1], [1, -1, -1, -1, -1, -1, -1]]


def test_sparse_rows_rank_stored_entries_only() -> None:
    scores = sp.csr_matrix(np.array([[0, 5, 1, 5], [0, 0, 0, 0], [2, 0, 0, 0]], np.float32))
    items, values = top_n_sparse(scores, 2)
    assert items.tolist() == [[1, 3], [-1, -1], [0, -1]]
    assert values.tolist() == [[5, 5], [-np.inf, -np.inf], [2, -np.inf]]


def test_remove_entries_drops_exactly_the_excluded_cells() -> None:
    scores = sp.csr_matrix(np.array([[1, 2, 3], [4, 5, 6]], np.float32))
    excluded = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 1]], bool))
    assert remove_entries(scores, excluded).toarray().tolist() == [[1, 0, 3], [0, 5, 0]]
