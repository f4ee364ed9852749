"""Customers like you: user-based nearest neighbours over the users x items matrix."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from growthloop.recommend._candidates import Candidates, TrainingData
from growthloop.recommend.sources._base import Constraint, Interval, Options, SourceBase
from growthloop.recommend.sources._neighbours import top_k_neighbours, top_k_per_row
from growthloop.recommend.sources._ranking import (
    block_size,
    candidates,
    check_users,
    exclusion_rows,
    remove_entries,
    top_n_sparse,
)

__all__ = ["AUTO_PRODUCTS", "UserKNN", "item_cap"]

#: Multiplications the neighbour search may take before ``max_item_users="auto"`` caps the
#: items' links (about a minute or two of sparse products on one core).
AUTO_PRODUCTS = 1_000_000_000


def item_cap(degrees: npt.ArrayLike, budget: float) -> int | None:
    """None when items with these user counts cost at most ``budget`` multiplications
    (``sum d^2``), else the largest cap ``M >= 1`` with ``sum d * min(d, M) <= budget``."""
    d = np.asarray(degrees, dtype=np.float64)
    if float(d @ d) <= budget:
        return None
    low, high = 1, int(d.max())
    while low < high:
        middle = (low + high + 1) // 2
        if float(d @ np.minimum(d, middle)) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


class UserKNN(SourceBase):
    """User-based collaborative filtering (Herlocker, Konstan, Borchers & Riedl 1999, "An
    algorithmic framework for performing collaborative filtering", SIGIR).

    Two users' similarity is the cosine of their rows of the (decayed) users x items matrix;
    each user keeps their ``n_neighbours`` most similar other users (computed in blocks of users,
    so the users x users matrix is never held whole). Neighbours are found through shared
    items, and the work is ``sum_j d_j^2`` multiplications for items with ``d_j`` users: the
    square of the busiest items' customer counts (3 x 10^11 at 1M customers x 50k items). An
    item may therefore link only its ``max_item_users`` heaviest users (largest normalised
    weights, the largest terms of the cosines) to the others; ``"auto"`` keeps the search
    exact while it takes at most :data:`AUTO_PRODUCTS` multiplications and otherwise picks
    the largest cap within them (about 93 at 1M customers x 50k items). A user's score for
    item ``j`` is
    ``sum_v sim(u, v) * w(v, j)`` over their neighbours ``v``, the weighted sum of Herlocker et
    al.'s neighbourhood prediction without its mean-centring (implicit feedback has no ratings to
    centre). Candidates have no anchor item (the reason is "customers like you bought it").

    Parameters
    ----------
    n_neighbours
        Neighbours kept per user.
    max_item_users
        Users an item links to others at most (its heaviest); None for every user (exact, and
        quadratic in the most popular items' customer counts); ``"auto"`` (default): exact when
        affordable, else the largest affordable cap.
    half_life_days
        Half-life of the interaction weights; None for no decay.

    Attributes
    ----------
    neighbours_
        Users x users CSR matrix of similarities, ``n_neighbours`` entries per row at most.
    item_cap_
        The cap used (None: exact).
    history_
        Users x items CSR matrix of (decayed) interaction weights.
    """

    name = "user_knn"
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "n_neighbours": [Interval(int, 1, None)],
        "max_item_users": [Interval(int, 1, None), None, Options(("auto",))],
        "half_life_days": [Interval(float, 0.0, None, closed="neither"), None],
    }

    neighbours_: sp.csr_matrix
    history_: sp.csr_matrix
    item_cap_: int | None

    def __init__(
        self,
        *,
        n_neighbours: int = 50,
        max_item_users: int | Literal["auto"] | None = "auto",
        half_life_days: float | None = None,
    ) -> None:
        self.n_neighbours = n_neighbours
        self.max_item_users = max_item_users
        self.half_life_days = half_life_days

    def fit(self, data: TrainingData) -> Self:
        """Find every user's nearest neighbours in ``data``."""
        interactions = self._start_fit(data)
        history = interactions.matrix(half_life_days=self.half_life_days)
        unit = sp.csr_matrix(normalize(history, norm="l2", axis=1))
        linked = unit.T.tocsr()
        cap = self.max_item_users
        if cap == "auto":
            cap = item_cap(np.diff(linked.indptr), AUTO_PRODUCTS)
        self.item_cap_ = cap if isinstance(cap, int) else None
        if self.item_cap_ is not None:
            linked = top_k_per_row(linked, self.item_cap_)
        self.neighbours_ = top_k_neighbours(unit, linked, self.n_neighbours)
        self.history_ = history
        return self

    def recommend(
        self,
        users: npt.NDArray[np.int32],
        n: int,
        *,
        exclude: sp.csr_matrix | None = None,
        anchors: bool = True,
    ) -> Candidates:
        """The ``n`` best items for each user row; users with no history get none."""
        self._check_fitted("neighbours_")
        self._check_n(n)
        rows = check_users(users, self.n_users_)
        excluded = exclusion_rows(exclude, rows, (self.n_users_, self.n_items_))
        n = min(n, self.n_items_)
        blocks = []
        step = block_size(self.n_items_)
        for first in range(0, len(rows), step):
            part = rows[first : first + step]
            scores = sp.csr_matrix(self.neighbours_[part] @ self.history_)
            if excluded is not None:
                scores = remove_entries(scores, excluded[first : first + step])
            items, values = top_n_sparse(scores, n)
            blocks.append((part, items, values, np.full(items.shape, -1, np.int32)))
        return candidates(self.name, n, blocks)
