"""Evaluation against known preferences: how many of each customer's truly preferred items the
recommenders find.

On a generated world the items each customer is likeliest to buy are known
(:func:`growthloop.generate.planted_top_items`). :func:`truth_split` makes them the test part of
a :class:`Split` whose train part is an interaction log (the whole log, or the train part of a
temporal split: the truth does not change over time), so :func:`evaluate` or
:meth:`FittedModels.evaluate` score every recall source, the popularity baseline and the
pipeline against the truth instead of a later period. Recall@k is then the share of a
customer's true top items found in their top ``k`` (with 10 true items and ``k = 10``,
precision and recall coincide). Only customers with at least ``min_purchases`` purchase entries
are scored: with less history no recommender can know much more than popularity. Already-bought
items stay allowed, as the truth includes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from growthloop.errors import ModelError
from growthloop.recommend._candidates import TrainingData
from growthloop.recommend._evaluate import Evaluation, Progress, evaluate
from growthloop.recommend._features import purchases
from growthloop.recommend._interactions import Interactions
from growthloop.recommend._pipeline import DEFAULT_SOURCES, Recommender
from growthloop.recommend._split import Split

__all__ = ["evaluate_against_truth", "truth_split"]


def truth_split(
    interactions: Interactions,
    users: npt.ArrayLike,
    items: npt.ArrayLike,
    *,
    min_purchases: int = 5,
) -> Split:
    """The whole log as train and the (user id, item id) pairs of the truth as test.

    Test users are those with at least ``min_purchases`` purchase entries in ``interactions``;
    truth items never seen in the log cannot be recommended and are counted in
    ``dropped_items``.
    """
    if isinstance(min_purchases, bool) or not isinstance(min_purchases, int) or min_purchases < 0:
        raise ModelError(f"min_purchases={min_purchases!r} must be a whole number >= 0; try 5")
    truth = pd.DataFrame(
        {"user": np.asarray(users).astype(str), "item": np.asarray(items).astype(str)}
    )
    bought = np.asarray(purchases(interactions).sum(axis=1)).ravel()
    user = pd.Index(interactions.user_ids.astype(str)).get_indexer(truth["user"])
    item = pd.Index(interactions.item_ids.astype(str)).get_indexer(truth["item"])
    known = user >= 0
    keep = known & (item >= 0)
    keep[known] &= bought[user[known]] >= min_purchases
    if not keep.any():
        raise ModelError(
            f"no customer of the truth has {min_purchases} or more purchases in the log; "
            "lower min_purchases or pass a longer log"
        )
    n = int(keep.sum())
    test = Interactions(
        user_ids=interactions.user_ids,
        item_ids=interactions.item_ids,
        user=user[keep].astype(np.int32),
        item=item[keep].astype(np.int32),
        weight=np.ones(n, dtype=np.float32),
        time=np.full(n, np.datetime64("NaT"), dtype="datetime64[s]"),
        basket=np.full(n, -1, dtype=np.int64),
    )
    return Split(
        train=interactions,
        test=test,
        dropped_users=int(truth.loc[~known, "user"].nunique()),
        dropped_items=int(truth.loc[known & (item < 0), "item"].nunique()),
        dropped_entries=int((known & (item < 0)).sum()),
        method="truth",
    )


def evaluate_against_truth(
    data: TrainingData,
    users: npt.ArrayLike,
    items: npt.ArrayLike,
    *,
    k: int = 10,
    sources: Sequence[str] = DEFAULT_SOURCES,
    min_purchases: int = 5,
    recommender: Recommender | None = None,
    progress: Progress | None = None,
) -> Evaluation:
    """Every source alone, the popularity baseline and the pipeline, fitted on the whole of
    ``data`` and scored against the truth pairs (``users[i]`` truly prefers ``items[i]``).

    A ``recommender`` passed in is fitted here and can then serve examples.
    """
    split = truth_split(data.interactions, users, items, min_purchases=min_purchases)
    return evaluate(data, split, k=k, sources=sources, exclude_bought=False,
                    recommender=recommender, progress=progress)
