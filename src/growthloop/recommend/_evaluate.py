"""Offline evaluation: every recall source alone, the popularity baseline and the full pipeline
on one split, in one table.

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
import pandas as pd

from growthloop.errors import ModelError
from growthloop.recommend._candidates import TrainingData
from growthloop.recommend._features import purchases
from growthloop.recommend._metrics import RankingMetrics, ranking_metrics
from growthloop.recommend._pipeline import DEFAULT_SOURCES, Recommender, restrict
from growthloop.recommend._rerank import RerankRules, as_candidates
from growthloop.recommend._split import Split
from growthloop.recommend.sources import make_source

__all__ = ["BASELINE", "Evaluation", "EvaluationRow", "evaluate"]

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
    say = progress or (lambda _message: None)
    train = restrict(data, split.train)
    users = np.unique(split.test.user).astype(np.int32)
    if len(users) == 0:
        raise ModelError("the test part has no user known to train; nothing to evaluate")
    exclude = purchases(train.interactions) if exclude_bought else None
    rows: list[EvaluationRow] = []
    skipped: dict[str, str] = {}
    names = list(dict.fromkeys([BASELINE, *sources]))
    for name in names:
        if name == "content" and train.catalogue is None:
            skipped[name] = "no item catalogue (product text) to compare"
            continue
        say(f"fitting {name}")
        started = time.perf_counter()
        source = make_source(name).fit(train)
        candidates = source.recommend(users, k, exclude=exclude)
        metrics = ranking_metrics(candidates, test=split.test, train=split.train, k=k)
        kind = "baseline" if name == BASELINE else "source"
        rows.append(EvaluationRow(name, kind, metrics, time.perf_counter() - started))
    say("fitting the full pipeline (sources, ranker on the last days of train, re-ranking)")
    started = time.perf_counter()
    model = Recommender(sources=list(sources)) if recommender is None else recommender
    model.fit(train)
    rules = RerankRules(bought="exclude" if exclude_bought else "allow")
    chosen = model.recommend(users, k, rules=rules)
    metrics = ranking_metrics(as_candidates(chosen), test=split.test, train=split.train, k=k)
    rows.append(EvaluationRow(PIPELINE, "pipeline", metrics, time.perf_counter() - started))
    skipped.update(model.skipped_)
    rows.sort(key=lambda r: (r.kind != "pipeline", -r.metrics.ndcg))
    return Evaluation(
        k=k,
        exclude_bought=exclude_bought,
        rows=rows,
        split={
            "method": split.method,
            "cutoff": None if split.cutoff is None else str(split.cutoff),
            "train_users": split.train.n_users,
            "train_items": split.train.n_items,
            "train_entries": len(split.train),
            "test_users": int(len(users)),
            "test_entries": len(split.test),
            "dropped_users": split.dropped_users,
            "dropped_items": split.dropped_items,
        },
        skipped=skipped,
    )
