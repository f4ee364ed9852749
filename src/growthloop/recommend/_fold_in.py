"""One customer's history given now, ranked through a fitted pipeline without refitting it.

Sources that can score a history given now score the whole of it (training entries plus the
new ones): ALS solves the customer's factors against the fixed item factors (the fold-in,
equation (4) of Hu, Koren & Volinsky 2008, through ``implicit``'s ``recalculate_user``);
co-occurrence and content similarity score it through their item x item similarities. The
other sources answer as at training time: from the customer's training row, or, for a customer
new to the model, popularity (global, trending, and in their segment). The candidates get the
features the ranker was trained on — the customer's own from the new history, each item's from
the training log as of its end (nothing newer is known about items) — and are ranked,
re-ranked and explained as :meth:`Recommender.recommend` does.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from growthloop.recommend._candidates import Candidates
from growthloop.recommend._features import _SECONDS_PER_DAY, candidate_features, purchases
from growthloop.recommend._interactions import Interactions
from growthloop.recommend._pipeline import Recommender
from growthloop.recommend._reasons import explain
from growthloop.recommend._rerank import RerankRules, rerank
from growthloop.recommend.sources import (
    ALS,
    BuyAgain,
    GroupPopularity,
    ItemBasedSource,
    Popularity,
    SourceBase,
    TrendingPopularity,
)

__all__ = ["ITEM_COLUMNS", "item_statistics", "rank_history"]

#: The candidate features that describe the item alone (see :func:`candidate_features`).
ITEM_COLUMNS = ("item_users", "item_recent_users", "item_days_since_first", "item_days_since_last")


def item_statistics(recommender: Recommender) -> pd.DataFrame:
    """:data:`ITEM_COLUMNS` of every item over the training log (row ``i`` = item ``i``)."""
    stats = recommender.log_statistics()
    reference = stats.reference
    return pd.DataFrame(
        {
            "item_users": stats.item_users,
            "item_recent_users": stats.item_recent_users,
            "item_days_since_first": (reference - stats.item_first) / _SECONDS_PER_DAY,
            "item_days_since_last": (reference - stats.item_last) / _SECONDS_PER_DAY,
        },
        index=pd.RangeIndex(stats.n_items, name="item"),
    )[list(ITEM_COLUMNS)]


def rank_history(
    recommender: Recommender,
    history: Interactions,
    *,
    n: int,
    row: int | None,
    group: str,
    items: pd.DataFrame,
) -> pd.DataFrame:
    """The top ``n`` of the one customer in ``history`` (over the recommender's items).

    ``row`` is the customer's training row (None for a customer new to the model), ``group``
    their segment ("" unknown), ``items`` the :func:`item_statistics`. Rows as
    :meth:`Recommender.recommend` returns them, ``user`` 0.
    """
    rules = recommender.rules or RerankRules()
    bought = purchases(history)
    exclude = bought if rules.bought == "exclude" else None
    data = recommender.data_
    end = data.interactions.latest()
    latest = history.latest()
    as_of = latest if end is None or (latest is not None and latest > end) else end
    candidates = [
        _candidates(name, source, history, row=row, group=group, exclude=exclude, as_of=as_of,
                    size=recommender.candidates)
        for name, source in recommender.sources_.items()
    ]
    features = candidate_features(
        candidates, train=history, catalogue=data.catalogue, as_of=as_of
    )
    frame = features.frame
    item = frame["item"].to_numpy(np.int64)
    for column in ITEM_COLUMNS:
        frame[column] = items[column].to_numpy(np.float64)[item]
    frame["score"] = recommender.score(features)
    chosen = rerank(frame, n=n, rules=rules, catalogue=data.catalogue, bought=bought)
    buy_again = recommender.sources_.get("buy_again")
    return explain(
        chosen,
        catalogue=data.catalogue,
        item_ids=data.interactions.item_ids,
        groups=np.array([group], dtype=object),
        cycle_days=buy_again.cycle_days_ if isinstance(buy_again, BuyAgain) else None,
    )


def _candidates(
    name: str,
    source: SourceBase,
    history: Interactions,
    *,
    row: int | None,
    group: str,
    exclude: sp.csr_matrix | None,
    as_of: np.datetime64 | None,
    size: int,
) -> Candidates:
    """``source``'s candidates for the customer, as user 0."""
    if isinstance(source, ALS | ItemBasedSource):
        weights = history.matrix(half_life_days=source.half_life_days, as_of=as_of)
        return _as_user_zero(name, source.recommend_history(weights, size, exclude=exclude))
    stand_in = row if row is not None else _stand_in(source, group)
    if stand_in is None:
        return _as_user_zero(name, None)
    return _as_user_zero(name, source.recommend(np.array([stand_in], dtype=np.int32), size))


def _stand_in(source: SourceBase, group: str) -> int | None:
    """A training row whose answer from ``source`` a customer new to the model shares: any row
    for global popularity, a row of the same segment for segment popularity, else None (the
    source has nothing to say about a customer it has not seen)."""
    if isinstance(source, Popularity | TrendingPopularity):
        return 0
    if isinstance(source, GroupPopularity):
        labels: npt.NDArray[np.object_] = source.group_labels_
        codes = np.flatnonzero(labels.astype(str) == group) if group else np.zeros(0, np.int64)
        code = int(codes[0]) if len(codes) else -1
        members = np.flatnonzero(source.user_group_ == code)
        return int(members[0]) if len(members) else None
    return None


def _as_user_zero(name: str, found: Candidates | None) -> Candidates:
    if found is None or len(found) == 0:
        empty = np.empty(0, dtype=np.int32)
        return Candidates(source=name, user=empty, item=empty, score=empty.astype(np.float32))
    return Candidates(
        source=name,
        user=np.zeros(len(found), dtype=np.int32),
        item=found.item,
        score=found.score,
        anchor=found.anchor,
    )
