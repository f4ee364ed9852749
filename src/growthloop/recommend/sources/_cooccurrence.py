"""Items bought together: item-item co-occurrence over baskets or user histories."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import scipy.sparse as sp
from sklearn import preprocessing

from growthloop.recommend._candidates import TrainingData
from growthloop.recommend.sources._base import Constraint, Interval, Options
from growthloop.recommend.sources._item_based import ItemBasedSource
from growthloop.recommend.sources._neighbours import top_k_neighbours

__all__ = ["ItemCooccurrence"]


class ItemCooccurrence(ItemBasedSource):
    """Item-to-item recommendations from items that share baskets (or users).

    With ``c_i`` the number of contexts (baskets, or users) holding item ``i``, ``c_ij`` those
    holding both ``i`` and ``j`` and ``N`` all contexts, the similarity is

    - ``"cosine"``: ``c_ij / sqrt(c_i * c_j)``, the cosine of the binary item vectors (Sarwar et
      al. 2001, section 3.1.1; Linden, Smith & York 2003);
    - ``"lift"``: ``c_ij * N / (c_i * c_j)``, how much more often the pair occurs than if bought
      independently (the "interest" of Brin, Motwani, Ullman & Tsur 1997, "Dynamic itemset
      counting and implication rules for market basket data", SIGMOD).

    Pairs seen together fewer than ``min_count`` times are ignored (lift otherwise favours rare
    pairs); each item keeps its ``n_neighbours`` most similar items, and with ``normalize`` their
    similarities are scaled to sum to one, so an item with many strong neighbours does not
    dominate a long history (Deshpande & Karypis 2004, "Item-based top-N recommendation
    algorithms", ACM TOIS, section 4.3). A user's score for ``j`` is
    ``sum_i w(u, i) * s(i, j)`` over their history (see :class:`ItemBasedSource`); the anchor is
    the history item contributing most ("bought together with X"). Returns (negative weights)
    never make two items co-occur.

    Parameters
    ----------
    context
        ``"basket"``: entries sharing a basket co-occur (entries with no basket are grouped per
        user); ``"user"``: everything a user interacted with co-occurs.
    similarity
        ``"cosine"`` or ``"lift"``.
    n_neighbours
        Neighbours kept per item.
    min_count
        Fewest shared contexts for a pair to count.
    normalize
        Scale each item's neighbour similarities to sum to one.
    half_life_days
        Half-life of the history weights ``w(u, i)``; None for no decay.

    Examples
    --------
    >>> import pandas as pd
    >>> from growthloop.recommend import Interactions, TrainingData
    >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c"],
    ...                     "item_id": ["tea", "cup", "tea", "cup", "tea"],
    ...                     "basket": [1, 1, 2, 2, 3]})
    >>> data = TrainingData(Interactions.from_frame(log, basket_col="basket"))
    >>> source = ItemCooccurrence(context="basket", min_count=2, normalize=False).fit(data)
    >>> round(float(source.similarity_[1, 0]), 3)  # tea -> cup: 2 / sqrt(3 * 2)
    0.816
    """

    name = "cooccurrence"
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        **ItemBasedSource._parameter_constraints,
        "context": [Options(("basket", "user"))],
        "similarity": [Options(("cosine", "lift"))],
        "min_count": [Interval(int, 1, None)],
        "normalize": [Options((True, False))],
    }

    def __init__(
        self,
        *,
        context: Literal["basket", "user"] = "user",
        similarity: Literal["cosine", "lift"] = "cosine",
        n_neighbours: int = 10,
        min_count: int = 3,
        normalize: bool = True,
        half_life_days: float | None = 180.0,
    ) -> None:
        self.context = context
        self.similarity = similarity
        self.n_neighbours = n_neighbours
        self.min_count = min_count
        self.normalize = normalize
        self.half_life_days = half_life_days

    def _similarity(self, data: TrainingData) -> sp.csr_matrix:
        interactions = data.interactions
        positive = interactions.weight > 0
        users = interactions.user[positive].astype(np.int64)
        if self.context == "basket":
            baskets = interactions.basket[positive]
            first_unknown = int(baskets.max()) + 1 if len(baskets) else 0
            contexts = np.where(baskets >= 0, baskets, first_unknown + users)
        else:
            contexts = users
        _, rows = np.unique(contexts, return_inverse=True)
        holds = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, interactions.item[positive])),
            shape=(int(rows.max()) + 1 if len(rows) else 0, self.n_items_),
        )
        holds.sum_duplicates()
        holds.data[:] = 1.0
        item_counts = np.asarray(holds.sum(axis=0), dtype=np.float64).ravel()
        n_contexts = float(holds.shape[0])
        lift = self.similarity == "lift"
        min_count = self.min_count

        def similarity(block: sp.csr_matrix, first: int) -> sp.csr_matrix:
            rows = np.repeat(np.arange(block.shape[0]) + first, np.diff(block.indptr))
            together = block.data.astype(np.float64)
            if lift:
                values = together * n_contexts / (item_counts[rows] * item_counts[block.indices])
            else:
                values = together / np.sqrt(item_counts[rows] * item_counts[block.indices])
            block.data = np.where(together >= min_count, values, 0.0).astype(np.float32)
            return block

        neighbours = top_k_neighbours(
            holds.T.tocsr(), holds, self.n_neighbours, similarity=similarity
        )
        if self.normalize:
            neighbours = preprocessing.normalize(neighbours, norm="l1", axis=1)
        return neighbours
