"""Personalised recommendations: recall sources, ranking, re-ranking, evaluation and serving.

Recall sources (:mod:`growthloop.recommend.sources`) each propose scored candidates from an
:class:`Interactions` log; a learned ranker orders their union and re-ranking applies diversity,
exclusions and business rules, every recommendation keeping the reason it was chosen.
"""

from __future__ import annotations

from growthloop.recommend._answers import (
    CustomerRecommendations,
    SimilarItems,
    recommendations_for,
    similar_items,
)
from growthloop.recommend._build import RecommendationBuild, build_recommendations
from growthloop.recommend._candidates import Candidates, Catalogue, RecallSource, TrainingData
from growthloop.recommend._evaluate import (
    Evaluation,
    EvaluationRow,
    FittedModels,
    evaluate,
    evaluate_policies,
)
from growthloop.recommend._features import CandidateFeatures, candidate_features
from growthloop.recommend._files import (
    InteractionTable,
    RejectedRow,
    check_interactions,
    read_interactions,
)
from growthloop.recommend._interactions import Interactions
from growthloop.recommend._metrics import RankingMetrics, ranking_metrics
from growthloop.recommend._pipeline import DEFAULT_SOURCES, Recommender
from growthloop.recommend._ranker import LearnedRanker, RankerTrainingSet, training_frame
from growthloop.recommend._reasons import explain, reason_sentence
from growthloop.recommend._republish import republish
from growthloop.recommend._rerank import RerankRules, as_candidates, rerank
from growthloop.recommend._service import (
    EvaluationRun,
    evaluate_files,
    evaluate_workspace,
)
from growthloop.recommend._serving import (
    MODEL_NAME,
    Recommendation,
    ServingCache,
    ServingModel,
    load_serving_model,
)
from growthloop.recommend._split import (
    Split,
    leave_last_basket_out,
    random_split,
    temporal_split,
    validation_split,
)
from growthloop.recommend._store import (
    InteractionWeights,
    catalogue_from_store,
    interactions_from_store,
)
from growthloop.recommend._template import TemplateRecommendations, template_recommendations
from growthloop.recommend._truth import evaluate_against_truth, truth_split
from growthloop.recommend._tune import (
    DEFAULT_GRIDS,
    Tuning,
    TuningTrial,
    holdout_split,
    tune_sources,
)
from growthloop.recommend._update import (
    INTERACTION_KINDS,
    CustomerUpdate,
    NewInteraction,
    update_customer,
)

__all__ = [
    "DEFAULT_GRIDS",
    "DEFAULT_SOURCES",
    "INTERACTION_KINDS",
    "MODEL_NAME",
    "CandidateFeatures",
    "Candidates",
    "Catalogue",
    "CustomerRecommendations",
    "CustomerUpdate",
    "Evaluation",
    "EvaluationRow",
    "EvaluationRun",
    "FittedModels",
    "InteractionTable",
    "InteractionWeights",
    "Interactions",
    "LearnedRanker",
    "NewInteraction",
    "RankerTrainingSet",
    "RankingMetrics",
    "RecallSource",
    "Recommendation",
    "RecommendationBuild",
    "Recommender",
    "RejectedRow",
    "RerankRules",
    "ServingCache",
    "ServingModel",
    "SimilarItems",
    "Split",
    "TemplateRecommendations",
    "TrainingData",
    "Tuning",
    "TuningTrial",
    "as_candidates",
    "build_recommendations",
    "candidate_features",
    "catalogue_from_store",
    "check_interactions",
    "evaluate",
    "evaluate_against_truth",
    "evaluate_files",
    "evaluate_policies",
    "evaluate_workspace",
    "explain",
    "holdout_split",
    "interactions_from_store",
    "leave_last_basket_out",
    "load_serving_model",
    "random_split",
    "ranking_metrics",
    "read_interactions",
    "reason_sentence",
    "recommendations_for",
    "republish",
    "rerank",
    "similar_items",
    "template_recommendations",
    "temporal_split",
    "training_frame",
    "truth_split",
    "tune_sources",
    "update_customer",
    "validation_split",
]
