"""Every customer's top-N through the fitted pipeline, in batches of customers.

Each batch is recommended, written to the staging rows of the ``recommendations`` table and into
three ``customers x n`` arrays saved as ``.npy`` files (item index, score, reason id; -1, NaN and
-1 where a customer has fewer than ``n`` items), which serving memory-maps. Reason sentences
repeat ("bestseller", "bought together with X"), so the arrays hold an id into one list of
``(reason_code, reason)`` pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.lib.format import open_memmap

from growthloop.errors import ModelError
from growthloop.recommend._pipeline import Recommender
from growthloop.recommend._table import StagedRows

__all__ = ["TOP_FILES", "Progress", "precompute"]

#: Calls ``progress(customers_done, customers_total)`` after each batch.
Progress = Callable[[int, int], None]

#: File stems of the top-N arrays.
TOP_FILES = ("top_items", "top_scores", "top_reasons")


def precompute(
    recommender: Recommender,
    *,
    n: int,
    folder: Path,
    staged: StagedRows,
    batch_size: int = 2_000,
    progress: Progress | None = None,
) -> list[tuple[str, str]]:
    """Recommend ``n`` items to every user row of ``recommender``'s training data; write the
    rows to ``staged`` and the arrays into ``folder``. Returns the reasons by id."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ModelError(f"batch_size={batch_size!r} must be a whole number >= 1; try 2000")
    interactions = recommender.data_.interactions
    n_users = interactions.n_users
    items = open_memmap(folder / "top_items.npy", mode="w+", dtype=np.int32, shape=(n_users, n))
    scores = open_memmap(folder / "top_scores.npy", mode="w+", dtype=np.float32,
                         shape=(n_users, n))
    reasons = open_memmap(folder / "top_reasons.npy", mode="w+", dtype=np.int32,
                          shape=(n_users, n))
    items[:] = -1
    scores[:] = np.nan
    reasons[:] = -1
    vocabulary: dict[tuple[str, str], int] = {}
    for first in range(0, n_users, batch_size):
        rows = np.arange(first, min(first + batch_size, n_users), dtype=np.int32)
        chosen = recommender.recommend(rows, n)
        user = chosen["user"].to_numpy(np.int64)
        slot = chosen["rank"].to_numpy(np.int64) - 1
        item = chosen["item"].to_numpy(np.int64)
        code = chosen["reason_code"].astype(str).to_numpy(dtype=object)
        sentence = chosen["reason"].astype(str).to_numpy(dtype=object)
        items[user, slot] = item
        scores[user, slot] = chosen["score"].to_numpy(np.float32)
        reasons[user, slot] = _reason_ids(code, sentence, vocabulary)
        staged.append(
            pd.DataFrame(
                {
                    "canonical_id": interactions.user_ids[user],
                    "rank": slot + 1,
                    "item_id": interactions.item_ids[item],
                    "score": chosen["score"].to_numpy(np.float64),
                    "reason_code": code,
                    "reason": sentence,
                }
            )
        )
        if progress is not None:
            progress(int(rows[-1]) + 1, n_users)
    for array in (items, scores, reasons):
        array.flush()
    del items, scores, reasons
    return list(vocabulary)


def _reason_ids(
    code: npt.NDArray[np.object_],
    sentence: npt.NDArray[np.object_],
    vocabulary: dict[tuple[str, str], int],
) -> npt.NDArray[np.int32]:
    """The id of each (code, sentence) pair, adding new pairs to ``vocabulary``."""
    frame = pd.DataFrame({"code": code, "sentence": sentence})
    inverse, distinct = pd.factorize(pd.MultiIndex.from_frame(frame))
    ids = np.array(
        [vocabulary.setdefault((str(c), str(s)), len(vocabulary)) for c, s in distinct.tolist()],
        dtype=np.int32,
    )
    return ids[inverse] if len(ids) else np.zeros(0, dtype=np.int32)
