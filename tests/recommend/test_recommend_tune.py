"""Hyperparameter tuning: settings are chosen on a validation split of the training part, the
test part is never read, and bad grids or metrics are rejected by name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from growthloop.errors import ModelError
from growthloop.recommend import (
    FittedModels,
    Interactions,
    Split,
    TrainingData,
    evaluate_policies,
    holdout_split,
    random_split,
    temporal_split,
    tune_sources,
    validation_split,
)

START = pd.Timestamp("2024-01-01")


def _shifting_log(seed: int = 0, users: int = 300, days: int = 120) -> Interactions:
    """Taste drifts: in the first half everyone buys items 0-9, in the second half items
    10-19; so recent popularity predicts the next days and all-time popularity does not."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(users):
        for day in rng.choice(days, 12, replace=False):
            base = 0 if day < days // 2 else 10
            item = base + int(min(rng.geometric(0.35) - 1, 9))
            rows.append((f"u{user}", f"i{item}", START + pd.Timedelta(days=int(day))))
    frame = pd.DataFrame(rows, columns=["user", "item", "time"])
    return Interactions.from_frame(frame, user_col="user", item_col="item", time_col="time")


def test_recent_popularity_wins_when_taste_drifts() -> None:
    split = temporal_split(_shifting_log(), test_days=20)
    tuning = tune_sources(TrainingData(split.train), validation_split(split),
                          sources=["popular"],
                          grids={"popular": {"half_life_days": [3.0, None]}})
    scores = {trial.params["half_life_days"]: trial.metrics.ndcg for trial in tuning.trials}
    assert tuning.best == {"popular": {"half_life_days": 3.0}}
    assert scores[3.0] > scores[None] + 0.1, scores
    table = tuning.table()
    assert table["chosen"].tolist() == [True, False]
    assert table["setting"].tolist() == ["half_life_days=3.0", "half_life_days=None"]


def test_the_test_part_is_never_read() -> None:
    """Same train part, two different test parts: the same settings and validation scores."""
    split = temporal_split(_shifting_log(), test_days=20)
    scrambled = Split(train=split.train, test=split.train.subset(split.train.weight < 0),
                      dropped_users=0, dropped_items=0, dropped_entries=0,
                      method="temporal", cutoff=split.cutoff, test_days=split.test_days)
    grids = {"popular": {"half_life_days": [3.0, 30.0, None]}, "user_knn": {"n_neighbours":
                                                                             [5, 20]}}
    results = [tune_sources(TrainingData(s.train), validation_split(s),
                            sources=["popular", "user_knn"], grids=grids)
               for s in (split, scrambled)]
    assert results[0].best == results[1].best
    assert [t.metrics for t in results[0].trials] == [t.metrics for t in results[1].trials]
    # the validation period ends where the test period begins
    assert results[0].validation["cutoff"] < str(split.cutoff)


def test_chosen_settings_reach_every_model() -> None:
    split = temporal_split(_shifting_log(), test_days=20)
    params = {"popular": {"half_life_days": None}, "user_knn": {"n_neighbours": 7}}
    models = FittedModels.fit(TrainingData(split.train), sources=["popular", "user_knn"],
                              source_params=params)
    assert models.sources["popular"].get_params() == {"half_life_days": None}
    assert models.pipeline.sources_["user_knn"].get_params()["n_neighbours"] == 7
    (tuned,) = models.evaluate(split, bought=["allow"])
    (default,) = evaluate_policies(TrainingData(split.train), split,
                                   sources=["popular", "user_knn"], bought=["allow"])
    # all-time popularity is the wrong choice when taste drifts
    assert tuned.row("popular").metrics.ndcg < default.row("popular").metrics.ndcg - 0.1


def test_validation_split_of_files_and_random_splits() -> None:
    log = _shifting_log()
    split = temporal_split(log, test_days=20)
    files = Split(train=split.train, test=split.test, dropped_users=0, dropped_items=0,
                  dropped_entries=0, method="files")
    inner = validation_split(files)
    assert inner.method == "temporal"
    span = (split.test.time.max() - split.test.time.min()) / np.timedelta64(1, "D")
    assert inner.test_days == pytest.approx(span)
    untimed = Interactions(user_ids=log.user_ids, item_ids=log.item_ids, user=log.user,
                           item=log.item, weight=log.weight,
                           time=np.full(len(log), np.datetime64("NaT"), dtype="datetime64[s]"),
                           basket=log.basket)
    random = random_split(untimed, test_share=0.25)
    assert random.method == "random"
    assert len(random.test) / len(untimed) == pytest.approx(0.25, abs=0.03)
    again = validation_split(random)
    assert again.method == "random" and len(again.train) < len(random.train)
    assert holdout_split(untimed).method == "random"
    assert holdout_split(log, days=10).method == "temporal"
    with pytest.raises(ModelError, match="test_share=1.5 must be between 0 and 1"):
        random_split(untimed, test_share=1.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "coverage"}, "metric='coverage' cannot choose a setting; use one of ndcg"),
        ({"grids": {"popularity": {"half_life_days": [1.0]}}},
         "'popularity' is not a recall source"),
        ({"grids": {"popular": {"factors": [8]}}}, "factors"),
        ({"k": 0}, "k=0 must be a positive list length"),
        ({"bought": "never"}, "must be 'allow'"),
    ],
)
def test_bad_tuning_requests_are_named(kwargs: dict[str, object], message: str) -> None:
    split = temporal_split(_shifting_log(users=40), test_days=20)
    with pytest.raises(ModelError, match=message):
        tune_sources(TrainingData(split.train), validation_split(split), sources=["popular"],
                     **kwargs)  # type: ignore[arg-type]
