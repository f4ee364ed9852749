"""Every customer's top-N through the fitted pipeline, in batches of customers.

Each batch is recommended, written to the staging rows of the ``recommendations`` table and into
three ``customers x n`` arrays saved as ``.npy`` files (item index, score, reason id; -1, NaN and
-1 where a customer has fewer than ``n`` items), which serving memory-maps. Reason sentences
repeat ("bestseller", "bought together with X"), so the arrays hold an id into one list of
``(reason_code, reason)`` pairs.

Batches are recommended by ``workers`` threads (the heavy steps — BLAS, LightGBM, sparse
products, sorts — release the GIL) and written in order by the calling thread, so the result
does not depend on the number of workers. From :data:`COMPILE_FROM` customers the ranker's
forests are compiled to native code first (:meth:`LearnedRanker.compile`, a few seconds once).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.lib.format import open_memmap
from threadpoolctl import threadpool_limits

from growthloop.errors import ModelError
from growthloop.recommend._pipeline import Recommender
from growthloop.recommend._table import StagedRows

__all__ = ["COMPILE_FROM", "TOP_FILES", "Progress", "precompute"]

#: Customers from which a build compiles the ranker: compiling (~3 s for 100 trees) costs what
#: LightGBM spends scoring about 12,000 customers' candidates.
COMPILE_FROM = 20_000

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
    workers: int = 2,
    progress: Progress | None = None,
) -> list[tuple[str, str]]:
    """Recommend ``n`` items to every user row of ``recommender``'s training data; write the
    rows to ``staged`` and the arrays into ``folder``. Returns the reasons by id."""
    for name, value, hint in (("batch_size", batch_size, 2000), ("workers", workers, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ModelError(f"{name}={value!r} must be a whole number >= 1; try {hint}")
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
    batches = (
        np.arange(first, min(first + batch_size, n_users), dtype=np.int32)
        for first in range(0, n_users, batch_size)
    )
    compiled = n_users >= COMPILE_FROM
    for rows, chosen in _recommended(recommender, batches, n, workers, compile_ranker=compiled):
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


def _recommended(
    recommender: Recommender,
    batches: Iterator[npt.NDArray[np.int32]],
    n: int,
    workers: int,
    *,
    compile_ranker: bool = False,
) -> Iterator[tuple[npt.NDArray[np.int32], pd.DataFrame]]:
    """Each batch with its recommendations, in order; at most ``workers + 1`` in flight."""
    recommender.log_statistics()  # computed once, before the threads share it
    if compile_ranker and not hasattr(recommender.ranker_, "compiled_"):
        recommender.ranker_.compile()
    # One BLAS thread for every worker (the sources ask for it too; this keeps a worker leaving
    # its own limit from restoring more threads while another computes).
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        pending: deque[tuple[npt.NDArray[np.int32], Future[pd.DataFrame]]] = deque()
        for rows in batches:
            pending.append((rows, pool.submit(recommender.recommend, rows, n)))
            if len(pending) > workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


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
