"""Features of candidate (user, item) pairs: the union of every recall source's proposals.

One row per distinct (user, item) proposed by any source, sorted by user then item, with:

- per source ``s``: ``{s}_score`` (NaN where ``s`` did not propose the item) and ``{s}_rank``
  (1 = the source's best item for the user; ranks above ``missing_rank``, and a missing
  proposal, count as ``missing_rank``); ``n_sources``, how many sources proposed it;
- item popularity: ``item_users``, training users whose summed weight for the item is positive,
  and ``item_recent_users``, the same users each counting ``0.5 ** (d / half_life_days)`` with
  ``d`` the days from their latest interaction with the item to ``as_of`` (as the popularity
  source counts them);
- item recency: ``item_days_since_first`` and ``item_days_since_last``, days from the item's
  first and last positive interaction to ``as_of``;
- price: ``item_price`` and ``price_ratio``, the item's price over the user's median paid price
  (the median of ``Catalogue.price`` over the user's purchase entries);
- ``category_affinity``: the share of the user's training weight (summed per item, positives
  only) that falls in the item's category (NaN for an unknown category or a user with no weight);
- ``user_items``: how many items the user has a positive weight for;
- the user's own history with the item: ``interactions`` (entries with positive weight),
  ``purchases`` (entries with weight of at least ``purchase_weight``), ``net_weight`` (all
  weights summed, returns included), ``days_since_interaction`` and ``days_since_purchase``.

Days are 24-hour periods, as in :meth:`Interactions.decay`; NaN marks an unknown value. Next
to the features, each row keeps ``source``, the source whose proposal ranked best (ties: the
earlier source in the list), and that proposal's ``anchor``: the reason the item is shown.
Everything is computed with array operations over all rows at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from growthloop.errors import ModelError
from growthloop.recommend._candidates import Candidates, Catalogue
from growthloop.recommend._interactions import Interactions

__all__ = [
    "ITEM_USER_FEATURES",
    "CandidateFeatures",
    "LogStatistics",
    "candidate_features",
    "purchases",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: The features that do not depend on the sources, in column order.
ITEM_USER_FEATURES: tuple[str, ...] = (
    "n_sources",
    "item_users",
    "item_recent_users",
    "item_days_since_first",
    "item_days_since_last",
    "item_price",
    "price_ratio",
    "category_affinity",
    "user_items",
    "interactions",
    "purchases",
    "net_weight",
    "days_since_interaction",
    "days_since_purchase",
)

_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, eq=False)
class CandidateFeatures:
    """Candidate rows and their features (see the module docstring).

    Attributes
    ----------
    frame
        Columns ``user``, ``item`` (indices into the training vocabularies), ``source``
        (categorical), ``anchor`` (item index or -1), then :attr:`feature_names`.
    sources
        The source names, in the order their columns appear.
    """

    frame: pd.DataFrame
    sources: tuple[str, ...]

    @property
    def feature_names(self) -> list[str]:
        """The feature columns, in order: per-source scores and ranks, then the rest."""
        per_source = [f"{name}_{kind}" for name in self.sources for kind in ("score", "rank")]
        return per_source + list(ITEM_USER_FEATURES)

    @property
    def features(self) -> pd.DataFrame:
        """The feature columns only, as the ranker reads them."""
        return self.frame[self.feature_names]

    def __len__(self) -> int:
        return len(self.frame)


def candidate_features(
    candidates: Sequence[Candidates],
    *,
    train: Interactions,
    catalogue: Catalogue | None = None,
    as_of: np.datetime64 | None = None,
    half_life_days: float = 14.0,
    purchase_weight: float = 1.0,
    missing_rank: int = 1000,
    statistics: LogStatistics | None = None,
) -> CandidateFeatures:
    """The union of ``candidates`` (one per source) with features from ``train``.

    Parameters
    ----------
    candidates
        One :class:`Candidates` per source, over ``train``'s vocabularies; names must differ.
    train
        The log the sources were fitted on.
    catalogue
        Prices and categories; without it the price and category features are NaN.
    as_of
        The time days are counted to; default the latest time in ``train``.
    half_life_days
        Half-life of ``item_recent_users``.
    purchase_weight
        Entries with at least this weight are purchases (1.0 is the store's purchase weight).
    missing_rank
        The rank of a source that did not propose the item; higher ranks are clipped to it.
    statistics
        ``LogStatistics.of(train, catalogue, ...)`` computed once and reused across batches
        of candidates (it summarises the whole log; ``as_of``, ``half_life_days`` and
        ``purchase_weight`` are then its own).
    """
    _check_arguments(candidates, train, catalogue, half_life_days, purchase_weight, missing_rank)
    if statistics is None:
        statistics = LogStatistics.of(train, catalogue, as_of=as_of,
                                      half_life_days=half_life_days,
                                      purchase_weight=purchase_weight)
    elif (statistics.n_users, statistics.n_items) != (train.n_users, train.n_items):
        raise ModelError(
            f"the statistics describe {statistics.n_users} users x {statistics.n_items} items "
            f"but the training log has {train.n_users} x {train.n_items}; compute them with "
            "LogStatistics.of(train, ...)"
        )
    stats = statistics
    sources = tuple(c.source for c in candidates)
    user, item, scores, ranks, anchors = _union(candidates, train.n_items, missing_rank)
    columns: dict[str, object] = {
        "user": user.astype(np.int32),
        "item": item.astype(np.int32),
    }
    best = np.argmin(ranks, axis=1)
    rows = np.arange(len(user))
    columns["source"] = pd.Categorical.from_codes(best, categories=list(sources))
    columns["anchor"] = anchors[rows, best].astype(np.int32)
    for position, name in enumerate(sources):
        columns[f"{name}_score"] = scores[:, position]
        columns[f"{name}_rank"] = ranks[:, position]
    columns["n_sources"] = np.isfinite(scores).sum(axis=1).astype(np.float64)

    reference = stats.reference
    columns["item_users"] = stats.item_users[item]
    columns["item_recent_users"] = stats.item_recent_users[item]
    columns["item_days_since_first"] = (reference - stats.item_first[item]) / _SECONDS_PER_DAY
    columns["item_days_since_last"] = (reference - stats.item_last[item]) / _SECONDS_PER_DAY
    columns.update(_price_features(stats, user, item))
    columns["category_affinity"] = _category_affinity(stats, user, item)
    columns["user_items"] = stats.user_items[user]
    columns.update(_history_features(stats.pairs, train.n_items, user, item, reference))
    return CandidateFeatures(frame=pd.DataFrame(columns), sources=sources)


@dataclass(frozen=True, eq=False)
class LogStatistics:
    """What the features read from the training log, summarised once (:meth:`of`): per
    (user, item) pair, per item, per user, and per (user, category). Batches of candidates
    then only look values up, instead of summarising the whole log for every batch."""

    n_users: int
    n_items: int
    reference: float
    pairs: _Pairs
    item_users: FloatArray
    item_recent_users: FloatArray
    item_first: FloatArray
    item_last: FloatArray
    user_items: FloatArray
    price: FloatArray | None
    typical_price: FloatArray | None
    category: IntArray | None
    n_categories: int
    user_weight: FloatArray
    category_keys: IntArray
    category_weight: FloatArray

    @classmethod
    def of(
        cls,
        train: Interactions,
        catalogue: Catalogue | None = None,
        *,
        as_of: np.datetime64 | None = None,
        half_life_days: float = 14.0,
        purchase_weight: float = 1.0,
    ) -> LogStatistics:
        """Summarise ``train`` (see :func:`candidate_features` for the arguments)."""
        reference = _reference_seconds(train, as_of)
        pairs = _Pairs.of(train, purchase_weight)
        n_items = train.n_items
        liked = pairs.weight > 0
        age = (reference - pairs.last_seen[liked]) / _SECONDS_PER_DAY
        decay = np.where(np.isnan(age), 1.0, 0.5 ** (np.maximum(age, 0.0) / half_life_days))
        price = typical = category = None
        n_categories = 1
        keys = np.zeros(0, np.int64)
        weights = np.zeros(0, np.float64)
        if catalogue is not None:
            price = catalogue.price.astype(np.float64)
            paid = price[train.item]
            chosen = (train.weight >= purchase_weight) & np.isfinite(paid)
            typical = _group_median(train.user[chosen].astype(np.int64), paid[chosen],
                                    train.n_users)
            category, n_categories = _category_codes(catalogue)
            pair_category = category[pairs.item[liked]]
            known = pair_category >= 0
            key = pairs.user[liked][known] * n_categories + pair_category[known]
            keys, inverse = np.unique(key, return_inverse=True)
            weights = _sums(inverse, pairs.weight[liked][known], len(keys))
        return cls(
            n_users=train.n_users,
            n_items=n_items,
            reference=reference,
            pairs=pairs,
            item_users=np.bincount(pairs.item[liked], minlength=n_items).astype(np.float64),
            item_recent_users=_sums(pairs.item[liked], decay, n_items),
            item_first=_group_min(pairs.item, pairs.first_seen, n_items),
            item_last=_group_max(pairs.item, pairs.last_seen, n_items),
            user_items=np.bincount(pairs.user[liked], minlength=train.n_users).astype(
                np.float64
            ),
            price=price,
            typical_price=typical,
            category=category,
            n_categories=n_categories,
            user_weight=np.bincount(pairs.user[liked], weights=pairs.weight[liked],
                                    minlength=train.n_users).astype(np.float64),
            category_keys=keys,
            category_weight=weights,
        )


def purchases(train: Interactions, *, purchase_weight: float = 1.0) -> sp.csr_matrix:
    """Users x items count of purchase entries (weight of at least ``purchase_weight``).

    The mask re-ranking uses to exclude what a customer already bought.
    """
    bought = train.weight >= purchase_weight
    matrix = sp.csr_matrix(
        (np.ones(int(bought.sum()), np.float32), (train.user[bought], train.item[bought])),
        shape=(train.n_users, train.n_items),
    )
    matrix.sum_duplicates()
    return matrix


def _check_arguments(
    candidates: Sequence[Candidates],
    train: Interactions,
    catalogue: Catalogue | None,
    half_life_days: float,
    purchase_weight: float,
    missing_rank: int,
) -> None:
    if len(candidates) == 0:
        raise ModelError(
            "candidate_features got no candidates; pass one Candidates per recall source"
        )
    repeated = sorted(name for name, count in Counter(c.source for c in candidates).items()
                      if count > 1)
    if repeated:
        raise ModelError(
            f"source names {repeated} occur more than once; each Candidates needs its own "
            "source name, as it names the feature columns"
        )
    for c in candidates:
        if len(c) and (c.user.min() < 0 or c.user.max() >= train.n_users
                       or c.item.min() < 0 or c.item.max() >= train.n_items):
            raise ModelError(
                f"candidates of {c.source!r} refer to users or items outside the training "
                f"vocabularies ({train.n_users} users, {train.n_items} items); build them "
                "from sources fitted on this training log"
            )
    if catalogue is not None and len(catalogue.price) != train.n_items:
        raise ModelError(
            f"the catalogue has {len(catalogue.price)} items but the training log has "
            f"{train.n_items}; align the catalogue with the training item_ids"
        )
    if not half_life_days > 0:
        raise ModelError(
            f"half_life_days={half_life_days!r} must be > 0; pass a positive number of days"
        )
    if not purchase_weight > 0:
        raise ModelError(
            f"purchase_weight={purchase_weight!r} must be > 0 (returns are negative); pass the "
            "weight of a purchase, for example 1.0"
        )
    if isinstance(missing_rank, bool) or not isinstance(missing_rank, int) or missing_rank < 1:
        raise ModelError(
            f"missing_rank={missing_rank!r} must be a whole number >= 1; pass a rank beyond "
            "every source's list length, for example 1000"
        )


def _reference_seconds(train: Interactions, as_of: np.datetime64 | None) -> float:
    """``as_of`` (default: the latest time in ``train``) in seconds; NaN when unknown."""
    if as_of is None:
        latest = train.latest()
        if latest is None:
            return float("nan")
        as_of = latest
    return float(np.asarray(as_of).astype("datetime64[s]").astype(np.int64))


def _seconds(times: npt.NDArray[np.datetime64]) -> FloatArray:
    """Seconds since the epoch as floats; NaN for ``NaT``."""
    seconds = times.astype("datetime64[s]").astype(np.int64).astype(np.float64)
    seconds[np.isnat(times)] = np.nan
    return seconds


def _group_ranks(user: npt.NDArray[np.int32]) -> IntArray:
    """1-based position of each entry within its run of equal users."""
    n = len(user)
    starts = np.r_[True, user[1:] != user[:-1]] if n else np.zeros(0, bool)
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    return np.arange(n) - first + 1


def _union(
    candidates: Sequence[Candidates], n_items: int, missing_rank: int
) -> tuple[IntArray, IntArray, FloatArray, FloatArray, npt.NDArray[np.int32]]:
    """Distinct (user, item) rows with a score, rank and anchor column per source."""
    keys = [c.user.astype(np.int64) * n_items + c.item for c in candidates]
    unique, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    n_rows, n_sources = len(unique), len(candidates)
    scores = np.full((n_rows, n_sources), np.nan)
    ranks = np.full((n_rows, n_sources), float(missing_rank))
    anchors = np.full((n_rows, n_sources), -1, dtype=np.int32)
    offset = 0
    for position, c in enumerate(candidates):
        row = inverse[offset : offset + len(c)]
        offset += len(c)
        rank = np.minimum(_group_ranks(c.user), missing_rank).astype(np.float64)
        # A pair proposed twice by one source keeps its first (best-ranked) proposal.
        row, first = np.unique(row, return_index=True)
        scores[row, position] = c.score[first]
        ranks[row, position] = rank[first]
        anchors[row, position] = c.anchor[first]
    return unique // n_items, unique % n_items, scores, ranks, anchors


@dataclass(frozen=True)
class _Pairs:
    """The training log summarised per (user, item), sorted by ``key = user * n_items + item``."""

    key: IntArray
    user: IntArray
    item: IntArray
    weight: FloatArray
    interactions: FloatArray
    purchases: FloatArray
    first_seen: FloatArray
    last_seen: FloatArray
    last_bought: FloatArray

    @classmethod
    def of(cls, train: Interactions, purchase_weight: float) -> _Pairs:
        key, inverse = np.unique(
            train.user.astype(np.int64) * train.n_items + train.item, return_inverse=True
        )
        seconds = _seconds(train.time)
        positive = train.weight > 0
        bought = train.weight >= purchase_weight
        size = len(key)
        return cls(
            key=key,
            user=key // max(train.n_items, 1),
            item=key % max(train.n_items, 1),
            weight=_sums(inverse, train.weight, size),
            interactions=_sums(inverse, positive, size),
            purchases=_sums(inverse, bought, size),
            first_seen=-_group_max(inverse, np.where(positive, -seconds, np.nan), size),
            last_seen=_group_max(inverse, np.where(positive, seconds, np.nan), size),
            last_bought=_group_max(inverse, np.where(bought, seconds, np.nan), size),
        )

    def find(self, key: IntArray) -> tuple[IntArray, npt.NDArray[np.bool_]]:
        """Each key's position here and whether it is present."""
        return _find(self.key, key)


def _find(sorted_keys: IntArray, key: IntArray) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Each of ``key``'s position in ``sorted_keys`` (clipped to a valid index) and whether it
    is present there."""
    position = np.searchsorted(sorted_keys, key)
    clipped = np.minimum(position, max(len(sorted_keys) - 1, 0))
    found = (position < len(sorted_keys)) & (sorted_keys[clipped] == key) if len(
        sorted_keys
    ) else np.zeros(len(key), bool)
    return clipped, found


def _sums(group: IntArray, values: npt.ArrayLike, size: int) -> FloatArray:
    """``values`` summed per group, as floats."""
    return np.bincount(group, weights=np.asarray(values, np.float64), minlength=size).astype(
        np.float64
    )


def _group_max(group: IntArray, values: FloatArray, size: int) -> FloatArray:
    """The largest non-NaN value per group (NaN where none)."""
    result = np.full(size, -np.inf)
    known = ~np.isnan(values)
    np.maximum.at(result, group[known], values[known])
    result[np.isinf(result)] = np.nan
    return result


def _group_min(group: IntArray, values: FloatArray, size: int) -> FloatArray:
    """The smallest non-NaN value per group (NaN where none)."""
    return -_group_max(group, -values, size)


def _price_features(stats: LogStatistics, user: IntArray, item: IntArray) -> dict[str, FloatArray]:
    if stats.price is None or stats.typical_price is None:
        missing = np.full(len(user), np.nan)
        return {"item_price": missing, "price_ratio": missing.copy()}
    typical = stats.typical_price[user]
    price = stats.price[item]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(typical > 0, price / typical, np.nan)
    return {"item_price": price, "price_ratio": ratio}


def _group_median(group: IntArray, values: FloatArray, size: int) -> FloatArray:
    """The median of ``values`` per group (NaN for groups with no value)."""
    order = np.lexsort((values, group))
    group, values = group[order], values[order]
    counts = np.bincount(group, minlength=size)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    median = np.full(size, np.nan)
    has = counts > 0
    low = starts[has] + (counts[has] - 1) // 2
    high = starts[has] + counts[has] // 2
    median[has] = (values[low] + values[high]) / 2.0
    return median


def _category_codes(catalogue: Catalogue) -> tuple[IntArray, int]:
    """Each item's category code (-1: none) and the number of codes."""
    codes, labels = pd.factorize(pd.Series(catalogue.category, dtype=object).fillna(""))
    codes = np.asarray(codes, dtype=np.int64)
    unknown = np.asarray(labels == "", dtype=bool)
    if unknown.any():
        codes[codes == int(np.flatnonzero(unknown)[0])] = -1
    return codes, max(len(labels), 1)


def _category_affinity(stats: LogStatistics, user: IntArray, item: IntArray) -> FloatArray:
    if stats.category is None:
        return np.full(len(user), np.nan)
    category = stats.category[item]
    key = user * stats.n_categories + category
    position, found = _find(stats.category_keys, key)
    share = (np.where(found, stats.category_weight[position], 0.0)
             if len(stats.category_weight) else np.zeros(len(key)))
    total = stats.user_weight[user]
    with np.errstate(divide="ignore", invalid="ignore"):
        affinity = share / total
    affinity[(category < 0) | (total <= 0)] = np.nan
    return affinity


def _history_features(
    pairs: _Pairs, n_items: int, user: IntArray, item: IntArray, reference: float
) -> dict[str, FloatArray]:
    position, found = pairs.find(user * n_items + item)

    def take(values: FloatArray, missing: float) -> FloatArray:
        return np.where(found, values[position], missing) if len(values) else np.full(
            len(user), missing
        )

    return {
        "interactions": take(pairs.interactions, 0.0),
        "purchases": take(pairs.purchases, 0.0),
        "net_weight": take(pairs.weight, 0.0),
        "days_since_interaction": (reference - take(pairs.last_seen, np.nan)) / _SECONDS_PER_DAY,
        "days_since_purchase": (reference - take(pairs.last_bought, np.nan)) / _SECONDS_PER_DAY,
    }
