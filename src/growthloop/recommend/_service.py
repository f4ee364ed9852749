"""Evaluation entry points shared by the CLI and the API: on interaction files or a workspace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from growthloop.errors import ModelError
from growthloop.recommend._candidates import TrainingData
from growthloop.recommend._evaluate import (
    Evaluation,
    Progress,
    bought_policies,
    evaluate_policies,
)
from growthloop.recommend._files import InteractionTable, read_interactions
from growthloop.recommend._pipeline import DEFAULT_SOURCES
from growthloop.recommend._split import (
    Split,
    leave_last_basket_out,
    temporal_split,
    validation_split,
)
from growthloop.recommend._store import (
    catalogue_from_store,
    interactions_from_store,
    order_line_entries,
)
from growthloop.recommend._tune import Tuning, tune_sources
from growthloop.store import AnalyticalStore

__all__ = [
    "EvaluationRun",
    "evaluate_files",
    "evaluate_workspace",
    "profile_groups",
    "workspace_training_data",
]

SPLITS = ("temporal", "last-basket")


@dataclass(frozen=True)
class EvaluationRun:
    """Evaluations (one per policy on bought items), the tuning of the sources' hyperparameters
    on the validation split (when asked for) and, for files, what was read from them."""

    evaluations: list[Evaluation]
    tuning: Tuning | None = None
    train: InteractionTable | None = None
    test: InteractionTable | None = None


def _evaluate(
    data: TrainingData,
    split: Split,
    *,
    k: int,
    sources: Sequence[str],
    bought: Sequence[str],
    tune: bool,
    tune_metric: str,
    progress: Progress | None,
) -> tuple[list[Evaluation], Tuning | None]:
    """Tune each source on ``split``'s validation split (the train part split again, see
    :func:`validation_split`) when ``tune``, then evaluate with the chosen settings."""
    policies = bought_policies(bought)
    tuning = None
    if tune:
        tuning = tune_sources(data, validation_split(split), sources=sources, k=k,
                              metric=tune_metric, bought=policies[0], progress=progress)
    evaluations = evaluate_policies(data, split, k=k, sources=sources, bought=policies,
                                    source_params=None if tuning is None else tuning.best,
                                    progress=progress)
    return evaluations, tuning


def evaluate_files(
    train_path: Path,
    test_path: Path,
    *,
    user_col: str,
    item_col: str,
    time_col: str | None = None,
    weight_col: str | None = None,
    basket_col: str | None = None,
    k: int = 10,
    sources: Sequence[str] = DEFAULT_SOURCES,
    bought: Sequence[str] = ("allow", "exclude"),
    tune: bool = False,
    tune_metric: str = "ndcg",
    progress: Progress | None = None,
) -> EvaluationRun:
    """Evaluate on a published train/test pair of interaction files (CSV or Parquet).

    Test rows whose user or item is not in the training file cannot be scored and are left
    out (counted in the split summary). With ``tune`` each source's hyperparameters are chosen
    on a validation split of the training file (:func:`tune_sources`; the first policy in
    ``bought`` decides whether bought items count), never on the test file.
    """
    train_table, test_table = (
        read_interactions(path, user_col=user_col, item_col=item_col, time_col=time_col,
                          weight_col=weight_col, basket_col=basket_col)
        for path in (train_path, test_path)
    )
    train = train_table.to_interactions()
    frame = test_table.frame
    test_users = frame[user_col].astype(str)
    test_items = frame[item_col].astype(str)
    unknown_users = int((~test_users.isin(train.user_ids)).sum())
    unknown_items = int((~test_items.isin(train.item_ids)).sum())
    test = test_table.to_interactions(user_ids=train.user_ids, item_ids=train.item_ids)
    split = Split(
        train=train,
        test=test,
        dropped_users=int(test_users[~test_users.isin(train.user_ids)].nunique()),
        dropped_items=int(test_items[~test_items.isin(train.item_ids)].nunique()),
        dropped_entries=len(frame) - len(test),
        method="files",
    )
    if len(test) == 0:
        raise ModelError(
            f"no row of {test_path} has a user and an item that occur in {train_path} "
            f"({unknown_users:,} rows with unknown users, {unknown_items:,} with unknown items); "
            "check that both files use the same id columns"
        )
    data = TrainingData(interactions=train)
    evaluations, tuning = _evaluate(data, split, k=k, sources=sources, bought=bought, tune=tune,
                                    tune_metric=tune_metric, progress=progress)
    return EvaluationRun(evaluations=evaluations, tuning=tuning, train=train_table,
                         test=test_table)


def profile_groups(store: AnalyticalStore, user_ids: np.ndarray) -> np.ndarray | None:
    """Each user's RFM segment from the profiles (None when there are no profiles)."""
    if not store.has_table("profiles"):
        return None
    frame = store.con.execute(
        "SELECT canonical_id, rfm_segment FROM profiles"
    ).fetch_df()
    segment = pd.Series(frame["rfm_segment"].to_numpy(), index=frame["canonical_id"].astype(str))
    values = segment.reindex(pd.Index(user_ids.astype(str))).fillna("").to_numpy(dtype=object)
    return np.asarray(values, dtype=object)


def workspace_training_data(
    store: AnalyticalStore, *, as_of: datetime | None = None
) -> TrainingData:
    """The workspace's interactions before ``as_of`` (see ``_store``), the catalogue of their
    items and each customer's RFM segment (when profiles were built)."""
    interactions = interactions_from_store(store, as_of=as_of)
    if len(interactions) == 0:
        raise ModelError(
            "the workspace has no purchases or product events to learn from; load orders or "
            "events first (`growthloop ingest`)"
        )
    return TrainingData(
        interactions=interactions,
        catalogue=catalogue_from_store(store, interactions.item_ids),
        groups=profile_groups(store, interactions.user_ids),
    )


def evaluate_workspace(
    store: AnalyticalStore,
    *,
    split: str = "temporal",
    test_days: float = 30.0,
    as_of: datetime | None = None,
    k: int = 10,
    sources: Sequence[str] = DEFAULT_SOURCES,
    bought: Sequence[str] = ("allow", "exclude"),
    tune: bool = False,
    tune_metric: str = "ndcg",
    progress: Progress | None = None,
) -> EvaluationRun:
    """Evaluate on the workspace's purchases, carts and views (see ``_store``): the last
    ``test_days`` days as test (``split="temporal"``) or each customer's last basket
    (``"last-basket"``); ``tune`` as for :func:`evaluate_files`. Models learn from all
    three kinds, but only purchases (net of returns) are relevant in the test part."""
    if split not in SPLITS:
        raise ModelError(f"split={split!r} is not a split; use one of {', '.join(SPLITS)}")
    data = workspace_training_data(store, as_of=as_of)
    interactions = data.interactions
    lines = order_line_entries(interactions)
    parts = (
        temporal_split(interactions, test_days=test_days, testable=lines)
        if split == "temporal"
        else leave_last_basket_out(interactions, testable=lines)
    )
    evaluations, tuning = _evaluate(data, parts, k=k, sources=sources, bought=bought,
                                    tune=tune, tune_metric=tune_metric, progress=progress)
    return EvaluationRun(evaluations=evaluations, tuning=tuning)
