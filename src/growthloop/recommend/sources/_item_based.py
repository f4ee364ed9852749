"""What item-to-item sources share: scoring a history through a sparse item x item similarity.

A user's score for item ``j`` is ``sum_i w(u, i) * s(i, j)`` over the items ``i`` in their
history, with ``w`` their (optionally decayed) interaction weight: the item-based collaborative
filtering of Sarwar, Karypis, Konstan & Riedl (2001), "Item-based collaborative filtering
recommendation algorithms", WWW, and of Linden, Smith & York (2003), "Amazon.com recommendations:
item-to-item collaborative filtering", IEEE Internet Computing. The candidate's anchor is the
history item contributing most, so the reason can say "bought together with X".
"""

from __future__ import annotations

import abc
from typing import ClassVar, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from growthloop.recommend._candidates import Candidates, TrainingData
from growthloop.recommend.sources._base import Constraint, Interval, SourceBase
from growthloop.recommend.sources._ranking import (
    block_size,
    candidates,
    check_history,
    check_users,
    exclusion_rows,
    remove_entries,
    top_n_sparse,
)

__all__ = ["ItemBasedSource", "strongest_contributors"]


class ItemBasedSource(SourceBase):
    """A recall source whose fitted state is an item x item similarity and the users' histories.

    Attributes
    ----------
    similarity_
        Items x items CSR matrix: row ``i`` holds the nearest neighbours of item ``i``.
    history_
        Users x items CSR matrix of (decayed) interaction weights, the ``w(u, i)`` above.
    """

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "n_neighbours": [Interval(int, 1, None)],
        "half_life_days": [Interval(float, 0.0, None, closed="neither"), None],
    }

    n_neighbours: int
    half_life_days: float | None

    similarity_: sp.csr_matrix
    history_: sp.csr_matrix

    def fit(self, data: TrainingData) -> Self:
        """Learn the item similarity from ``data`` and keep the users' histories."""
        interactions = self._start_fit(data)
        self.similarity_ = self._similarity(data)
        self.history_ = interactions.matrix(half_life_days=self.half_life_days)
        return self

    @abc.abstractmethod
    def _similarity(self, data: TrainingData) -> sp.csr_matrix:
        """The items x items similarity, at most ``n_neighbours`` entries per row."""

    def recommend(
        self,
        users: npt.NDArray[np.int32],
        n: int,
        *,
        exclude: sp.csr_matrix | None = None,
        anchors: bool = True,
    ) -> Candidates:
        """The ``n`` best items for each user row; users with no history get none."""
        self._check_fitted("similarity_")
        self._check_n(n)
        rows = check_users(users, self.n_users_)
        excluded = exclusion_rows(exclude, rows, (self.n_users_, self.n_items_))
        return self._rank(rows, self.history_[rows], min(n, self.n_items_), excluded, anchors)

    def anchor_of(
        self, users: npt.NDArray[np.int64], items: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int32]:
        """The history item of each user contributing most to the paired item's score."""
        self._check_fitted("similarity_")
        rows = check_users(users, self.n_users_)
        wanted = np.asarray(items, dtype=np.int32).reshape(-1, 1)
        return strongest_contributors(self.history_[rows], self.similarity_, wanted)[:, 0]

    def recommend_history(
        self, history: sp.csr_matrix, n: int, *, exclude: sp.csr_matrix | None = None
    ) -> Candidates:
        """The ``n`` best items for histories given now (e.g. with interactions newer than fit).

        ``history`` is a histories x items matrix of interaction weights (as
        :meth:`Interactions.matrix` builds); ``Candidates.user`` is the row in ``history`` and
        ``exclude``, when given, has the same shape.
        """
        self._check_fitted("similarity_")
        self._check_n(n)
        history = check_history(history, self.n_items_)
        rows = np.arange(history.shape[0], dtype=np.int64)
        excluded = exclusion_rows(exclude, rows, history.shape)
        return self._rank(rows, history, min(n, self.n_items_), excluded)

    def _rank(
        self,
        users: npt.NDArray[np.int64],
        history: sp.csr_matrix,
        n: int,
        excluded: sp.csr_matrix | None,
        anchors: bool = True,
    ) -> Candidates:
        blocks = []
        step = block_size(self.n_items_)
        for first in range(0, len(users), step):
            part = history[first : first + step]
            scores = sp.csr_matrix(part @ self.similarity_)
            if excluded is not None:
                scores = remove_entries(scores, excluded[first : first + step])
            items, values = top_n_sparse(scores, n)
            anchor = (
                strongest_contributors(part, self.similarity_, items)
                if anchors
                else np.full(items.shape, -1, dtype=np.int32)
            )
            blocks.append((users[first : first + step], items, values, anchor))
        return candidates(self.name, n, blocks)


def strongest_contributors(
    history: sp.csr_matrix, similarity: sp.csr_matrix, items: npt.NDArray[np.int32]
) -> npt.NDArray[np.int32]:
    """For each candidate ``items[r, s]``, the history item ``i`` of row ``r`` maximising
    ``w(r, i) * similarity[i, item]`` (-1 for padding); ties go to the lower item index."""
    anchors = np.full(items.shape, -1, dtype=np.int32)
    row, slot = np.nonzero(items >= 0)
    if len(row) == 0:
        return anchors
    history = sp.csr_matrix(history)
    lengths = np.diff(history.indptr)[row]
    pair = np.repeat(np.arange(len(row)), lengths)
    if len(pair) == 0:
        return anchors
    offset = np.arange(len(pair)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    position = history.indptr[row][pair] + offset
    source = history.indices[position]
    target = items[row, slot][pair]
    link = np.asarray(similarity[source, target]).ravel()
    contribution = history.data[position] * link
    order = np.lexsort((source, -contribution, pair))
    first = order[np.r_[True, pair[order][1:] != pair[order][:-1]]]
    found = contribution[first] > 0
    anchors[row[pair[first][found]], slot[pair[first][found]]] = source[first][found]
    return anchors
