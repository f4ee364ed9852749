"""Implicit feedback as a users x items matrix, with the ids behind its rows and columns.

An :class:`Interactions` keeps the raw log (one entry per purchase, cart, view or return, with its
weight and time) and turns it into the sparse matrix every recall source reads: weights summed per
(user, item), optionally decayed with a half-life, returns counted against the item, and entries
that end at or below zero dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from growthloop.errors import ModelError

__all__ = ["Interactions"]

_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, eq=False)
class Interactions:
    """A log of (user, item, weight, time) entries over fixed user and item vocabularies.

    Attributes
    ----------
    user_ids, item_ids
        Row and column labels: ``user_ids[u]`` is the id of row ``u`` (strings).
    user, item
        Row and column index of each log entry (``int32``).
    weight
        Weight of each entry (``float32``); negative for returns.
    time
        Time of each entry (``datetime64[s]``; ``NaT`` where unknown).
    basket
        Basket (order or session) number of each entry, ``-1`` where unknown: entries sharing a
        basket were bought or viewed together.
    """

    user_ids: npt.NDArray[np.object_]
    item_ids: npt.NDArray[np.object_]
    user: npt.NDArray[np.int32]
    item: npt.NDArray[np.int32]
    weight: npt.NDArray[np.float32]
    time: npt.NDArray[np.datetime64]
    basket: npt.NDArray[np.int64]

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        user_col: str = "user_id",
        item_col: str = "item_id",
        weight_col: str | None = None,
        time_col: str | None = None,
        basket_col: str | None = None,
        user_ids: npt.NDArray[np.object_] | None = None,
        item_ids: npt.NDArray[np.object_] | None = None,
    ) -> Interactions:
        """Index a frame of interactions; ids are compared as strings.

        Given ``user_ids``/``item_ids`` (for example a training set's), rows whose user or item
        is not among them are dropped, so a test set can be expressed in the training indices.
        """
        for column in (user_col, item_col, weight_col, time_col, basket_col):
            if column is not None and column not in frame.columns:
                raise ModelError(
                    f"column {column!r} is not in the interactions (columns: "
                    f"{', '.join(map(str, frame.columns))}); pass the right column name"
                )
        users = frame[user_col].astype(str).to_numpy(dtype=object)
        items = frame[item_col].astype(str).to_numpy(dtype=object)
        if weight_col is None:
            weight = np.ones(len(frame), dtype=np.float32)
        else:
            weight = pd.to_numeric(frame[weight_col], errors="raise").to_numpy(dtype=np.float32)
        if time_col is None:
            time = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[s]")
        else:
            time = pd.to_datetime(frame[time_col]).to_numpy(dtype="datetime64[s]")
        if basket_col is None:
            basket = np.full(len(frame), -1, dtype=np.int64)
        else:
            basket = pd.factorize(frame[basket_col].astype(str))[0].astype(np.int64)
        user_index, user_ids = _index(users, user_ids)
        item_index, item_ids = _index(items, item_ids)
        keep = (user_index >= 0) & (item_index >= 0)
        return cls(
            user_ids=user_ids,
            item_ids=item_ids,
            user=user_index[keep].astype(np.int32),
            item=item_index[keep].astype(np.int32),
            weight=weight[keep],
            time=time[keep],
            basket=basket[keep],
        )

    @property
    def n_users(self) -> int:
        """Number of rows (users)."""
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        """Number of columns (items)."""
        return len(self.item_ids)

    def __len__(self) -> int:
        return len(self.user)

    def matrix(
        self, *, half_life_days: float | None = None, as_of: np.datetime64 | None = None
    ) -> sp.csr_matrix:
        """Summed weights per (user, item) as a CSR matrix of ``float32``; entries <= 0 dropped.

        With ``half_life_days``, an entry ``d`` days before ``as_of`` (default: the latest time
        in the log) counts ``0.5 ** (d / half_life_days)`` of its weight; entries with no time
        count fully.
        """
        weight = self.weight.astype(np.float64)
        if half_life_days is not None:
            if half_life_days <= 0:
                raise ModelError(
                    f"half_life_days={half_life_days} must be > 0; pass a positive number of "
                    "days or None for no decay"
                )
            weight = weight * self.decay(half_life_days=half_life_days, as_of=as_of)
        matrix = sp.csr_matrix(
            (weight, (self.user, self.item)), shape=(self.n_users, self.n_items)
        )
        matrix.sum_duplicates()
        matrix.data[matrix.data <= 0] = 0.0
        matrix.eliminate_zeros()
        return matrix.astype(np.float32)

    def decay(self, *, half_life_days: float, as_of: np.datetime64 | None = None) -> npt.NDArray[
        np.float64
    ]:
        """Each entry's decay factor ``0.5 ** (age_days / half_life_days)`` (1 where no time)."""
        known = ~np.isnat(self.time)
        factor = np.ones(len(self), dtype=np.float64)
        if not known.any():
            return factor
        reference = self.time[known].max() if as_of is None else np.asarray(as_of, "datetime64[s]")
        age = (reference - self.time[known]).astype(np.float64) / _SECONDS_PER_DAY
        factor[known] = 0.5 ** (np.maximum(age, 0.0) / half_life_days)
        return factor

    def latest(self) -> np.datetime64 | None:
        """The latest known time in the log, or None."""
        known = self.time[~np.isnat(self.time)]
        return None if len(known) == 0 else known.max()

    def subset(self, mask: npt.NDArray[np.bool_]) -> Interactions:
        """The entries selected by ``mask``, over the same vocabularies."""
        return Interactions(
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            user=self.user[mask],
            item=self.item[mask],
            weight=self.weight[mask],
            time=self.time[mask],
            basket=self.basket[mask],
        )


def _index(
    values: npt.NDArray[np.object_], vocabulary: npt.NDArray[np.object_] | None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.object_]]:
    """Positions of ``values`` in ``vocabulary`` (built sorted when None); -1 when absent."""
    if vocabulary is None:
        unique, inverse = np.unique(values.astype(str), return_inverse=True)
        return inverse.astype(np.int64), unique.astype(object)
    lookup = pd.Index(vocabulary.astype(str))
    return lookup.get_indexer(values.astype(str)).astype(np.int64), vocabulary
