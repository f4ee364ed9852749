"""A recommendation build loaded for serving, and a cache that reloads it when another is promoted.

:func:`load_serving_model` loads the promoted version of the ``recommender`` model: its
artifact from the registry (SHA-256 checked) and its arrays memory-mapped. Answers then come
from memory: a customer's precomputed top-N (or their update since the build), popularity for
customers without history, and the similar-items index. :class:`ServingCache` keeps one loaded
build per process and swaps it when the registry promotes another version.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from growthloop.errors import ModelError, NotFoundError
from growthloop.predict.registry import ModelVersion, get_model, load_model
from growthloop.recommend._artifact import ServingArtifact, attach_factors, load_arrays
from growthloop.recommend._fold_in import item_statistics
from growthloop.recommend._pipeline import Recommender
from growthloop.recommend._reasons import reason_sentence
from growthloop.recommend._similar import KINDS
from growthloop.recommend._updates import UpdateLog
from growthloop.recommend.sources import MatrixFactorization
from growthloop.store import OperationalStore

__all__ = [
    "MAX_SERVED",
    "MODEL_NAME",
    "NO_BUILD",
    "Recommendation",
    "ServingCache",
    "ServingModel",
    "check_n",
    "load_serving_model",
]

#: The registry name (and kind) of recommendation builds.
MODEL_NAME = "recommender"

#: The most items one request may ask for.
MAX_SERVED = 100

NO_BUILD = (
    "no recommendations have been built in this workspace yet; run `growthloop recommend build`"
)


def check_n(n: object) -> int:
    """``n`` as an int from 1 to :data:`MAX_SERVED`; a ModelError otherwise."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= MAX_SERVED:
        raise ModelError(f"n={n!r} must be a whole number from 1 to {MAX_SERVED}; try 10")
    return int(n)


@dataclass(frozen=True)
class Recommendation:
    """One recommended item and why it was chosen."""

    rank: int
    item_id: str
    name: str
    score: float | None
    reason_code: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "item_id": self.item_id,
            "name": self.name,
            "score": self.score,
            "reason_code": self.reason_code,
            "reason": self.reason,
        }


@dataclass(eq=False)
class ServingModel:
    """One loaded build (see the module docstring); build it with :func:`load_serving_model`."""

    model: ModelVersion
    artifact: ServingArtifact
    arrays: dict[str, npt.NDArray[np.generic]]
    folder: Path
    users: pd.Index
    items: pd.Index
    cold: pd.Index
    updates: UpdateLog
    _item_statistics: pd.DataFrame | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def recommender(self) -> Recommender:
        return self.artifact.recommender

    def row_of(self, canonical_id: str) -> int | None:
        """The customer's training row, or None when they had no interactions."""
        position = self.users.get_indexer([canonical_id])[0]
        return None if position < 0 else int(position)

    def item_of(self, item_id: str) -> int | None:
        """The item's index, or None when the build does not know it."""
        position = self.items.get_indexer([item_id])[0]
        return None if position < 0 else int(position)

    def cold_segment(self, canonical_id: str) -> str | None:
        """The segment of a customer known at build time without history ("" unknown), or
        None when the build did not know the customer at all."""
        position = self.cold.get_indexer([canonical_id])[0]
        return None if position < 0 else str(self.artifact.cold_groups[position])

    def identity_of(self, identity: str) -> str | None:
        """The canonical id behind an email address or phone number the build knew (emails
        also in lower case), or None (the store must answer)."""
        known = getattr(self.artifact, "identities", None) or {}
        found = known.get(identity)
        if found is None and "@" in identity:
            found = known.get(identity.lower())
        return found

    def knows(self, canonical_id: str) -> bool:
        """Whether the build can answer for this canonical id without the store."""
        return (
            self.row_of(canonical_id) is not None
            or self.cold_segment(canonical_id) is not None
            or self.updates.get(canonical_id) is not None
        )

    def segment_of_row(self, row: int) -> str:
        groups = self.recommender.data_.groups
        return "" if groups is None else str(groups[row] or "")

    def name(self, item: int) -> str:
        return str(self.artifact.item_names[item])

    def precomputed(self, row: int, n: int) -> list[Recommendation]:
        """The customer's first ``n`` precomputed items."""
        items = np.asarray(self.arrays["top_items"][row, :n])
        scores = np.asarray(self.arrays["top_scores"][row, :n])
        reasons = np.asarray(self.arrays["top_reasons"][row, :n])
        found: list[Recommendation] = []
        for slot in np.flatnonzero(items >= 0).tolist():
            code, sentence = self.artifact.reasons[int(reasons[slot])]
            found.append(Recommendation(
                rank=slot + 1,
                item_id=str(self.items[items[slot]]),
                name=self.name(int(items[slot])),
                score=float(scores[slot]),
                reason_code=code,
                reason=sentence,
            ))
        return found

    def updated(self, canonical_id: str, n: int) -> list[Recommendation] | None:
        """The customer's first ``n`` items as last updated since the build, or None."""
        entry = self.updates.get(canonical_id)
        if entry is None:
            return None
        found: list[Recommendation] = []
        for row in entry[1][:n]:
            item = self.item_of(str(row["item_id"]))
            found.append(Recommendation(
                rank=int(row["rank"]),
                item_id=str(row["item_id"]),
                name=self.name(item) if item is not None else str(row["item_id"]),
                score=None if row["score"] is None else float(row["score"]),
                reason_code=str(row["reason_code"]),
                reason=str(row["reason"]),
            ))
        return found

    def popular(self, segment: str, n: int) -> list[Recommendation]:
        """The ``n`` most popular available items in ``segment``, else overall."""
        lists = self.artifact.popular
        in_segment = bool(segment) and segment in lists
        items, scores = lists[segment if in_segment else ""]
        code = "popular_group" if in_segment else "popular"
        sentence = reason_sentence(code, group=segment if in_segment else None)
        return [
            Recommendation(rank=rank, item_id=str(self.items[item]), name=self.name(int(item)),
                           score=float(score), reason_code=code, reason=sentence)
            for rank, (item, score) in enumerate(zip(items[:n], scores[:n], strict=True), 1)
        ]

    def similar(self, item: int, n: int) -> list[Recommendation]:
        """The ``n`` items most similar to ``item``, each with why."""
        neighbours = np.asarray(self.arrays["similar_items"][item, :n])
        scores = np.asarray(self.arrays["similar_scores"][item, :n])
        kinds = np.asarray(self.arrays["similar_kinds"][item, :n])
        anchor = self.name(item)
        found: list[Recommendation] = []
        for slot in np.flatnonzero(neighbours >= 0).tolist():
            code = KINDS[int(kinds[slot])]
            found.append(Recommendation(
                rank=len(found) + 1,
                item_id=str(self.items[neighbours[slot]]),
                name=self.name(int(neighbours[slot])),
                score=float(scores[slot]),
                reason_code=code,
                reason=reason_sentence(code, anchor_name=anchor),
            ))
        return found

    def item_statistics(self) -> pd.DataFrame:
        """Each item's training-log features, computed on first use (updates need them)."""
        with self._lock:
            if self._item_statistics is None:
                self._item_statistics = item_statistics(self.recommender)
            return self._item_statistics


def promoted_version(operational: OperationalStore) -> ModelVersion:
    """The promoted recommender version; NotFoundError when there is none."""
    try:
        found = get_model(operational, MODEL_NAME)
    except NotFoundError:
        raise NotFoundError(NO_BUILD) from None
    if found.status != "promoted":
        raise NotFoundError(
            f"{MODEL_NAME} v{found.version} is {found.status}, none is promoted; promote one "
            f"with `growthloop models promote {MODEL_NAME} {found.version}` or run "
            "`growthloop recommend build`"
        )
    return found


def load_serving_model(*, operational: OperationalStore, models_dir: Path) -> ServingModel:
    """Load the promoted build for serving (its arrays memory-mapped)."""
    found, artifact = load_model(
        store=operational,
        models_dir=models_dir,
        name=MODEL_NAME,
        version=promoted_version(operational).version,
    )
    if not isinstance(artifact, ServingArtifact):
        raise ModelError(
            f"{found.name} v{found.version} holds a {type(artifact).__name__}, not a "
            "recommendation build; run `growthloop recommend build`"
        )
    folder = models_dir / found.artifact_path
    factor_sources = [
        name for name, source in artifact.recommender.sources_.items()
        if isinstance(source, MatrixFactorization)
    ]
    arrays = load_arrays(
        folder,
        artifact.files,
        copy_on_write=frozenset(f"{name}_item_factors" for name in factor_sources),
    )
    attach_factors(artifact.recommender, arrays)
    interactions = artifact.recommender.data_.interactions
    updates = UpdateLog(folder)
    updates.refresh()
    return ServingModel(
        model=found,
        artifact=artifact,
        arrays=arrays,
        folder=folder,
        users=pd.Index(interactions.user_ids.astype(str)),
        items=pd.Index(interactions.item_ids.astype(str)),
        cold=pd.Index(artifact.cold_ids.astype(str)),
        updates=updates,
    )


class ServingCache:
    """The build one process serves: loaded on first use, reloaded when another version is
    promoted (checked at most every ``ttl_seconds``); updates since the build are read on
    every call. Safe to share between threads."""

    def __init__(
        self,
        *,
        operational: OperationalStore,
        models_dir: Path,
        ttl_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.operational = operational
        self.models_dir = models_dir
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._model: ServingModel | None = None
        self._checked = -float("inf")
        self._lock = threading.Lock()

    def get(self) -> ServingModel:
        """The served build (NotFoundError when none is promoted)."""
        with self._lock:
            now = self.clock()
            model = self._model
            if model is None or now - self._checked >= self.ttl_seconds:
                version = promoted_version(self.operational).version
                if model is None or model.model.version != version:
                    model = load_serving_model(
                        operational=self.operational, models_dir=self.models_dir
                    )
                    self._model = model
                self._checked = now
        model.updates.refresh()
        return model
