"""Ranking metrics at k of recommendations against a held-out test log.

A test user's *relevant* items are those whose summed test weight is positive (bought and not
returned). Metrics are averaged over the test users with at least one relevant item; such a
user without recommendations scores zero. Each user's list is the first ``k`` distinct items of
their candidates (best first). With ``hits`` the relevant items in the list, ``R`` the relevant
set, ``rank`` counted from 0 and ``m = min(k, |R|)``:

- precision ``hits / k``; recall ``hits / |R|``; hit rate ``1 if hits else 0``;
- NDCG: binary gains with the ``1 / log2(rank + 2)`` discount over the ideal DCG of ``m`` hits
  at the top (Järvelin & Kekäläinen 2002);
- MAP: average precision at k, the precision at each hit's rank summed and divided by ``m``
  (as ``implicit.evaluation.ranking_metrics_at_k`` does);
- catalogue coverage: distinct items recommended to the evaluated users over all items;
- novelty: mean self-information ``-log2(n_i / n)`` of the recommended items, ``n_i`` the
  training users with a positive entry for item ``i`` (at least 1) and ``n`` the training users
  (Zhou et al. 2010, "Solving the apparent diversity-accuracy dilemma of recommender systems",
  PNAS 107(10); Vargas & Castells 2011, RecSys).

Everything is computed with array operations over all users at once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from growthloop.errors import ModelError
from growthloop.recommend._candidates import Candidates
from growthloop.recommend._interactions import Interactions

__all__ = ["RankingMetrics", "ranking_metrics"]


@dataclass(frozen=True)
class RankingMetrics:
    """Ranking metrics at ``k`` averaged over ``users`` test users (see the module docstring)."""

    k: int
    users: int
    precision: float
    recall: float
    ndcg: float
    map: float
    hit_rate: float
    coverage: float
    novelty: float

    def as_dict(self) -> dict[str, float | int]:
        """The metrics by name, ``k`` and ``users`` included."""
        return asdict(self)


def ranking_metrics(
    candidates: Candidates, *, test: Interactions, train: Interactions, k: int = 10
) -> RankingMetrics:
    """Score ``candidates`` against ``test``; ``train`` gives the popularity behind novelty.

    ``candidates``, ``test`` and ``train`` must share the training vocabularies (as a
    :class:`~growthloop.recommend.Split` gives them).
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k <= 0:
        raise ModelError(f"k={k!r} must be a positive whole number; pass for example 10")
    k = int(k)
    _check_shapes(candidates, test, train)
    relevant = test.matrix()
    n_relevant = np.diff(relevant.indptr).astype(np.int64)
    evaluated = n_relevant > 0
    users = int(evaluated.sum())
    if users == 0:
        raise ModelError(
            "no test user has a relevant item (an item with positive test weight); check the "
            "split: the test log is empty or has only returns"
        )
    user, item, rank = _top_k(candidates, k, test.n_items)
    shown = evaluated[user]
    user, item, rank = user[shown], item[shown], rank[shown]
    hit = _lookup(relevant, user, item)

    hits = np.bincount(user[hit], minlength=test.n_users).astype(np.float64)
    gains = 1.0 / np.log2(np.arange(k, dtype=np.float64) + 2.0)
    dcg = np.bincount(user[hit], weights=gains[rank[hit]], minlength=test.n_users)
    at_most = np.minimum(n_relevant, k)
    ideal = np.cumsum(gains)[np.maximum(at_most, 1) - 1]
    # Average precision: the i-th hit of a user (from 1) at rank r adds i / (r + 1).
    hit_user, hit_rank = user[hit], rank[hit]
    nth = np.arange(len(hit_user)) - _group_starts(hit_user) + 1
    precision_sum = np.bincount(hit_user, weights=nth / (hit_rank + 1.0), minlength=test.n_users)

    e = evaluated
    shown_items = np.unique(item)
    popularity = np.bincount(train.matrix().indices, minlength=train.n_items).astype(np.float64)
    information = -np.log2(np.maximum(popularity, 1.0) / max(train.n_users, 1))
    return RankingMetrics(
        k=k,
        users=users,
        precision=float(np.mean(hits[e] / k)),
        recall=float(np.mean(hits[e] / n_relevant[e])),
        ndcg=float(np.mean(dcg[e] / ideal[e])),
        map=float(np.mean(precision_sum[e] / at_most[e])),
        hit_rate=float(np.mean(hits[e] > 0)),
        coverage=len(shown_items) / test.n_items if test.n_items else 0.0,
        novelty=float(information[item].mean()) if len(item) else 0.0,
    )


def _check_shapes(candidates: Candidates, test: Interactions, train: Interactions) -> None:
    if (test.n_users, test.n_items) != (train.n_users, train.n_items):
        raise ModelError(
            f"test ({test.n_users} users x {test.n_items} items) and train ({train.n_users} x "
            f"{train.n_items}) have different vocabularies; build test over train's ids "
            "(a Split does)"
        )
    if len(candidates) == 0:
        return
    if candidates.user.min() < 0 or candidates.user.max() >= test.n_users:
        raise ModelError(
            f"candidate user index {int(candidates.user.max())} is outside the "
            f"{test.n_users} training users; recommend with a model fitted on this train log"
        )
    if candidates.item.min() < 0 or candidates.item.max() >= test.n_items:
        raise ModelError(
            f"candidate item index {int(candidates.item.max())} is outside the "
            f"{test.n_items} training items; recommend with a model fitted on this train log"
        )


def _group_starts(sorted_keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """For each entry of a sorted array, the position where its run of equal keys starts."""
    if len(sorted_keys) == 0:
        return np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    return np.repeat(starts, np.diff(np.r_[starts, len(sorted_keys)])).astype(np.int64)


def _top_k(
    candidates: Candidates, k: int, n_items: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each user's first ``k`` distinct items as (user, item, rank), sorted by user then rank."""
    user = candidates.user.astype(np.int64)
    item = candidates.item.astype(np.int64)
    _, first = np.unique(user * max(n_items, 1) + item, return_index=True)
    first.sort()  # back to the candidates' order: best first within a user
    user, item = user[first], item[first]
    order = np.argsort(user, kind="stable")
    user, item = user[order], item[order]
    rank = np.arange(len(user), dtype=np.int64) - _group_starts(user)
    keep = rank < k
    return user[keep], item[keep], rank[keep]


def _lookup(
    matrix: sp.csr_matrix, rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Whether each (row, col) pair is a stored entry of the CSR matrix."""
    if len(rows) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(matrix[rows, cols]).ravel() > 0
