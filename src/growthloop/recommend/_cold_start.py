"""Popular items for customers without history (cold start), overall and per segment.

The lists come from the pipeline's popularity sources (time-decayed counts of distinct
customers; per segment shrunk towards the overall shares), or from default-configured ones
when the pipeline runs without them, and keep only items the catalogue marks available.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from growthloop.recommend._candidates import TrainingData
from growthloop.recommend._pipeline import Recommender
from growthloop.recommend.sources import GroupPopularity, Popularity, SourceBase

__all__ = ["popular_lists"]

Ranking = tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]


def popular_lists(
    recommender: Recommender, data: TrainingData, *, limit: int
) -> dict[str, Ranking]:
    """The ``limit`` most popular available items by segment label ("" = every customer)."""
    overall = recommender.sources_.get("popular")
    if not isinstance(overall, Popularity):
        overall = Popularity().fit(data)
    by_group = recommender.sources_.get("popular_group")
    if not isinstance(by_group, GroupPopularity):
        by_group = GroupPopularity().fit(data)
    available = (
        np.ones(data.interactions.n_items, dtype=bool)
        if data.catalogue is None
        else data.catalogue.available
    )
    lists = {"": _ranking(overall, 0, available, limit)}
    for code, label in enumerate(by_group.group_labels_.tolist()):
        members = np.flatnonzero(by_group.user_group_ == code)
        if len(members) and str(label):
            lists[str(label)] = _ranking(by_group, int(members[0]), available, limit)
    return lists


def _ranking(
    source: SourceBase, row: int, available: npt.NDArray[np.bool_], limit: int
) -> Ranking:
    """Every item ``source`` ranks for user ``row``, available ones only, cut to ``limit``."""
    found = source.recommend(np.array([row], dtype=np.int32), len(available))
    shown = available[found.item]
    return found.item[shown][:limit].copy(), found.score[shown][:limit].copy()
