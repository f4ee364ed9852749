"""Evaluation against the planted truth of a generated world: the truth itself matches what the
simulation drew, the truth split keeps the right customers, and the pipeline recovers the
planted preferences far better than popularity."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from growthloop import Workspace
from growthloop.errors import ModelError
from growthloop.generate import WorldSpec, generate_world, planted_top_items
from growthloop.ingest import load_file, options_for
from growthloop.recommend import Interactions, TrainingData
from growthloop.recommend._service import workspace_training_data
from growthloop.recommend._truth import evaluate_against_truth, truth_split


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, TrainingData]]:
    """A year of 800 customers and 100 products, loaded into a workspace."""
    folder = tmp_path_factory.mktemp("truth")
    summary = generate_world(WorldSpec(customers=800, products=100, seed=11), folder / "world")
    with Workspace.init(folder / "ws") as ws:
        for entity in ("products", "customers", "orders", "events"):
            load_file(ws.analytical, entity, summary.files[entity], options_for(entity))
        data = workspace_training_data(ws.analytical)
    yield summary.directory, data


def test_planted_top_items_are_what_the_simulation_draws(world: tuple[Path, TrainingData]) -> None:
    directory, _ = world
    planted = planted_top_items(directory, k=10).to_pandas()
    customers = pq.read_table(directory / "truth" / "customers.parquet").column("customer_id")
    assert planted["customer_id"].unique().tolist() == customers.to_pylist()
    assert planted["rank"].tolist() == list(range(1, 11)) * len(customers)
    assert (planted.groupby("customer_id")["probability"].diff().dropna() <= 0).all()
    assert planted["probability"].between(0, 1).all()
    # Every product view is one draw of the chooser: the share of a customer's views that fall
    # in their planted top 10 is the sum of its probabilities (measured 0.762 against 0.757).
    events = pq.read_table(directory / "events.parquet",
                           columns=["event", "user_id", "properties"]).to_pandas()
    views = events[(events["event"] == "Product Viewed") & events["user_id"].notna()]
    product = views["properties"].map(lambda text: json.loads(text)["product_id"])
    top = set(zip(planted["customer_id"], planted["product_id"], strict=True))
    observed = np.mean([(c, p) in top for c, p in zip(views["user_id"], product, strict=True)])
    expected = views["user_id"].map(planted.groupby("customer_id")["probability"].sum()).mean()
    assert len(views) > 10_000
    assert observed == pytest.approx(expected, abs=0.02)


def test_planted_top_items_refuse_what_they_cannot_trust(
    world: tuple[Path, TrainingData], tmp_path: Path
) -> None:
    directory, _ = world
    with pytest.raises(ValueError, match="has no world.json"):
        planted_top_items(tmp_path)
    with pytest.raises(ValueError, match=r"k must be an integer from 1 to 100 \(products\), got 0"):
        planted_top_items(directory, k=0)
    manifest = json.loads((directory / "world.json").read_text())
    (tmp_path / "world.json").write_text(json.dumps({**manifest, "version": "0.9"}))
    with pytest.raises(ValueError, match="written by generator version '0.9'"):
        planted_top_items(tmp_path)


def test_truth_split_scores_customers_with_enough_purchases() -> None:
    log = Interactions.from_frame(pd.DataFrame({
        "user_id": ["a", "a", "a", "b", "b", "c"],
        "item_id": ["x", "y", "x", "x", "z", "y"],
        "weight": [1.0, 1.0, 1.0, 1.0, 0.1, 0.1],  # b bought once, c only viewed
    }), weight_col="weight")
    split = truth_split(log, ["a", "a", "a", "b", "c", "ghost"], ["x", "z", "new", "y", "x", "x"],
                        min_purchases=1)
    test = split.test
    assert split.train is log and split.method == "truth"
    assert list(zip(test.user_ids[test.user], test.item_ids[test.item], strict=True)) == [
        ("a", "x"), ("a", "z"), ("b", "y")]
    assert test.weight.tolist() == [1.0, 1.0, 1.0]
    assert (split.dropped_users, split.dropped_items, split.dropped_entries) == (1, 1, 1)
    assert truth_split(log, ["a", "b"], ["x", "x"], min_purchases=3).test.n_users == 3
    assert len(truth_split(log, ["a", "b"], ["x", "x"], min_purchases=3).test) == 1
    with pytest.raises(ModelError, match="no customer of the truth has 4 or more purchases"):
        truth_split(log, ["a", "b"], ["x", "x"], min_purchases=4)
    with pytest.raises(ModelError, match="min_purchases=-1 must be a whole number >= 0"):
        truth_split(log, ["a"], ["x"], min_purchases=-1)


def test_the_pipeline_recovers_the_planted_preferences(world: tuple[Path, TrainingData]) -> None:
    """Measured (800 customers, 100 products, seed 11; 445 with 5+ purchases): recall@10 of the
    true top 10 is 0.736 for the pipeline, 0.713 for the best source (user kNN) and 0.272 for
    popularity."""
    directory, data = world
    planted = planted_top_items(directory, k=10).to_pandas()
    result = evaluate_against_truth(data, planted["customer_id"], planted["product_id"], k=10)
    recall = {row.name: row.metrics.recall for row in result.rows}
    log = data.interactions
    bought = pd.Series(log.user[log.weight >= 1]).value_counts()
    assert result.split["test_users"] == int((bought >= 5).sum()) > 300
    assert result.split["test_entries"] == 10 * result.split["test_users"]
    assert result.split["dropped_items"] == 0
    assert not result.exclude_bought
    assert recall["pipeline"] >= 2 * recall["popular"]
    assert recall["pipeline"] > 0.65
    assert recall["pipeline"] >= max(r for name, r in recall.items() if name != "pipeline")
