"""What the matrix-factorisation sources share: ranking items by ``user_factor . item_factor``.

Models are trained and queried with the CPU code of the ``implicit`` library, with BLAS limited to
one thread (as ``implicit`` recommends; a BLAS thread pool inside its OpenMP loops slows it
tenfold) and ``num_threads`` OpenMP threads (1 by default, so runs repeat exactly).
"""

from __future__ import annotations

import abc
from typing import Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from implicit.cpu.topk import topk
from threadpoolctl import threadpool_limits

from growthloop.recommend._candidates import Candidates, TrainingData
from growthloop.recommend._interactions import Interactions
from growthloop.recommend.sources._base import SourceBase
from growthloop.recommend.sources._ranking import (
    block_size,
    candidates,
    check_users,
    exclusion_rows,
)

__all__ = ["MatrixFactorization"]

Factors = npt.NDArray[np.float32]

#: ``implicit``'s top-k marks filtered items with the lowest float32.
_FILTERED = float(np.finfo(np.float32).min)


class MatrixFactorization(SourceBase):
    """A recall source scoring ``user_factors_[u] @ item_factors_[i]``.

    Attributes
    ----------
    user_factors_, item_factors_
        C-contiguous ``float32`` arrays (users x factors, items x factors), ready to be saved
        and memory-mapped.
    history_
        Users x items CSR matrix of the training weights (users with none get no candidates).
    """

    num_threads: int
    random_state: int

    user_factors_: Factors
    item_factors_: Factors
    history_: sp.csr_matrix

    def fit(self, data: TrainingData) -> Self:
        """Factorise the users x items matrix of ``data``."""
        interactions = self._start_fit(data)
        history = self._history(interactions)
        with threadpool_limits(limits=1, user_api="blas"):
            user_factors, item_factors = self._train(history)
        self.history_ = history
        self.user_factors_ = np.ascontiguousarray(user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(item_factors, dtype=np.float32)
        return self

    @abc.abstractmethod
    def _history(self, interactions: Interactions) -> sp.csr_matrix:
        """The users x items weights the model learns from."""

    @abc.abstractmethod
    def _train(self, history: sp.csr_matrix) -> tuple[Factors, Factors]:
        """User and item factors learnt from ``history``."""

    def _anchors(
        self, history: sp.csr_matrix, factors: Factors, items: npt.NDArray[np.int32]
    ) -> npt.NDArray[np.int32]:
        """The history item explaining each candidate best (-1 when there is no explanation)."""
        return np.full(items.shape, -1, dtype=np.int32)

    def recommend(
        self,
        users: npt.NDArray[np.int32],
        n: int,
        *,
        exclude: sp.csr_matrix | None = None,
        anchors: bool = True,
    ) -> Candidates:
        """The ``n`` best items for each user row; users with no history get none."""
        self._check_fitted("item_factors_")
        self._check_n(n)
        rows = check_users(users, self.n_users_)
        excluded = exclusion_rows(exclude, rows, (self.n_users_, self.n_items_))
        return self._rank(
            rows, self.user_factors_[rows], self.history_[rows], n, excluded, anchors
        )

    def anchor_of(
        self, users: npt.NDArray[np.int64], items: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int32]:
        """The anchor :meth:`recommend` gives each (user row, item) pair."""
        self._check_fitted("item_factors_")
        rows = check_users(users, self.n_users_)
        wanted = np.asarray(items, dtype=np.int32).reshape(-1, 1)
        with threadpool_limits(limits=1, user_api="blas"):
            found = self._anchors(self.history_[rows], self.user_factors_[rows], wanted)
        return found[:, 0]

    def _top(
        self, query: Factors, n: int, banned: sp.csr_matrix | None
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        """The ``n`` best items of each query row that ``banned`` does not mark.

        ``implicit``'s own filter slices the mask row by row in Python; instead the best
        ``n + e`` are selected (``e``: the most items banned for one row), the banned ones
        dropped, and the first ``n`` left of each row kept: the same items.
        """
        extra = 0 if banned is None else int(np.diff(banned.indptr).max(initial=0))
        wanted = min(n + extra, self.n_items_)
        items, scores = topk(self.item_factors_, query, wanted, num_threads=self.num_threads)
        scores = np.where(scores <= _FILTERED, -np.inf, scores).astype(np.float32)
        valid = np.isfinite(scores)
        if extra:
            assert banned is not None
            keys = np.repeat(np.arange(len(query), dtype=np.int64), wanted) * self.n_items_
            keys += items.ravel()
            rows = np.repeat(np.arange(len(query), dtype=np.int64), np.diff(banned.indptr))
            forbidden = np.sort(rows * self.n_items_ + banned.indices)
            spot = np.minimum(np.searchsorted(forbidden, keys), len(forbidden) - 1)
            valid &= (forbidden[spot] != keys).reshape(items.shape)
        slot = np.cumsum(valid, axis=1) - 1
        keep = valid & (slot < n)
        top_items = np.full((len(query), n), -1, dtype=np.int32)
        top_scores = np.full((len(query), n), -np.inf, dtype=np.float32)
        row = np.nonzero(keep)[0]
        top_items[row, slot[keep]] = items[keep]
        top_scores[row, slot[keep]] = scores[keep]
        return top_items, top_scores

    def _rank(
        self,
        users: npt.NDArray[np.int64],
        factors: Factors,
        history: sp.csr_matrix,
        n: int,
        excluded: sp.csr_matrix | None,
        anchors: bool = True,
    ) -> Candidates:
        n = min(n, self.n_items_)
        active = np.flatnonzero(np.diff(history.indptr) > 0)
        blocks = []
        step = block_size(self.n_items_)
        with threadpool_limits(limits=1, user_api="blas"):
            for first in range(0, len(active), step):
                part = active[first : first + step]
                banned = None if excluded is None else excluded[part]
                items, scores = self._top(np.ascontiguousarray(factors[part]), n, banned)
                anchor = (
                    self._anchors(history[part], factors[part], items)
                    if anchors
                    else np.full(items.shape, -1, dtype=np.int32)
                )
                blocks.append((users[part], items, scores, anchor))
        return candidates(self.name, n, blocks)
