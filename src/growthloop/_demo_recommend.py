"""The demo's recommendation step: evaluation on held-out days, recall of the planted
preferences, and example recommendations with their reasons.

Everything is fitted once, on all but the last 30 days (what ``growthloop recommend evaluate``
does on the workspace), and scored twice: on the last 30 days, with already-bought items allowed
and excluded, and against each customer's 10 likeliest products under the simulation
(:func:`~growthloop.generate.planted_top_items`), which do not change over time. The fitted
pipeline then recommends to a few customers chosen by purchase count, so the examples are
reproducible.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from growthloop.generate import planted_top_items
from growthloop.recommend import RerankRules, TrainingData
from growthloop.recommend._evaluate import Evaluation, FittedModels
from growthloop.recommend._features import purchases
from growthloop.recommend._pipeline import Recommender, restrict
from growthloop.recommend._service import workspace_training_data
from growthloop.recommend._split import temporal_split
from growthloop.recommend._store import order_line_entries
from growthloop.recommend._truth import truth_split
from growthloop.store import AnalyticalStore

__all__ = ["DemoRecommendations", "MIN_PURCHASES", "recommend_step"]

#: Customers with fewer purchase entries are left out of the truth evaluation.
MIN_PURCHASES = 5
#: Example customers: these quantiles of purchase count among those evaluated.
EXAMPLE_QUANTILES = (0.1, 0.4, 0.7, 0.95)
EXAMPLE_ITEMS = 5
TRUE_TOP = 10
TEST_DAYS = 30.0


@dataclass(frozen=True)
class DemoRecommendations:
    """The held-out evaluations (bought items allowed, excluded), the truth evaluation and the
    example recommendations (one row per customer and item, best first)."""

    held_out: list[Evaluation]
    truth: Evaluation
    examples: pd.DataFrame

    def summary(self) -> dict[str, Any]:
        """The figures as plain data, for ``growthloop demo --json``."""

        def metrics(evaluation: Evaluation) -> dict[str, dict[str, float]]:
            return {r.name: {k: float(v) for k, v in r.metrics.as_dict().items()
                             if k not in ("k", "users")} for r in evaluation.rows}

        recall = {r.name: r.metrics.recall for r in self.truth.rows}
        return {
            "held_out": {
                ("excluded" if e.exclude_bought else "allowed"): metrics(e) for e in self.held_out
            },
            "split": self.held_out[0].split,
            "truth": {
                "customers": self.truth.split["test_users"],
                "min_purchases": MIN_PURCHASES,
                "recall_at_10": recall,
                "pipeline_over_popular": recall["pipeline"] / max(recall["popular"], 1e-12),
            },
            "examples": json.loads(self.examples.to_json(orient="records")),
        }


def recommend_step(
    store: AnalyticalStore, world: Path, *, progress: Callable[[str], None] | None = None
) -> DemoRecommendations:
    """Evaluate on held-out days and against the world's truth, and recommend to a few
    customers (see the module docstring).

    Raises
    ------
    ModelError
        If the world is too small or too short to evaluate on.
    """
    data = workspace_training_data(store)
    split = temporal_split(data.interactions, test_days=TEST_DAYS,
                           testable=order_line_entries(data.interactions))
    train = restrict(data, split.train)
    models = FittedModels.fit(train, progress=progress)
    held_out = models.evaluate(split, k=TRUE_TOP, bought=("allow", "exclude"))
    planted = planted_top_items(world, k=TRUE_TOP).to_pandas()
    truth = truth_split(split.train, planted["customer_id"], planted["product_id"],
                        min_purchases=MIN_PURCHASES)
    (against_truth,) = models.evaluate(truth, k=TRUE_TOP, bought=("allow",))
    examples = _examples(store, train, models.pipeline, planted, world)
    return DemoRecommendations(held_out=held_out, truth=against_truth, examples=examples)


def _examples(
    store: AnalyticalStore,
    data: TrainingData,
    recommender: Recommender,
    planted: pd.DataFrame,
    world: Path,
) -> pd.DataFrame:
    """Top items of the customers at :data:`EXAMPLE_QUANTILES` of purchase count, with the
    product's title, category, price and reason, and whether it is among the customer's true
    top 10."""
    log = data.interactions
    bought = np.asarray(purchases(log).sum(axis=1)).ravel().astype(np.int64)
    eligible = np.flatnonzero(bought >= MIN_PURCHASES)
    ordered = eligible[np.lexsort((log.user_ids[eligible].astype(str), bought[eligible]))]
    position = np.round(np.asarray(EXAMPLE_QUANTILES) * (len(ordered) - 1)).astype(np.int64)
    users = np.unique(ordered[position] if len(ordered) else ordered).astype(np.int32)
    chosen = recommender.recommend(users, EXAMPLE_ITEMS, rules=RerankRules(bought="allow"))
    products = store.con.execute(
        "SELECT product_id, arg_max(title, updated_at) AS title FROM products GROUP BY product_id"
    ).fetch_df()
    title = pd.Series(products["title"].to_numpy(), index=products["product_id"].astype(str))
    item_ids = log.item_ids[chosen["item"].to_numpy()].astype(str)
    customer_ids = log.user_ids[chosen["user"].to_numpy()].astype(str)
    catalogue = data.catalogue
    truth = set(zip(planted["customer_id"], planted["product_id"], strict=True))
    favourites = _favourite_categories(world)
    groups = data.groups
    frame = pd.DataFrame({
        "customer_id": customer_ids,
        "purchases": bought[chosen["user"].to_numpy()],
        "segment": ("" if groups is None else groups[chosen["user"].to_numpy()]),
        "favourite_categories": [favourites.get(c, "") for c in customer_ids],
        "rank": chosen["rank"].to_numpy(),
        "product_id": item_ids,
        "title": title.reindex(item_ids).fillna("").to_numpy(),
        "category": "" if catalogue is None else catalogue.category[chosen["item"].to_numpy()],
        "price": np.nan if catalogue is None else catalogue.price[chosen["item"].to_numpy()],
        "reason": chosen["reason"].to_numpy(),
        "in_true_top": [(c, i) in truth for c, i in zip(customer_ids, item_ids, strict=True)],
    })
    return frame.sort_values(["purchases", "customer_id", "rank"], kind="stable").reset_index(
        drop=True
    )


def _favourite_categories(world: Path) -> dict[str, str]:
    """Each customer's two strongest planted category affinities, as "A (62 %), B (30 %)"."""
    table = pq.read_table(world / "truth" / "affinity.parquet").to_pandas()
    table = table[table["rank"] <= 2].sort_values(["customer_id", "rank"])
    share = (100 * table["affinity"]).round().astype(int).astype(str)
    text = table["category"] + " (" + share + " %)"
    return {str(c): str(t) for c, t in text.groupby(table["customer_id"]).agg(", ".join).items()}
