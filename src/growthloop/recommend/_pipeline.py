"""The full recommender: recall from several sources, a learned ranker, re-ranking with reasons.

:meth:`Recommender.fit` holds out the last ``validation_days`` of the training log (a random
``holdout_share`` of the entries when the log has no times), fits every recall source on the
rest, labels their candidates with what each user did in the held-out part and trains the
ranker on that (so the ranker learns how much to trust each source, from
data it was not fitted on); the sources are then refitted on the whole log. No test data is
read. :meth:`Recommender.recommend` asks every source for candidates, ranks their union,
re-ranks it under :class:`RerankRules` and says why each item was chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from growthloop.errors import ModelError, NotFittedError
from growthloop.recommend._candidates import Candidates, Catalogue, TrainingData
from growthloop.recommend._features import (
    CandidateFeatures,
    LogStatistics,
    candidate_features,
    purchases,
)
from growthloop.recommend._interactions import Interactions
from growthloop.recommend._ranker import LearnedRanker, training_frame
from growthloop.recommend._reasons import ANCHORED_SOURCES, explain
from growthloop.recommend._rerank import MAX_N, RerankRules, rerank
from growthloop.recommend._split import temporal_split
from growthloop.recommend.sources import BuyAgain, SourceBase, make_source

__all__ = ["DEFAULT_SOURCES", "Recommender", "restrict"]

#: The recall sources of the default pipeline (``bpr`` is left out: ALS covers factorisation).
DEFAULT_SOURCES: tuple[str, ...] = (
    "buy_again",
    "popular",
    "popular_group",
    "trending",
    "cooccurrence",
    "als",
    "content",
    "user_knn",
)


def restrict(data: TrainingData, interactions: Interactions) -> TrainingData:
    """``data``'s catalogue and groups re-aligned to ``interactions``' vocabularies (a split's
    train part is re-indexed over the users and items it contains)."""
    catalogue = data.catalogue
    if catalogue is not None:
        position = pd.Index(data.interactions.item_ids).get_indexer(interactions.item_ids)
        catalogue = Catalogue(
            text=catalogue.text[position],
            category=catalogue.category[position],
            price=catalogue.price[position],
            available=catalogue.available[position],
        )
    groups = data.groups
    if groups is not None:
        groups = groups[pd.Index(data.interactions.user_ids).get_indexer(interactions.user_ids)]
    return TrainingData(interactions=interactions, catalogue=catalogue, groups=groups)


class Recommender:
    """Recall → rank → re-rank (see the module docstring).

    Parameters
    ----------
    sources
        Recall source names (see :mod:`growthloop.recommend.sources`); sources that cannot
        run on the data (``content`` without a catalogue) are skipped with a note.
    candidates
        Candidates asked from each source per user.
    shortlist
        Candidates per user scored by the whole ranker; the others are screened out by its
        first trees (a cascade, see :meth:`LearnedRanker.rank`). None scores every candidate
        with every tree.
    validation_days
        Days held out at the end of the training log to train the ranker.
    ranker_users
        At most this many of the users active in the held-out days (a random sample) give the
        ranker its training lists; None uses all of them. A ranker learns the weighting of a
        few dozen features from tens of thousands of lists; millions only cost memory.
    holdout_share
        Share of the entries held out instead, at random, when the log has no times.
    source_params
        Hyperparameters per source name, overriding the defaults.
    ranker
        The ranker to train (default :class:`LearnedRanker` with its defaults).
    rules
        Default re-ranking rules for :meth:`recommend`.
    random_state
        Seed of the random holdout and of the ranker's sample of users.

    Attributes
    ----------
    sources_
        The fitted sources by name, fitted on the whole training log.
    ranker_
        The fitted ranker.
    skipped_
        Source name -> why it was left out.
    """

    def __init__(
        self,
        *,
        sources: Sequence[str] = DEFAULT_SOURCES,
        candidates: int = 50,
        shortlist: int | None = 30,
        validation_days: float = 30.0,
        ranker_users: int | None = 50_000,
        source_params: dict[str, dict[str, Any]] | None = None,
        ranker: LearnedRanker | None = None,
        rules: RerankRules | None = None,
        holdout_share: float = 0.2,
        random_state: int = 0,
    ) -> None:
        self.sources = sources
        self.candidates = candidates
        self.shortlist = shortlist
        self.validation_days = validation_days
        self.ranker_users = ranker_users
        self.source_params = source_params
        self.ranker = ranker
        self.rules = rules
        self.holdout_share = holdout_share
        self.random_state = random_state

    def fit(self, data: TrainingData) -> Recommender:
        """Train the ranker on a held-out period, then fit the sources on everything."""
        if not self.sources:
            raise ModelError("sources is empty; name at least one recall source")
        if self.candidates <= 0:
            raise ModelError(f"candidates={self.candidates} must be positive; try 50")
        if self.shortlist is not None and self.shortlist <= 0:
            raise ModelError(f"shortlist={self.shortlist} must be positive or None; try 30")
        if self.ranker_users is not None and self.ranker_users <= 0:
            raise ModelError(
                f"ranker_users={self.ranker_users} must be positive or None; try 50000"
            )
        self.skipped_: dict[str, str] = {}
        inner, later = self._held_out(data)
        inner_sources = self._fit_sources(inner)
        users = np.unique(later.user).astype(np.int32)
        if len(users) == 0:
            raise ModelError(
                f"no user has interactions in the last {self.validation_days} days of the "
                "training log to train the ranker on; lower validation_days"
            )
        if self.ranker_users is not None and len(users) > self.ranker_users:
            rng = np.random.default_rng(self.random_state)
            users = np.sort(rng.choice(users, size=self.ranker_users, replace=False))
        training = training_frame(
            self._recall(inner_sources, users, None),
            later,
            train=inner.interactions,
            catalogue=inner.catalogue,
        )
        if not training.labels.any():
            raise ModelError(
                "no source proposed any item users interacted with in the held-out days, so "
                "the ranker has nothing to learn from; raise candidates or validation_days"
            )
        ranker = LearnedRanker() if self.ranker is None else self.ranker
        self.ranker_ = LearnedRanker(**ranker.get_params()).fit(
            training.features, training.labels, training.groups
        )
        self.training_rows_ = len(training.labels)
        self.sources_ = self._fit_sources(data)
        self.data_ = data
        self.__dict__.pop("_log_statistics", None)
        self.bought_ = purchases(data.interactions)
        return self

    def _held_out(self, data: TrainingData) -> tuple[TrainingData, Interactions]:
        """What the ranker's sources are fitted on, and the held-out log that labels them."""
        log = data.interactions
        if log.latest() is not None:
            try:
                split = temporal_split(log, test_days=self.validation_days)
            except ModelError as exc:
                raise ModelError(
                    f"cannot hold out validation_days={self.validation_days} to train the "
                    f"ranker: {exc}; lower validation_days"
                ) from exc
            return restrict(data, split.train), split.test
        if not 0 < self.holdout_share < 1:
            raise ModelError(
                f"holdout_share={self.holdout_share} must be between 0 and 1; try 0.2"
            )
        later = np.random.default_rng(self.random_state).random(len(log)) < self.holdout_share
        inner = TrainingData(log.subset(~later), data.catalogue, data.groups)
        return inner, log.subset(later)

    def _fit_sources(self, data: TrainingData) -> dict[str, SourceBase]:
        params = self.source_params or {}
        fitted: dict[str, SourceBase] = {}
        for name in self.sources:
            if name == "content" and data.catalogue is None:
                self.skipped_[name] = "no item catalogue (product text) to compare"
                continue
            source = make_source(name, **params.get(name, {}))
            source.fit(data)
            fitted[name] = source
        return fitted

    def _recall(
        self,
        sources: dict[str, SourceBase],
        users: npt.NDArray[np.int32],
        exclude: sp.csr_matrix | None,
    ) -> list[Candidates]:
        """Every source's candidates, without anchors: only the chosen items are explained."""
        return [
            s.recommend(users, self.candidates, exclude=exclude, anchors=False)
            for s in sources.values()
        ]

    def _anchor_chosen(self, chosen: pd.DataFrame) -> pd.DataFrame:
        """``chosen`` with the anchors of the rows whose reason names one."""
        source = chosen["source"].astype(str).to_numpy(dtype=object)
        anchor = chosen["anchor"].to_numpy(np.int32).copy()
        for name in ANCHORED_SOURCES.intersection(pd.unique(source)):
            rows = np.flatnonzero(source == name)
            anchor[rows] = self.sources_[name].anchor_of(
                chosen["user"].to_numpy(np.int64)[rows], chosen["item"].to_numpy(np.int64)[rows]
            )
        return chosen.assign(anchor=anchor)

    def _check_fitted(self) -> None:
        if not hasattr(self, "ranker_"):
            raise NotFittedError(
                "This Recommender instance is not fitted yet. Call 'fit' with training data "
                "before using it."
            )

    def log_statistics(self) -> LogStatistics:
        """The training log's summaries the candidate features read, computed on first use and
        shared by every later batch (not pickled: a loaded model computes them again)."""
        self._check_fitted()
        cached: LogStatistics | None = self.__dict__.get("_log_statistics")
        if cached is None:
            cached = LogStatistics.of(self.data_.interactions, self.data_.catalogue)
            self._log_statistics = cached
        return cached

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_log_statistics", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({"shortlist": None, **state})  # builds from before the cascade

    def score(self, features: CandidateFeatures) -> npt.NDArray[np.float64]:
        """The ranker's score of every candidate row (see ``shortlist``)."""
        self._check_fitted()
        return self.ranker_.rank(
            features, groups=features.frame["user"].to_numpy(np.int64), keep=self.shortlist
        )

    def ranked(
        self, users: npt.NDArray[np.int32], *, rules: RerankRules | None = None
    ) -> pd.DataFrame:
        """Every candidate of ``users`` with its features and ranker ``score``."""
        self._check_fitted()
        rules = rules or self.rules or RerankRules()
        exclude = self.bought_ if rules.bought == "exclude" else None
        candidates = self._recall(self.sources_, users, exclude)
        features = candidate_features(
            candidates, train=self.data_.interactions, catalogue=self.data_.catalogue,
            statistics=self.log_statistics(),
        )
        frame = features.frame
        frame["score"] = self.score(features)
        return frame

    def recommend(
        self, users: npt.NDArray[np.int32], n: int = 10, *, rules: RerankRules | None = None
    ) -> pd.DataFrame:
        """The top ``n`` items per user row, with ``rank``, ``score``, ``reason_code`` and
        ``reason`` (rows of users with nothing to recommend are absent)."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= MAX_N:
            raise ModelError(f"n={n!r} must be a whole number from 1 to {MAX_N}; try 10")
        rules = rules or self.rules or RerankRules()
        users = np.asarray(users, dtype=np.int32)
        chosen = rerank(
            self.ranked(users, rules=rules),
            n=int(n),
            rules=rules,
            catalogue=self.data_.catalogue,
            bought=self.bought_,
        )
        chosen = self._anchor_chosen(chosen)
        buy_again = self.sources_.get("buy_again")
        return explain(
            chosen,
            catalogue=self.data_.catalogue,
            item_ids=self.data_.interactions.item_ids,
            groups=self.data_.groups,
            cycle_days=buy_again.cycle_days_ if isinstance(buy_again, BuyAgain) else None,
        )
