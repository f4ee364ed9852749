"""What recall sources share: the item catalogue they may read and the candidates they return."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from growthloop.errors import ModelError, NotFittedError
from growthloop.recommend._interactions import Interactions

__all__ = ["Candidates", "Catalogue", "RecallSource", "TrainingData"]


@dataclass(frozen=True, eq=False)
class Catalogue:
    """Item facts aligned with an :class:`Interactions`' ``item_ids`` (entry ``i`` is item ``i``).

    ``text`` is free text (name, description, tags) for content similarity; ``category`` may be
    empty strings where unknown; ``price`` may be NaN; ``available`` marks items that may be shown.
    """

    text: npt.NDArray[np.object_]
    category: npt.NDArray[np.object_]
    price: npt.NDArray[np.float64]
    available: npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class TrainingData:
    """Everything a recall source may learn from.

    ``groups`` is a label per user row (a segment, a country) for per-group popularity, or None.
    """

    interactions: Interactions
    catalogue: Catalogue | None = None
    groups: npt.NDArray[np.object_] | None = None


@dataclass(frozen=True, eq=False)
class Candidates:
    """Scored candidates for a batch of users, as parallel arrays.

    Entries are grouped by ``user`` (row index into ``user_ids``) in the order the users were
    asked for, best first within a user. ``anchor`` is the item index that explains a candidate
    ("bought together with X", "similar to X"), or -1; ``source`` names the recall source.
    """

    source: str
    user: npt.NDArray[np.int32]
    item: npt.NDArray[np.int32]
    score: npt.NDArray[np.float32]
    anchor: npt.NDArray[np.int32] = field(default_factory=lambda: np.empty(0, np.int32))

    def __post_init__(self) -> None:
        if len(self.anchor) == 0 and len(self.user) > 0:
            object.__setattr__(self, "anchor", np.full(len(self.user), -1, dtype=np.int32))
        lengths = {len(self.user), len(self.item), len(self.score), len(self.anchor)}
        if len(lengths) != 1:
            raise ValueError(f"candidate arrays differ in length: {sorted(lengths)}")

    def __len__(self) -> int:
        return len(self.user)

    @classmethod
    def from_scores(
        cls,
        source: str,
        users: npt.NDArray[np.int32],
        items: npt.NDArray[np.int32],
        scores: npt.NDArray[np.float32],
        anchors: npt.NDArray[np.int32] | None = None,
    ) -> Candidates:
        """Candidates from ``(len(users), n)`` arrays of items and scores, best first per row.

        Entries with a negative item index or a non-finite score are padding and dropped.
        """
        keep = (items >= 0) & np.isfinite(scores)
        user = np.broadcast_to(np.asarray(users, np.int32)[:, None], items.shape)[keep]
        anchor = None if anchors is None else anchors[keep].astype(np.int32)
        return cls(
            source=source,
            user=user.astype(np.int32),
            item=items[keep].astype(np.int32),
            score=scores[keep].astype(np.float32),
            anchor=np.empty(0, np.int32) if anchor is None else anchor,
        )


class RecallSource(abc.ABC):
    """A source of candidate items, fitted on :class:`TrainingData`.

    Subclasses store hyperparameters in ``__init__`` only (scikit-learn style), set fitted state
    in attributes ending in ``_`` in :meth:`fit`, and return the ``n`` best items per user from
    :meth:`recommend`, never an item the mask ``exclude`` (users x items, nonzero = excluded)
    marks for that user.
    """

    name: str = "source"

    @abc.abstractmethod
    def fit(self, data: TrainingData) -> RecallSource:
        """Learn from ``data``; returns self."""

    @abc.abstractmethod
    def recommend(
        self,
        users: npt.NDArray[np.int32],
        n: int,
        *,
        exclude: sp.csr_matrix | None = None,
        anchors: bool = True,
    ) -> Candidates:
        """The ``n`` best items for each user row in ``users``.

        With ``anchors=False`` every anchor is -1 and sources skip computing them (callers that
        explain only the items they finally choose ask :meth:`anchor_of` for those).
        """

    def anchor_of(
        self, users: npt.NDArray[np.int64], items: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int32]:
        """The anchor :meth:`recommend` gives item ``items[k]`` for user row ``users[k]`` (-1:
        none); the base class has none."""
        return np.full(len(np.asarray(items)), -1, dtype=np.int32)

    def _check_fitted(self, attribute: str) -> None:
        if not hasattr(self, attribute):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "training data before using it."
            )

    @staticmethod
    def _check_n(n: int) -> None:
        if n <= 0:
            raise ModelError(f"n={n} must be a positive number of items; ask for 1 or more")
