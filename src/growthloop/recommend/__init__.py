"""Personalised recommendations: recall sources, ranking, re-ranking, evaluation and serving.

Recall sources (:mod:`growthloop.recommend.sources`) each propose scored candidates from an
:class:`Interactions` log; a learned ranker orders their union and re-ranking applies diversity,
exclusions and business rules, every recommendation keeping the reason it was chosen.
"""

from __future__ import annotations

from growthloop.recommend._candidates import Candidates, Catalogue, RecallSource, TrainingData
from growthloop.recommend._interactions import Interactions

__all__ = [
    "Candidates",
    "Catalogue",
    "Interactions",
    "RecallSource",
    "TrainingData",
]
