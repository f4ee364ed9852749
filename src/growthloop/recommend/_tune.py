"""Hyperparameters of the recall sources, chosen on a validation split and never on the test.

:func:`tune_sources` fits every setting of each source's grid on the *train* part of a
validation split (the train part of the evaluation split, split again the same way by
:func:`~growthloop.recommend.validation_split`) and scores it with :func:`ranking_metrics` on the
validation part; each source keeps its best setting. The grids are small on purpose: a few
values around the defaults, on the parameters the results move with most (factors and
regularisation of matrix factorisation, neighbourhood sizes, decay half-lives, the context and
measure of co-occurrence). Settings are enumerated with scikit-learn's ``ParameterGrid``; the
chosen ones feed :class:`~growthloop.recommend.Recommender` as ``source_params``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import ParameterGrid

from growthloop.errors import ModelError
from growthloop.recommend._candidates import TrainingData
from growthloop.recommend._evaluate import Progress, _test_users, bought_policies
from growthloop.recommend._features import purchases
from growthloop.recommend._interactions import Interactions
from growthloop.recommend._metrics import RankingMetrics, ranking_metrics
from growthloop.recommend._pipeline import restrict
from growthloop.recommend._split import Split, random_split, temporal_split
from growthloop.recommend.sources import SOURCE_NAMES, make_source

__all__ = ["DEFAULT_GRIDS", "METRICS", "Tuning", "TuningTrial", "holdout_split", "tune_sources"]

Grid = Mapping[str, Sequence[Any]]

#: The settings tried per source (every combination of the values), defaults included.
DEFAULT_GRIDS: dict[str, dict[str, list[Any]]] = {
    "buy_again": {"half_life_days": [14.0, 30.0, 90.0]},
    "popular": {"half_life_days": [7.0, 30.0, None]},
    "popular_group": {"half_life_days": [30.0, None], "prior_users": [5.0, 20.0, 80.0]},
    "trending": {"short_half_life_days": [3.0, 7.0, 14.0]},
    "cooccurrence": {"context": ["user", "basket"], "similarity": ["cosine", "lift"]},
    "als": {"factors": [32, 64, 128], "regularization": [0.05, 0.5]},
    "bpr": {"factors": [32, 64], "learning_rate": [0.01, 0.05]},
    "content": {"n_neighbours": [20, 50]},
    "user_knn": {"n_neighbours": [20, 50, 100]},
}

#: The metrics a setting may be chosen by (fields of :class:`RankingMetrics`).
METRICS = ("ndcg", "recall", "precision", "map", "hit_rate")


@dataclass(frozen=True)
class TuningTrial:
    """One setting of one source and its score on the validation part."""

    source: str
    params: dict[str, Any]
    metrics: RankingMetrics
    seconds: float


@dataclass(frozen=True)
class Tuning:
    """Every trial and the best setting of each source by ``metric`` at ``k``."""

    metric: str
    k: int
    exclude_bought: bool
    trials: list[TuningTrial]
    validation: dict[str, Any]

    @property
    def best(self) -> dict[str, dict[str, Any]]:
        """Source name -> its best setting (ties go to the setting tried first)."""
        chosen: dict[str, TuningTrial] = {}
        for trial in self.trials:
            held = chosen.get(trial.source)
            if held is None or self._score(trial) > self._score(held):
                chosen[trial.source] = trial
        return {name: dict(trial.params) for name, trial in chosen.items()}

    def _score(self, trial: TuningTrial) -> float:
        return float(getattr(trial.metrics, self.metric))

    def table(self) -> pd.DataFrame:
        """One row per trial: source, setting, the metrics at k, seconds, and whether chosen."""
        best = self.best
        records = []
        for trial in self.trials:
            setting = ", ".join(f"{k}={v}" for k, v in trial.params.items())
            records.append({
                "source": trial.source, "setting": setting, **trial.metrics.as_dict(),
                "seconds": round(trial.seconds, 2), "chosen": trial.params == best[trial.source],
            })
        return pd.DataFrame.from_records(records)


def tune_sources(
    data: TrainingData,
    validation: Split,
    *,
    sources: Sequence[str],
    grids: Mapping[str, Grid] | None = None,
    k: int = 10,
    metric: str = "ndcg",
    bought: str = "allow",
    progress: Progress | None = None,
) -> Tuning:
    """Try every setting in ``grids`` (default :data:`DEFAULT_GRIDS`) of each of ``sources``.

    ``validation`` is a split of the training data only (see :func:`validation_split`); its
    test part is the validation period. ``data`` carries the catalogue and groups over the
    vocabularies of the log ``validation`` was made from. Sources without a grid keep their
    defaults (one trial each, so the table still shows them).
    """
    if metric not in METRICS:
        raise ModelError(f"metric={metric!r} cannot choose a setting; use one of "
                         f"{', '.join(METRICS)}")
    if k <= 0:
        raise ModelError(f"k={k} must be a positive list length; try 10")
    policy = bought_policies([bought])[0]
    grids = DEFAULT_GRIDS if grids is None else grids
    unknown = sorted(set(grids) - set(SOURCE_NAMES)) + sorted(set(sources) - set(SOURCE_NAMES))
    if unknown:
        raise ModelError(f"{', '.join(map(repr, unknown))} is not a recall source; use "
                         f"{', '.join(SOURCE_NAMES)}")
    say = progress or (lambda _message: None)
    train = restrict(data, validation.train)
    users = _test_users(validation)
    exclude = purchases(validation.train) if policy == "exclude" else None
    trials: list[TuningTrial] = []
    for name in dict.fromkeys(sources):
        if name == "content" and train.catalogue is None:
            continue
        settings = list(ParameterGrid(dict(grids.get(name, {}))))
        for number, params in enumerate(settings, 1):
            say(f"tuning {name}: setting {number} of {len(settings)}")
            started = time.perf_counter()
            source = make_source(name, **params).fit(train)
            candidates = source.recommend(users, k, exclude=exclude)
            metrics = ranking_metrics(candidates, test=validation.test, train=validation.train,
                                      k=k)
            trials.append(TuningTrial(name, dict(params), metrics,
                                      time.perf_counter() - started))
    return Tuning(metric=metric, k=k, exclude_bought=policy == "exclude", trials=trials,
                  validation={"method": validation.method,
                              "cutoff": None if validation.cutoff is None
                              else str(validation.cutoff),
                              "train_entries": len(validation.train),
                              "validation_users": len(users),
                              "validation_entries": len(validation.test)})


def holdout_split(interactions: Interactions, *, days: float = 30.0) -> Split:
    """The validation split of a whole log (no test part exists, as when building for
    serving): its last ``days`` when every entry has a time, else a random 20 %."""
    if len(interactions) and not np.isnat(interactions.time).any():
        return temporal_split(interactions, test_days=days)
    return random_split(interactions, test_share=0.2)
