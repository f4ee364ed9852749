"""Turning scores into the n best items per user, never an excluded one.

Ties are broken by the lower item index, so the same scores always give the same ranking.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from growthloop.errors import ModelError
from growthloop.recommend._candidates import Candidates

__all__ = [
    "Ranked",
    "block_size",
    "candidates",
    "check_history",
    "check_users",
    "exclusion_rows",
    "remove_entries",
    "top_k_entries",
    "top_n_dense",
    "top_n_sparse",
]

#: The most cells (rows x columns) a dense or sparse block of scores may hold at once.
BLOCK_CELLS = 1 << 24

#: A ranked block: user rows, items (rows x n, -1 = none), scores (rows x n, -inf = none) and
#: anchors (rows x n, -1 = none).
Ranked = tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32], npt.NDArray[np.int32]
]


def block_size(columns: int, cells: int = BLOCK_CELLS) -> int:
    """How many rows of ``columns`` cells fit in one block."""
    return max(1, cells // max(columns, 1))


def check_users(users: npt.ArrayLike, n_users: int) -> npt.NDArray[np.int64]:
    """``users`` as an int64 vector of row indices in ``[0, n_users)``; a ModelError otherwise."""
    array = np.asarray(users)
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise ModelError(
            f"users must be a one-dimensional array of integer row indices, got dtype "
            f"{array.dtype} and shape {array.shape}; pass Interactions user rows"
        )
    array = array.astype(np.int64)
    outside = (array < 0) | (array >= n_users)
    if outside.any():
        raise ModelError(
            f"user row {int(array[outside][0])} is not one of the {n_users} users the source "
            f"was fitted on; pass row indices in 0..{n_users - 1} (new users: use popularity)"
        )
    return array


def check_history(history: object, n_items: int) -> sp.csr_matrix:
    """``history`` as a float32 CSR matrix with ``n_items`` columns; a ModelError otherwise."""
    if not sp.issparse(history) or getattr(history, "ndim", 0) != 2 or (
        getattr(history, "shape", (0, 0))[1] != n_items
    ):
        got = getattr(history, "shape", type(history).__name__)
        raise ModelError(
            f"history must be a sparse matrix with {n_items} item columns, got {got}; build it "
            "over the item_ids the source was fitted on"
        )
    return sp.csr_matrix(history, dtype=np.float32)


def exclusion_rows(
    exclude: sp.csr_matrix | None, users: npt.NDArray[np.int64], shape: tuple[int, int]
) -> sp.csr_matrix | None:
    """The rows of the users x items mask ``exclude`` for ``users`` (nonzero = excluded)."""
    if exclude is None:
        return None
    if not sp.issparse(exclude) or exclude.shape != shape:
        got = exclude.shape if hasattr(exclude, "shape") else type(exclude).__name__
        raise ModelError(
            f"exclude must be a sparse users x items matrix of shape {shape}, got {got}; "
            "pass a mask with one row per fitted user and one column per item"
        )
    rows = sp.csr_matrix(exclude)[users]
    rows.eliminate_zeros()
    return rows


def remove_entries(scores: sp.csr_matrix, excluded: sp.csr_matrix | None) -> sp.csr_matrix:
    """``scores`` without the entries stored in ``excluded`` (same shape)."""
    if excluded is None or excluded.nnz == 0 or scores.nnz == 0:
        return scores
    width = np.int64(scores.shape[1])
    keys = _row_of_entries(scores) * width + scores.indices
    banned = _row_of_entries(excluded) * width + excluded.indices
    banned = np.sort(banned)
    spot = np.minimum(np.searchsorted(banned, keys), len(banned) - 1)
    scores = scores.copy()
    scores.data[banned[spot] == keys] = 0.0
    scores.eliminate_zeros()
    return scores


def top_n_sparse(scores: sp.csr_matrix, n: int) -> tuple[
    npt.NDArray[np.int32], npt.NDArray[np.float32]
]:
    """The ``n`` highest stored entries of each row: items (-1 padded), scores (-inf padded)."""
    scores = sp.csr_matrix(scores)
    scores.sum_duplicates()  # and sorts the columns, so ties go to the lower column
    keep = top_k_entries(scores, n)
    rows = _row_of_entries(scores)[keep]
    values = scores.data[keep]
    columns = scores.indices[keep]
    order = np.lexsort((columns, -values, rows))
    rows, values, columns = rows[order], values[order], columns[order]
    slot = np.arange(len(rows)) - np.searchsorted(rows, rows)
    items = np.full((scores.shape[0], n), -1, dtype=np.int32)
    best = np.full((scores.shape[0], n), -np.inf, dtype=np.float32)
    items[rows, slot] = columns
    best[rows, slot] = values
    return items, best


def top_k_entries(matrix: sp.csr_matrix, k: int) -> npt.NDArray[np.int64]:
    """Positions (in storage order) of the ``k`` largest stored entries of each row of
    ``matrix`` (canonical CSR: sorted columns, no duplicates); ties go to the lower column.

    Each long row's k-th largest value is found by a partial sort of that row alone; the entries
    above it are kept, and of those equal to it the lowest columns, up to k in all.
    """
    counts = np.diff(matrix.indptr)
    if counts.size == 0 or counts.max() <= k:
        return np.arange(matrix.nnz, dtype=np.int64)
    data, indptr = matrix.data, matrix.indptr
    threshold = np.full(len(counts), -np.inf)
    for row in np.flatnonzero(counts > k):
        values = data[indptr[row] : indptr[row + 1]]
        threshold[row] = np.partition(values, len(values) - k)[len(values) - k]
    rows = _row_of_entries(matrix)
    bound = threshold[rows]
    above = data > bound
    tied = data == bound
    room = k - np.bincount(rows[above], minlength=len(counts))
    seen = np.cumsum(tied)
    tie_rank = seen - np.r_[0, seen][indptr[:-1]][rows]
    return np.flatnonzero(above | (tied & (tie_rank <= room[rows])))


def top_n_dense(scores: npt.NDArray[np.float32], n: int) -> tuple[
    npt.NDArray[np.int32], npt.NDArray[np.float32]
]:
    """The ``n`` best columns per row of ``scores``; ``-inf`` marks a column never to use."""
    rows, columns = scores.shape
    width = min(n, columns)
    # The width-th best value of each row; of the columns tied with it, the lowest are taken.
    boundary = -np.partition(-scores, width - 1, axis=1)[:, width - 1 : width]
    above = scores > boundary
    tied = scores == boundary
    wanted = width - above.sum(axis=1)
    chosen = above | tied
    crowded = np.flatnonzero(tied.sum(axis=1) > wanted)
    if len(crowded):
        first_tied = np.cumsum(tied[crowded], axis=1) <= wanted[crowded, None]
        chosen[crowded] = above[crowded] | (tied[crowded] & first_tied)
    columns_kept = np.nonzero(chosen)[1].reshape(rows, width)
    kept_values = np.take_along_axis(scores, columns_kept, axis=1)
    order = np.lexsort((columns_kept, -kept_values), axis=-1)
    items = np.full((rows, n), -1, dtype=np.int32)
    values = np.full((rows, n), -np.inf, dtype=np.float32)
    items[:, :width] = np.take_along_axis(columns_kept, order, axis=1)
    values[:, :width] = np.take_along_axis(kept_values, order, axis=1)
    items[~np.isfinite(values)] = -1
    return items, values


def candidates(source: str, n: int, blocks: Sequence[Ranked]) -> Candidates:
    """Candidates from ranked blocks ``(users, items, scores, anchors)`` taken in order."""
    if not blocks:
        empty = np.empty((0, n), dtype=np.int32)
        return Candidates.from_scores(
            source, np.empty(0, np.int32), empty, empty.astype(np.float32), empty
        )
    return Candidates.from_scores(
        source,
        np.concatenate([b[0] for b in blocks]).astype(np.int32),
        np.concatenate([b[1] for b in blocks]),
        np.concatenate([b[2] for b in blocks]),
        np.concatenate([b[3] for b in blocks]),
    )


def _row_of_entries(matrix: sp.csr_matrix) -> npt.NDArray[np.int64]:
    return np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
