"""Offline evaluation: every recall source alone, the popularity baseline and the full pipeline
on one split, in one table (one per policy on already-bought items).

:class:`FittedModels` fits every model once; its :meth:`~FittedModels.evaluate` scores them on a
test log under each policy, so one fit serves both policies and several test logs.

Everything is fitted on the split's train part only (the pipeline's ranker on the last days of
that train part, see :class:`Recommender`) and scored on its test part with
:func:`ranking_metrics`. With ``exclude_bought`` the items a user bought in train are never
recommended (each source is asked to skip them and the re-ranking removes them); without it
they may come back, which rewards sources like "buy again" in shops where people rebuy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from growthloop.errors import ModelError
from growthloop.recommend._candidates import RecallSource, TrainingData
from growthloop.recommend._features import purchases
from growthloop.recommend._interactions import Interactions
from growthloop.recommend._metrics import RankingMetrics, ranking_metrics
from growthloop.recommend._pipeline import DEFAULT_SOURCES, Recommender, restrict
from growthloop.recommend._rerank import RerankRules, as_candidates
from growthloop.recommend._split import Split
from growthloop.recommend.sources import make_source

__all__ = [
    "BASELINE",
    "Evaluation",
    "EvaluationRow",
    "FittedModels",
    "bought_policies",
    "evaluate",
    "evaluate_policies",
]

#: The source every other result is compared with.
BASELINE = "popular"
PIPELINE = "pipeline"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class EvaluationRow:
    """One model's metrics on the test part and how long fitting and scoring took."""

    name: str
    kind: str  # "source", "baseline" or "pipeline"
    metrics: RankingMetrics
    seconds: float


@dataclass(frozen=True)
class Evaluation:
    """The results of :func:`evaluate`, best NDCG first within each kind."""

    k: int
    exclude_bought: bool
    rows: list[EvaluationRow]
    split: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per model: name, kind, the metrics at k and the seconds taken."""
        records = []
        for row in self.rows:
            metrics = row.metrics.as_dict()
            records.append({"model": row.name, "kind": row.kind, **metrics,
                            "seconds": round(row.seconds, 2)})
        return pd.DataFrame.from_records(records)

    def row(self, name: str) -> EvaluationRow:
        """The row of ``name`` (a source name, or ``"pipeline"``)."""
        for row in self.rows:
            if row.name == name:
                return row
        raise ModelError(f"no result for {name!r}; have {', '.join(r.name for r in self.rows)}")

    def best_source(self, metric: str = "ndcg") -> EvaluationRow:
        """The single recall source with the highest ``metric``."""
        sources = [r for r in self.rows if r.kind != "pipeline"]
        return max(sources, key=lambda r: float(getattr(r.metrics, metric)))


def evaluate(
    data: TrainingData,
    split: Split,
    *,
    k: int = 10,
    sources: Sequence[str] = DEFAULT_SOURCES,
    exclude_bought: bool = False,
    recommender: Recommender | None = None,
    progress: Progress | None = None,
) -> Evaluation:
    """Evaluate every source in ``sources`` alone and the full pipeline on ``split``.

    ``data`` carries the catalogue and groups over ``data.interactions``' vocabularies (the
    log ``split`` was made from); ``split.train`` is what everything is fitted on.
    """
    policy = "exclude" if exclude_bought else "allow"
    return evaluate_policies(data, split, k=k, sources=sources, bought=(policy,),
                             recommender=recommender, progress=progress)[0]


def evaluate_policies(
    data: TrainingData,
    split: Split,
    *,
    k: int = 10,
    sources: Sequence[str] = DEFAULT_SOURCES,
    bought: Sequence[str] = ("allow", "exclude"),
    recommender: Recommender | None = None,
    source_params: dict[str, dict[str, Any]] | None = None,
    progress: Progress | None = None,
) -> list[Evaluation]:
    """:func:`evaluate` under each policy on already-bought items (``"allow"``,
    ``"exclude"``), one :class:`Evaluation` per policy in that order, everything fitted once.

    ``source_params`` (source name -> hyperparameters, as :func:`tune_sources` chooses them on
    a validation split) configure each source alone and in the pipeline."""
    bought = bought_policies(bought)  # checked before the fit, as is the test part
    _test_users(split)
    models = FittedModels.fit(restrict(data, split.train), sources=sources,
                              recommender=recommender, source_params=source_params,
                              progress=progress)
    return models.evaluate(split, k=k, bought=bought)


class FittedModels:
    """Every recall source alone and the full pipeline, fitted on one training log, to be
    scored on any test log over that log's vocabularies (a held-out period, a known truth).

    Fitting does not depend on the policy on already-bought items, so one fit serves both; a
    row's ``seconds`` are the model's fit plus its scoring.

    Attributes
    ----------
    train
        The training log.
    sources
        The fitted sources by name (content is left out without a catalogue).
    pipeline
        The fitted :class:`Recommender`.
    skipped
        Source name -> why it was left out.
    """

    def __init__(
        self,
        train: Interactions,
        sources: dict[str, RecallSource],
        pipeline: Recommender,
        fit_seconds: dict[str, float],
        skipped: dict[str, str],
    ) -> None:
        self.train = train
        self.sources = sources
        self.pipeline = pipeline
        self.fit_seconds = fit_seconds
        self.skipped = skipped

    @classmethod
    def fit(
        cls,
        train: TrainingData,
        *,
        sources: Sequence[str] = DEFAULT_SOURCES,
        recommender: Recommender | None = None,
        source_params: dict[str, dict[str, Any]] | None = None,
        progress: Progress | None = None,
    ) -> FittedModels:
        """Fit the popularity baseline, each of ``sources`` alone and the pipeline (a
        :class:`Recommender` over ``sources``, or ``recommender``) on ``train``; each source
        with its ``source_params`` (the pipeline too, unless ``recommender`` is given)."""
        say = progress or (lambda _message: None)
        params = source_params or {}
        fitted: dict[str, RecallSource] = {}
        seconds: dict[str, float] = {}
        skipped: dict[str, str] = {}
        for name in dict.fromkeys([BASELINE, *sources]):
            if name == "content" and train.catalogue is None:
                skipped[name] = "no item catalogue (product text) to compare"
                continue
            say(f"fitting {name}")
            started = time.perf_counter()
            fitted[name] = make_source(name, **params.get(name, {})).fit(train)
            seconds[name] = time.perf_counter() - started
        say("fitting the full pipeline (sources, ranker on the last days of train, re-ranking)")
        started = time.perf_counter()
        model = (Recommender(sources=list(sources), source_params=dict(params))
                 if recommender is None else recommender)
        model.fit(train)
        seconds[PIPELINE] = time.perf_counter() - started
        skipped.update(model.skipped_)
        return cls(train.interactions, fitted, model, seconds, skipped)

    def evaluate(
        self, split: Split, *, k: int = 10, bought: Sequence[str] = ("allow", "exclude")
    ) -> list[Evaluation]:
        """Score every model on ``split.test`` (``split.train`` must be the training log),
        one :class:`Evaluation` per policy in ``bought``."""
        if split.train is not self.train:
            raise ModelError(
                "the split's train part is not the log these models were fitted on; fit them "
                "on split.train"
            )
        policies = bought_policies(bought)
        users = _test_users(split)
        bought_items = purchases(self.train)
        evaluations = []
        for policy in policies:
            exclude = bought_items if policy == "exclude" else None
            rows = []
            for name, source in self.sources.items():
                started = time.perf_counter()
                candidates = source.recommend(users, k, exclude=exclude)
                metrics = ranking_metrics(candidates, test=split.test, train=split.train, k=k)
                kind = "baseline" if name == BASELINE else "source"
                seconds = self.fit_seconds[name] + time.perf_counter() - started
                rows.append(EvaluationRow(name, kind, metrics, seconds))
            started = time.perf_counter()
            rules = RerankRules(bought="exclude" if policy == "exclude" else "allow")
            chosen = self.pipeline.recommend(users, k, rules=rules)
            metrics = ranking_metrics(as_candidates(chosen), test=split.test, train=split.train,
                                      k=k)
            seconds = self.fit_seconds[PIPELINE] + time.perf_counter() - started
            rows.append(EvaluationRow(PIPELINE, "pipeline", metrics, seconds))
            rows.sort(key=lambda r: (r.kind != "pipeline", -r.metrics.ndcg))
            evaluations.append(Evaluation(
                k=k, exclude_bought=policy == "exclude", rows=rows,
                split=_summary(split, len(users)), skipped=dict(self.skipped),
            ))
        return evaluations


def _test_users(split: Split) -> npt.NDArray[np.int32]:
    users = np.unique(split.test.user).astype(np.int32)
    if len(users) == 0:
        raise ModelError("the test part has no user known to train; nothing to evaluate")
    return users


def _summary(split: Split, test_users: int) -> dict[str, Any]:
    return {
        "method": split.method,
        "cutoff": None if split.cutoff is None else str(split.cutoff),
        "train_users": split.train.n_users,
        "train_items": split.train.n_items,
        "train_entries": len(split.train),
        "test_users": test_users,
        "test_entries": len(split.test),
        "dropped_users": split.dropped_users,
        "dropped_items": split.dropped_items,
    }


def bought_policies(bought: Sequence[str]) -> list[str]:
    """``bought`` without repeats, each checked to be ``"allow"`` or ``"exclude"``."""
    policies = list(dict.fromkeys(bought))
    wrong = [p for p in policies if p not in ("allow", "exclude")]
    if wrong or not policies:
        raise ModelError(
            f"bought={wrong or policies!r}: each policy must be 'allow' (bought items may be "
            "recommended again) or 'exclude'"
        )
    return policies
