"""The similar-items index: for each item, the items bought with it, then those described like it.

Behaviour comes first: an item's co-occurrence neighbours (bought by the same customers) lead its
list, best first; its content neighbours (TF-IDF cosine over the product text) fill the rest, so
an item nobody has bought yet still has similar items (cold start for items). Only items the
catalogue marks available are listed, never the item itself. The index is three dense
``items x k`` arrays, ready to be saved and memory-mapped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from growthloop.errors import ModelError
from growthloop.recommend.sources._ranking import top_n_sparse

__all__ = ["KINDS", "SimilarIndex", "similar_index"]

#: What each entry of :attr:`SimilarIndex.kinds` means (its position in this tuple).
KINDS: tuple[str, ...] = ("cooccurrence", "content")


@dataclass(frozen=True, eq=False)
class SimilarIndex:
    """Each item's ``k`` most similar items, best first.

    Attributes
    ----------
    items
        ``int32`` item indices (-1 where an item has fewer than ``k``).
    scores
        ``float32`` similarity of each entry (0 for padding); comparable within a kind only.
    kinds
        ``int8`` position in :data:`KINDS` of the similarity that found each entry (-1 padding).
    """

    items: npt.NDArray[np.int32]
    scores: npt.NDArray[np.float32]
    kinds: npt.NDArray[np.int8]

    def arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """The arrays by file stem, as they are saved."""
        return {"similar_items": self.items, "similar_scores": self.scores,
                "similar_kinds": self.kinds}


def similar_index(
    similarities: dict[str, sp.csr_matrix],
    *,
    available: npt.NDArray[np.bool_],
    k: int,
) -> SimilarIndex:
    """Merge item x item ``similarities`` (by name in :data:`KINDS`, in that order of
    precedence) into each item's ``k`` best available neighbours (see the module docstring)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ModelError(f"k={k!r} must be a whole number >= 1 of similar items per item; try 50")
    unknown = sorted(set(similarities) - set(KINDS))
    if unknown or not similarities:
        raise ModelError(
            f"similarities {unknown or '(none)'} are not kinds of similar items; pass one or more "
            f"of {', '.join(KINDS)}"
        )
    n_items = len(available)
    shown = sp.diags(available.astype(np.float32))
    parts: list[tuple[int, npt.NDArray[np.int32], npt.NDArray[np.float32]]] = []
    for kind, name in enumerate(KINDS):
        if name not in similarities:
            continue
        matrix = sp.csr_matrix(similarities[name], dtype=np.float32)
        if matrix.shape != (n_items, n_items):
            raise ModelError(
                f"the {name} similarity is {matrix.shape[0]} x {matrix.shape[1]} but there are "
                f"{n_items} items; compute it over the same items"
            )
        matrix = sp.csr_matrix(matrix @ shown)
        matrix.setdiag(0.0)
        matrix.eliminate_zeros()
        items, scores = top_n_sparse(matrix, k)
        parts.append((kind, items, scores))
    return _merge(parts, n_items, k)


def _merge(
    parts: list[tuple[int, npt.NDArray[np.int32], npt.NDArray[np.float32]]], n_items: int, k: int
) -> SimilarIndex:
    """The first ``k`` distinct items of each row of the parts laid side by side."""
    items = np.concatenate([p[1] for p in parts], axis=1)
    scores = np.concatenate([p[2] for p in parts], axis=1)
    kinds = np.concatenate([np.full(p[1].shape, p[0], dtype=np.int8) for p in parts], axis=1)
    keep = items >= 0
    rows = np.broadcast_to(np.arange(n_items, dtype=np.int64)[:, None], items.shape)
    flat = np.flatnonzero(keep)  # row-major: within a row, earlier parts come first
    keys = rows.ravel()[flat] * n_items + items.ravel()[flat]
    _, first = np.unique(keys, return_index=True)
    distinct = np.zeros(items.size, dtype=bool)
    distinct[flat[first]] = True
    keep = distinct.reshape(items.shape)
    slot = np.cumsum(keep, axis=1) - 1
    keep &= slot < k
    row, column = np.nonzero(keep)
    out_items = np.full((n_items, k), -1, dtype=np.int32)
    out_scores = np.zeros((n_items, k), dtype=np.float32)
    out_kinds = np.full((n_items, k), -1, dtype=np.int8)
    out_items[row, slot[row, column]] = items[row, column]
    out_scores[row, slot[row, column]] = scores[row, column]
    out_kinds[row, slot[row, column]] = kinds[row, column]
    return SimilarIndex(items=out_items, scores=out_scores, kinds=out_kinds)
