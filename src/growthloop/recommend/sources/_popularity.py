"""Popular items: globally, within the customer's group, and trending now.

All three count distinct users with a time decay: a user who interacted with an item counts
``0.5 ** (d / half_life_days)``, ``d`` the days from their latest interaction with it to the
latest time in the log (pairs whose weights sum to zero or less, e.g. bought and returned, do
not count). Popularity answers every user, also those with no history.
"""

from __future__ import annotations

import abc
from typing import ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from growthloop.errors import ModelError
from growthloop.recommend._candidates import Candidates, TrainingData
from growthloop.recommend._interactions import Interactions
from growthloop.recommend.sources._base import Constraint, Interval, SourceBase
from growthloop.recommend.sources._ranking import (
    block_size,
    candidates,
    check_users,
    exclusion_rows,
    top_n_dense,
)

__all__ = ["GroupPopularity", "Popularity", "TrendingPopularity"]

FloatVector = npt.NDArray[np.float32]

_HALF_LIFE: list[Constraint] = [Interval(float, 0.0, None, closed="neither"), None]
_PRIOR: list[Constraint] = [Interval(float, 0.0, None, closed="left")]


class _RankedByItemScore(SourceBase):
    """A source that ranks items by one score vector per group of users (-inf: never shown)."""

    @abc.abstractmethod
    def _groups_of(self, users: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The score vector each user reads (an index for :meth:`_scores`)."""

    @abc.abstractmethod
    def _scores(self, group: int) -> FloatVector:
        """The item scores of one group."""

    #: An attribute that exists once the source is fitted.
    _fitted_attribute: ClassVar[str] = "item_scores_"

    def recommend(
        self,
        users: npt.NDArray[np.int32],
        n: int,
        *,
        exclude: sp.csr_matrix | None = None,
        anchors: bool = True,
    ) -> Candidates:
        """The ``n`` most popular items for each user row that ``exclude`` does not rule out."""
        self._check_fitted(self._fitted_attribute)
        self._check_n(n)
        rows = check_users(users, self.n_users_)
        excluded = exclusion_rows(exclude, rows, (self.n_users_, self.n_items_))
        n = min(n, self.n_items_)
        items = np.full((len(rows), n), -1, dtype=np.int32)
        scores = np.full((len(rows), n), -np.inf, dtype=np.float32)
        groups = self._groups_of(rows)
        for group in np.unique(groups):
            members = np.flatnonzero(groups == group)
            banned = None if excluded is None else excluded[members]
            _fill(self._scores(int(group)), members, banned, items, scores)
        none = np.full(items.shape, -1, dtype=np.int32)  # popularity has no anchor
        return candidates(self.name, n, [(rows, items, scores, none)])


def _fill(
    item_scores: FloatVector,
    members: npt.NDArray[np.int64],
    banned: sp.csr_matrix | None,
    items: npt.NDArray[np.int32],
    scores: npt.NDArray[np.float32],
) -> None:
    """Write each member's best ``n`` items not ``banned`` into their rows of items/scores."""
    n = items.shape[1]
    most_banned = 0 if banned is None else int(np.diff(banned.indptr).max(initial=0))
    ranked, values = top_n_dense(item_scores[None, :], n + most_banned)
    usable = ranked[0] >= 0
    ranked, values = ranked[0][usable], values[0][usable]
    if banned is None:
        items[members, : len(ranked)] = ranked[:n]
        scores[members, : len(ranked)] = values[:n]
        return
    step = block_size(len(ranked))
    for first in range(0, len(members), step):
        part = members[first : first + step]
        allowed = banned[first : first + step][:, ranked].toarray() == 0
        slot = np.cumsum(allowed, axis=1) - 1
        row, column = np.nonzero(allowed & (slot < n))
        items[part[row], slot[row, column]] = ranked[column]
        scores[part[row], slot[row, column]] = values[column]


def latest_decay(interactions: Interactions, half_life_days: float | None) -> sp.csr_matrix:
    """Users x items: ``0.5 ** (days since the pair's latest positive entry / half_life_days)``,
    for pairs whose summed weight is positive (1 for every such pair without a half-life)."""
    positive = interactions.weight > 0
    decay = (
        np.ones(len(interactions))
        if half_life_days is None
        else interactions.decay(half_life_days=half_life_days)
    )[positive]
    keys = interactions.user[positive].astype(np.int64) * interactions.n_items
    keys += interactions.item[positive]
    order = np.lexsort((decay, keys))
    keys, decay = keys[order], decay[order]
    last = np.r_[keys[1:] != keys[:-1], True] if len(keys) else np.zeros(0, bool)
    latest = sp.csr_matrix(
        (decay[last], (keys[last] // interactions.n_items, keys[last] % interactions.n_items)),
        shape=(interactions.n_users, interactions.n_items),
    )
    bought = interactions.matrix() > 0
    return sp.csr_matrix(latest.multiply(bought))


def _column_sums(matrix: sp.csr_matrix) -> npt.NDArray[np.float64]:
    return np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel()


def _rankable(values: npt.NDArray[np.float64], counts: npt.NDArray[np.float64]) -> FloatVector:
    return np.where(counts > 0, values, -np.inf).astype(np.float32)


class Popularity(_RankedByItemScore):
    """The most popular items overall: the time-decayed count of distinct users per item.

    The baseline every personalised source must beat (Cremonesi, Koren & Turrin 2010,
    "Performance of recommender algorithms on top-N recommendation tasks", RecSys).

    Parameters
    ----------
    half_life_days
        Half-life of a user's count; None counts every user fully.

    Attributes
    ----------
    item_scores_
        Each item's decayed count of distinct users (``-inf`` for items nobody interacted with).
    """

    name = "popular"
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {"half_life_days": _HALF_LIFE}

    item_scores_: FloatVector

    def __init__(self, *, half_life_days: float | None = 30.0) -> None:
        self.half_life_days = half_life_days

    def fit(self, data: TrainingData) -> Self:
        """Count each item's users in ``data``."""
        interactions = self._start_fit(data)
        counts = _column_sums(latest_decay(interactions, self.half_life_days))
        self.item_scores_ = _rankable(counts, counts)
        return self

    def _groups_of(self, users: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.zeros(len(users), dtype=np.int64)

    def _scores(self, group: int) -> FloatVector:
        return self.item_scores_


class GroupPopularity(_RankedByItemScore):
    """The most popular items within each user's group (segment, country), shrunk to global.

    With ``c_g(i)`` the decayed count of users of group ``g`` for item ``i``, ``N_g`` the group's
    active users and ``p(i)`` the item's global share of active users, the score is the additive
    smoothing ``(c_g(i) + m * p(i)) / (N_g + m)`` with ``m = prior_users`` (the posterior mean of a
    Beta prior centred on the global share): small groups lean on the global ranking and users
    with no or an unknown group get ``p(i)`` itself.

    Parameters
    ----------
    half_life_days
        Half-life of a user's count; None counts every user fully.
    prior_users
        Weight ``m`` of the global share, in users.

    Attributes
    ----------
    group_labels_
        The groups seen in fit; ``user_group_`` holds each user's index into it (-1: none).
    group_counts_
        Groups x items CSR matrix of ``c_g(i)``; ``group_sizes_`` holds ``N_g``.
    item_share_
        ``p(i)``, each item's decayed count of users over all active users.
    """

    name = "popular_group"
    _fitted_attribute = "group_counts_"
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "half_life_days": _HALF_LIFE,
        "prior_users": _PRIOR,
    }

    group_labels_: npt.NDArray[np.object_]
    user_group_: npt.NDArray[np.int64]
    group_counts_: sp.csr_matrix
    group_sizes_: npt.NDArray[np.float64]
    item_share_: npt.NDArray[np.float64]

    def __init__(self, *, half_life_days: float | None = 30.0, prior_users: float = 20.0) -> None:
        self.half_life_days = half_life_days
        self.prior_users = prior_users

    def fit(self, data: TrainingData) -> Self:
        """Count each item's users per group in ``data``."""
        interactions = self._start_fit(data)
        labels = data.groups
        if labels is None:
            labels = np.full(self.n_users_, None, dtype=object)
        if len(labels) != self.n_users_:
            raise ModelError(
                f"groups has {len(labels)} labels for {self.n_users_} users; pass one label per "
                "user row (None where unknown)"
            )
        known = ~pd.isna(pd.Series(labels, dtype=object)).to_numpy() & (
            pd.Series(labels, dtype=object).astype(str).to_numpy() != ""
        )
        codes, uniques = pd.factorize(pd.Series(labels, dtype=object).where(known))
        latest = latest_decay(interactions, self.half_life_days)
        active = (np.diff(latest.indptr) > 0).astype(np.float64)
        member = sp.csr_matrix(
            (np.ones(int(known.sum())), (codes[known], np.flatnonzero(known))),
            shape=(len(uniques), self.n_users_),
        )
        self.group_labels_ = np.asarray(uniques, dtype=object)
        self.user_group_ = np.where(known, codes, -1).astype(np.int64)
        self.group_counts_ = sp.csr_matrix(member @ latest)
        self.group_sizes_ = np.asarray(member @ active, dtype=np.float64).ravel()
        self.item_share_ = _column_sums(latest) / max(active.sum(), 1.0)
        return self

    def _groups_of(self, users: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return self.user_group_[users]

    def _scores(self, group: int) -> FloatVector:
        if group < 0 or self.group_sizes_[group] + self.prior_users <= 0:
            return _rankable(self.item_share_, self.item_share_)
        counts = self.group_counts_[group].toarray().ravel().astype(np.float64)
        prior = self.prior_users
        smoothed = (counts + prior * self.item_share_) / (self.group_sizes_[group] + prior)
        return _rankable(smoothed, counts + self.item_share_)


class TrendingPopularity(_RankedByItemScore):
    """Items gaining users now: a short-half-life count over a long-half-life one, smoothed.

    With ``s(i)`` and ``l(i)`` the item's decayed counts of distinct users under the short and the
    long half-life and ``rho = sum(s) / sum(l)`` the ratio of the whole shop, the score is
    ``(s(i) + m * rho) / (l(i) + m)`` with ``m = prior_users``: an item with few users cannot
    trend on one purchase, and an item growing faster than the shop scores above ``rho``.

    Parameters
    ----------
    short_half_life_days, long_half_life_days
        The two half-lives (short < long).
    prior_users
        Weight ``m`` of the shop-wide ratio, in users.

    Attributes
    ----------
    item_scores_
        Each item's trend score (``-inf`` for items nobody interacted with).
    """

    name = "trending"
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "short_half_life_days": [Interval(float, 0.0, None, closed="neither")],
        "long_half_life_days": [Interval(float, 0.0, None, closed="neither")],
        "prior_users": _PRIOR,
    }

    item_scores_: FloatVector

    def __init__(
        self,
        *,
        short_half_life_days: float = 7.0,
        long_half_life_days: float = 60.0,
        prior_users: float = 10.0,
    ) -> None:
        self.short_half_life_days = short_half_life_days
        self.long_half_life_days = long_half_life_days
        self.prior_users = prior_users

    def fit(self, data: TrainingData) -> Self:
        """Compare each item's recent and long-run counts of users in ``data``."""
        interactions = self._start_fit(data)
        if self.short_half_life_days >= self.long_half_life_days:
            raise ModelError(
                f"short_half_life_days={self.short_half_life_days} must be below "
                f"long_half_life_days={self.long_half_life_days}; pass a shorter short half-life"
            )
        short = _column_sums(latest_decay(interactions, self.short_half_life_days))
        long = _column_sums(latest_decay(interactions, self.long_half_life_days))
        ratio = short.sum() / long.sum()
        trend = (short + self.prior_users * ratio) / (long + self.prior_users)
        self.item_scores_ = _rankable(trend, long)
        return self

    def _groups_of(self, users: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.zeros(len(users), dtype=np.int64)

    def _scores(self, group: int) -> FloatVector:
        return self.item_scores_
