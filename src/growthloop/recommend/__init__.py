"""Personalised recommendations: recall sources, ranking, re-ranking, evaluation and serving.

Recall sources (:mod:`growthloop.recommend.sources`) each propose scored candidates from an
:class:`Interactions` log; a learned ranker orders their union and re-ranking applies diversity,
exclusions and business rules, every recommendation keeping the reason it was chosen.
"""

from __future__ import annotations

from growthloop.recommend._candidates import Candidates, Catalogue, RecallSource, TrainingData
from growthloop.recommend._features import CandidateFeatures, candidate_features
from growthloop.recommend._files import (
    InteractionTable,
    RejectedRow,
    check_interactions,
    read_interactions,
)
from growthloop.recommend._interactions import Interactions
from growthloop.recommend._metrics import RankingMetrics, ranking_metrics
from growthloop.recommend._ranker import LearnedRanker, RankerTrainingSet, training_frame
from growthloop.recommend._reasons import explain, reason_sentence
from growthloop.recommend._rerank import RerankRules, as_candidates, rerank
from growthloop.recommend._split import (
    Split,
    leave_last_basket_out,
    temporal_split,
    validation_split,
)
from growthloop.recommend._store import (
    InteractionWeights,
    catalogue_from_store,
    interactions_from_store,
)

__all__ = [
    "CandidateFeatures",
    "Candidates",
    "Catalogue",
    "InteractionTable",
    "InteractionWeights",
    "Interactions",
    "LearnedRanker",
    "RankerTrainingSet",
    "RankingMetrics",
    "RecallSource",
    "RejectedRow",
    "RerankRules",
    "Split",
    "TrainingData",
    "as_candidates",
    "candidate_features",
    "catalogue_from_store",
    "check_interactions",
    "explain",
    "interactions_from_store",
    "leave_last_basket_out",
    "ranking_metrics",
    "read_interactions",
    "reason_sentence",
    "rerank",
    "temporal_split",
    "training_frame",
    "validation_split",
]
