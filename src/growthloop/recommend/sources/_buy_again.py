"""Buy it again: the customer's own past purchases, ranked by how due a repurchase is."""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from growthloop.errors import ModelError
from growthloop.recommend._candidates import Candidates, TrainingData
from growthloop.recommend.sources._base import Constraint, Interval, SourceBase
from growthloop.recommend.sources._ranking import (
    block_size,
    candidates,
    check_users,
    exclusion_rows,
    remove_entries,
    top_n_sparse,
)

__all__ = ["BuyAgain"]

FloatVector = npt.NDArray[np.float64]


class BuyAgain(SourceBase):
    """Repeat-purchase recommendations after Bhagat, Muralidharan, Lobzhanidze & Vishwanath
    (2018), "Buy It Again: Modeling Repeat Purchase Recommendations", KDD.

    A purchase occasion is a distinct (user, item, day) with a weight of at least
    ``purchase_weight`` (views and cart-adds weigh less in the store's interactions); pairs
    whose purchases and returns sum to zero or less (bought and returned) are never
    recommended. For user ``u`` and item ``i`` bought ``n_ui`` times, last ``d`` days before the
    latest day in the log, the score is ``RCP(i) * n_ui * g_i(d)``:

    - ``RCP(i) = (R_i + 1) / (B_i + 2)``, the paper's repeat customer probability (buyers of
      ``i`` who bought it again, over all its buyers) with Laplace smoothing;
    - for an item with at least ``min_intervals`` repurchase intervals across customers, the
      paper's aggregate time distribution: a log-normal fitted to those intervals (median
      ``cycle_days_[i]``, log-spread ``spread_[i]`` of at least ``min_spread``), used as
      ``g_i(d) = exp(-(ln d - ln cycle) ** 2 / (2 * spread ** 2))``, which rises as ``d``
      approaches the item's typical cycle and falls after it;
    - for other items, recency decay ``g_i(d) = 0.5 ** (d / half_life_days)``.

    Entries without a time are ignored. The anchor of a candidate is the item itself.

    Parameters
    ----------
    half_life_days
        Recency half-life for items with no known repurchase cycle.
    min_intervals
        Fewest repurchase intervals (over all customers) to trust an item's cycle.
    min_spread
        Floor of the log-normal's spread (in log-days; 0.5 is a factor of about 1.6).
    purchase_weight
        Entries weighing at least this are purchases (the store's purchase weight is 1).

    Attributes
    ----------
    scores_
        Users x items CSR matrix of the scores above, as of ``as_of_``.
    cycle_days_, spread_
        Each item's typical repurchase interval and its log-spread (NaN: no known cycle).
    repeat_probability_
        Each item's ``RCP(i)``.
    """

    name = "buy_again"
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "half_life_days": [Interval(float, 0.0, None, closed="neither")],
        "min_intervals": [Interval(int, 1, None)],
        "min_spread": [Interval(float, 0.0, None, closed="neither")],
        "purchase_weight": [Interval(float, 0.0, None, closed="neither")],
    }

    scores_: sp.csr_matrix
    cycle_days_: FloatVector
    spread_: FloatVector
    repeat_probability_: FloatVector
    as_of_: np.datetime64

    def __init__(
        self,
        *,
        half_life_days: float = 30.0,
        min_intervals: int = 3,
        min_spread: float = 0.5,
        purchase_weight: float = 1.0,
    ) -> None:
        self.half_life_days = half_life_days
        self.min_intervals = min_intervals
        self.min_spread = min_spread
        self.purchase_weight = purchase_weight

    def fit(self, data: TrainingData) -> Self:
        """Learn repurchase cycles from ``data`` and score every user's past purchases."""
        interactions = self._start_fit(data)
        purchase = interactions.weight >= self.purchase_weight
        usable = purchase & ~np.isnat(interactions.time)
        if not usable.any():
            raise ModelError(
                "BuyAgain needs interaction times, but no purchase in the interactions has "
                "one; pass time_col to Interactions.from_frame"
            )
        n_items = np.int64(self.n_items_)
        keys = interactions.user[usable].astype(np.int64) * n_items + interactions.item[usable]
        days = interactions.time[usable].astype("datetime64[D]").astype(np.int64)
        order = np.lexsort((days, keys))
        keys, days = keys[order], days[order]
        occasion = np.r_[True, (keys[1:] != keys[:-1]) | (days[1:] != days[:-1])]
        keys, days = keys[occasion], days[occasion]

        self._fit_cycles(keys, days)
        first = np.r_[True, keys[1:] != keys[:-1]]
        last = np.r_[first[1:], True]
        pair = np.cumsum(first) - 1
        frequency = np.bincount(pair).astype(np.float64)
        user, item = keys[first] // n_items, keys[first] % n_items
        buyers = np.bincount(item, minlength=self.n_items_)
        repeaters = np.bincount(item[frequency >= 2], minlength=self.n_items_)
        self.repeat_probability_ = (repeaters + 1.0) / (buyers + 2.0)

        self.as_of_ = interactions.time[usable].max()
        today = self.as_of_.astype("datetime64[D]").astype(np.int64)
        elapsed = np.maximum(today - days[last], 0.5)
        score = self.repeat_probability_[item] * frequency * self._timing(item, elapsed)
        scores = sp.csr_matrix(
            (score, (user, item)), shape=(self.n_users_, self.n_items_), dtype=np.float64
        )
        bought = interactions.subset(purchase | (interactions.weight < 0)).matrix() > 0
        self.scores_ = sp.csr_matrix(scores.multiply(bought), dtype=np.float32)
        self.scores_.eliminate_zeros()
        return self

    def _fit_cycles(self, keys: npt.NDArray[np.int64], days: npt.NDArray[np.int64]) -> None:
        """A log-normal per item over the intervals between a customer's consecutive purchases."""
        again = keys[1:] == keys[:-1]
        log_gap = np.log((days[1:] - days[:-1])[again].astype(np.float64))
        item = (keys[1:] % self.n_items_)[again]
        count = np.bincount(item, minlength=self.n_items_).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(item, log_gap, minlength=self.n_items_) / count
            square = np.bincount(item, log_gap**2, minlength=self.n_items_) / count
        known = count >= self.min_intervals
        spread = np.sqrt(np.maximum(square - mean**2, 0.0))
        self.cycle_days_ = np.where(known, np.exp(mean), np.nan)
        self.spread_ = np.where(known, np.maximum(spread, self.min_spread), np.nan)

    def _timing(self, item: npt.NDArray[np.int64], elapsed: FloatVector) -> FloatVector:
        """``g_i(d)``: the log-normal kernel around the item's cycle, or recency decay."""
        cycle, spread = self.cycle_days_[item], self.spread_[item]
        known = np.isfinite(cycle)
        timing = 0.5 ** (elapsed / self.half_life_days)
        z = (np.log(elapsed[known]) - np.log(cycle[known])) / spread[known]
        timing[known] = np.exp(-0.5 * z**2)
        return timing

    def anchor_of(
        self, users: npt.NDArray[np.int64], items: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int32]:
        """The item itself (what the customer bought before)."""
        return np.asarray(items, dtype=np.int32).copy()

    def recommend(
        self,
        users: npt.NDArray[np.int32],
        n: int,
        *,
        exclude: sp.csr_matrix | None = None,
        anchors: bool = True,
    ) -> Candidates:
        """Each user's ``n`` most due past purchases; users with no purchases get none.

        A candidate's anchor is the item itself (``anchors`` changes nothing)."""
        self._check_fitted("scores_")
        self._check_n(n)
        rows = check_users(users, self.n_users_)
        excluded = exclusion_rows(exclude, rows, (self.n_users_, self.n_items_))
        n = min(n, self.n_items_)
        blocks = []
        step = block_size(n, cells=1 << 22)
        for first in range(0, len(rows), step):
            part = rows[first : first + step]
            scores = self.scores_[part]
            if excluded is not None:
                scores = remove_entries(scores, excluded[first : first + step])
            items, values = top_n_sparse(scores, n)
            blocks.append((part, items, values, items.copy()))  # cheap: always given
        return candidates(self.name, n, blocks)
