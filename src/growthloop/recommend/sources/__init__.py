"""Recall sources: each proposes scored candidates for the ranker, with the item that explains each.

Every source follows scikit-learn's estimator contract (hyperparameters in ``__init__``, ``fit``
returning self, fitted state in attributes ending in ``_``) and answers
``recommend(users, n, exclude=mask)`` with :class:`~growthloop.recommend.Candidates`.

=====================  ===============================================================
``buy_again``          :class:`BuyAgain`, the customer's own purchases that are due again
``popular``            :class:`Popularity`, time-decayed count of distinct users
``popular_group``      :class:`GroupPopularity`, popularity in the customer's group
``trending``           :class:`TrendingPopularity`, items gaining users now
``cooccurrence``       :class:`ItemCooccurrence`, bought together (cosine or lift)
``als``                :class:`ALS`, implicit-feedback matrix factorisation
``bpr``                :class:`BPR`, Bayesian personalised ranking
``content``            :class:`ContentSimilarity`, TF-IDF over product text
``user_knn``           :class:`UserKNN`, customers with similar histories
=====================  ===============================================================
"""

from __future__ import annotations

from growthloop.recommend.sources._als import ALS
from growthloop.recommend.sources._base import SourceBase
from growthloop.recommend.sources._bpr import BPR
from growthloop.recommend.sources._buy_again import BuyAgain
from growthloop.recommend.sources._content import ContentSimilarity
from growthloop.recommend.sources._cooccurrence import ItemCooccurrence
from growthloop.recommend.sources._factorization import MatrixFactorization
from growthloop.recommend.sources._item_based import ItemBasedSource
from growthloop.recommend.sources._popularity import (
    GroupPopularity,
    Popularity,
    TrendingPopularity,
)
from growthloop.recommend.sources._registry import SOURCE_NAMES, default_sources, make_source
from growthloop.recommend.sources._user_knn import UserKNN

__all__ = [
    "ALS",
    "BPR",
    "BuyAgain",
    "ContentSimilarity",
    "GroupPopularity",
    "ItemBasedSource",
    "ItemCooccurrence",
    "MatrixFactorization",
    "Popularity",
    "SOURCE_NAMES",
    "SourceBase",
    "TrendingPopularity",
    "UserKNN",
    "default_sources",
    "make_source",
]
