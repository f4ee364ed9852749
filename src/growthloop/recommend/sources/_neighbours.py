"""The k nearest neighbours of every row of a sparse similarity product, computed in blocks.

``left @ right`` (rows x rows) is never held whole: it is computed a block of rows at a time, each
block turned into similarities, stripped of each row's similarity to itself and cut to its ``k``
largest entries. A block holds as many rows as keep its multiplications (and so its stored
products) near ``BLOCK_CELLS``, so memory stays near that plus ``rows x k`` kept entries
however many columns the product has.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from growthloop.recommend.sources._ranking import BLOCK_CELLS, top_k_entries, top_n_dense

__all__ = ["top_k_neighbours", "top_k_per_row"]

#: Turns a block of raw products (rows ``first..first + block rows``) into similarities.
Similarity = Callable[[sp.csr_matrix, int], sp.csr_matrix]

#: Above this share of stored cells, a block's top k is found on its dense copy.
_DENSE_SHARE = 0.1


def top_k_neighbours(
    left: sp.csr_matrix,
    right: sp.csr_matrix,
    k: int,
    *,
    similarity: Similarity | None = None,
    cells: int = BLOCK_CELLS,
) -> sp.csr_matrix:
    """The ``k`` most similar other rows of each row of ``left @ right`` (a square product).

    ``similarity(block, first)`` maps a block of raw products to similarities (entries it sets to
    zero are dropped); without it the products are the similarities (e.g. of L2-normalised rows).
    """
    left = sp.csr_matrix(left)
    right = sp.csr_matrix(right)
    size = left.shape[0]
    blocks = []
    for first, last in _row_blocks(left, right, cells):
        block = sp.csr_matrix(left[first:last] @ right)
        if similarity is not None:
            block = sp.csr_matrix(similarity(block, first))
        rows = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
        block.data[block.indices == rows + first] = 0.0
        block.eliminate_zeros()
        blocks.append(top_k_per_row(block, k))
    if not blocks:
        return sp.csr_matrix((size, right.shape[1]), dtype=np.float32)
    return sp.csr_matrix(sp.vstack(blocks, format="csr"), dtype=np.float32)


def _row_blocks(
    left: sp.csr_matrix, right: sp.csr_matrix, cells: int
) -> list[tuple[int, int]]:
    """Consecutive row ranges of ``left`` whose products with ``right`` take about ``cells``
    multiplications each (at least one row per range)."""
    pattern = sp.csr_matrix(
        (np.ones(left.nnz, dtype=np.float64), left.indices, left.indptr), shape=left.shape
    )
    work = np.cumsum(pattern @ np.diff(right.indptr).astype(np.float64))
    ranges = []
    first = 0
    while first < left.shape[0]:
        done = work[first - 1] if first else 0.0
        last = max(int(np.searchsorted(work, done + cells, side="right")), first + 1)
        ranges.append((first, min(last, left.shape[0])))
        first = last
    return ranges


def top_k_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """``matrix`` (positive entries, no duplicates) keeping the ``k`` largest of each row; ties
    go to the lower column."""
    matrix = sp.csr_matrix(matrix)
    counts = np.diff(matrix.indptr)
    if counts.size == 0 or counts.max() <= k:
        return matrix
    cells = matrix.shape[0] * matrix.shape[1]
    if matrix.nnz > _DENSE_SHARE * cells and cells <= BLOCK_CELLS:
        columns, values = top_n_dense(matrix.toarray().astype(np.float32, copy=False), k)
        kept = values > 0
        row_of = np.broadcast_to(np.arange(matrix.shape[0])[:, None], columns.shape)
        return sp.csr_matrix(
            (values[kept], (row_of[kept], columns[kept])), shape=matrix.shape
        )
    matrix.sort_indices()
    keep = top_k_entries(matrix, k)
    keep = keep[matrix.data[keep] > 0]
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    return sp.csr_matrix(
        (matrix.data[keep], (rows[keep], matrix.indices[keep])), shape=matrix.shape
    )
