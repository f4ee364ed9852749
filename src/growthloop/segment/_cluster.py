"""Clustering customers on their profiles: k-means, Gaussian mixtures and DBSCAN.

:func:`cluster_customers` reads the ``profiles`` table, builds the standardised feature matrix
(:mod:`growthloop.segment._cluster_features`), fits the requested methods
(:mod:`growthloop.segment._cluster_fit`), describes every cluster
(:mod:`growthloop.segment._cluster_describe`) and stores the results in the analytical store
(:mod:`growthloop.segment._cluster_store`).

>>> report = cluster_customers(store, k_min=2, k_max=8)  # doctest: +SKIP
>>> report.k, report.silhouette_by_k[report.k], report.stability_ari  # doctest: +SKIP
(5, 0.41, 1.0)
>>> cluster_members(store, "kmeans", 0)[:2]  # doctest: +SKIP
['C0000003', 'C0000007']
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from growthloop.segment._cluster_describe import ClusterSummary, describe_clusters
from growthloop.segment._cluster_features import ClusterError, FeatureMatrix, feature_matrix
from growthloop.segment._cluster_fit import (
    GMM_REG_COVAR,
    choose_k,
    fit_dbscan,
    fit_gmm,
    sample_rows,
    seed_stability,
    silhouette,
)
from growthloop.segment._cluster_store import CLUSTER_METHODS, store_clusters
from growthloop.store import AnalyticalStore

__all__ = ["CLUSTER_METHODS", "ClusterReport", "MethodResult", "cluster_customers"]

log = logging.getLogger(__name__)

MAX_K = 50  # the largest k k-means may try


@dataclass(frozen=True)
class MethodResult:
    """The clustering of one method.

    Parameters
    ----------
    method
        ``"kmeans"``, ``"gmm"`` or ``"dbscan"``.
    labels
        Cluster of each customer, aligned with :attr:`ClusterReport.canonical_ids`
        (0 = largest cluster; -1 = DBSCAN noise).
    clusters
        Number of clusters (noise not counted).
    silhouette
        Mean silhouette on the silhouette sample (noise left out); ``None`` if undefined.
    params
        What was fitted: ``k``, or DBSCAN's ``eps`` and ``min_samples``, convergence, ...
    summaries
        One description per cluster.
    """

    method: str
    labels: npt.NDArray[np.int64]
    clusters: int
    silhouette: float | None
    params: dict[str, Any]
    summaries: list[ClusterSummary]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "clusters": self.clusters,
            "silhouette": self.silhouette,
            "params": self.params,
            "noise": int((self.labels < 0).sum()),
            "summaries": [s.to_dict() for s in self.summaries],
        }


@dataclass(frozen=True)
class ClusterReport:
    """What :func:`cluster_customers` fitted, chose and stored.

    Parameters
    ----------
    as_of
        The as-of instant of the profiles clustered.
    canonical_ids
        The customers, in the order of every method's labels.
    features
        The features the models were fitted on; ``dropped_features`` were constant.
    k
        The k-means k chosen by silhouette (also the mixture's k); ``None`` if neither ran.
    silhouette_by_k
        Mean silhouette of k-means for every k tried.
    stability
        ``(seed_a, seed_b, adjusted Rand index)`` for every pair of k-means seeds.
    methods
        Method name to its result.
    """

    as_of: datetime | None
    canonical_ids: list[str]
    features: list[str]
    dropped_features: list[str]
    k: int | None
    silhouette_by_k: dict[int, float]
    seeds: tuple[int, ...]
    stability: list[tuple[int, int, float]]
    methods: dict[str, MethodResult]
    elapsed_seconds: float = 0.0
    silhouette_sample: int = field(default=0)

    @property
    def customers(self) -> int:
        return len(self.canonical_ids)

    @property
    def stability_ari(self) -> float | None:
        """Mean adjusted Rand index over the pairs of seeds (``None`` with one seed)."""
        if not self.stability:
            return None
        return float(np.mean([ari for _, _, ari in self.stability]))

    @property
    def stability_min_ari(self) -> float | None:
        """The lowest adjusted Rand index over the pairs of seeds."""
        if not self.stability:
            return None
        return min(ari for _, _, ari in self.stability)

    def labels(self, method: str) -> dict[str, int]:
        """Customer id to cluster for ``method``."""
        result = self.methods[method]
        return dict(zip(self.canonical_ids, result.labels.tolist(), strict=True))

    def to_dict(self) -> dict[str, Any]:
        """Everything but the per-customer labels (those are in the ``clusters`` table)."""
        return {
            "as_of": self.as_of,
            "customers": self.customers,
            "features": self.features,
            "dropped_features": self.dropped_features,
            "k": self.k,
            "silhouette_by_k": {str(k): v for k, v in self.silhouette_by_k.items()},
            "silhouette_sample": self.silhouette_sample,
            "stability": {
                "seeds": list(self.seeds),
                "mean_ari": self.stability_ari,
                "min_ari": self.stability_min_ari,
                "pairs": [{"seeds": [a, b], "ari": ari} for a, b, ari in self.stability],
            },
            "methods": {name: result.to_dict() for name, result in self.methods.items()},
            "elapsed_seconds": self.elapsed_seconds,
        }


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ClusterError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ClusterError(f"{name} must be {bound}, got {value}")
    return int(value)


def _validate(
    k_min: int, k_max: int, seeds: Sequence[int], methods: Sequence[str], silhouette_sample: int,
    n_init: int,
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    _check_int("k_min", k_min, 2, MAX_K)
    _check_int("k_max", k_max, 2, MAX_K)
    if k_max < k_min:
        raise ClusterError(f"k_max must be >= k_min, got k_min={k_min} and k_max={k_max}")
    if isinstance(seeds, str | bytes) or not seeds:
        raise ClusterError(f"seeds must be a non-empty list of integers, got {seeds!r}")
    clean_seeds = tuple(_check_int("seed", s, 0, 2**32 - 1) for s in seeds)
    if len(set(clean_seeds)) != len(clean_seeds):
        raise ClusterError(f"seeds must be different from each other, got {list(seeds)}")
    if isinstance(methods, str) or not methods:
        raise ClusterError(f"methods must be a non-empty list of {', '.join(CLUSTER_METHODS)}")
    unknown = [m for m in methods if m not in CLUSTER_METHODS]
    if unknown:
        raise ClusterError(
            f"unknown clustering method {unknown[0]!r}; use one of {', '.join(CLUSTER_METHODS)}"
        )
    _check_int("silhouette_sample", silhouette_sample, 100)
    _check_int("n_init", n_init, 1, 100)
    ordered = tuple(m for m in CLUSTER_METHODS if m in methods)
    return clean_seeds, ordered


def _result(
    method: str,
    labels: npt.NDArray[np.int64],
    matrix: FeatureMatrix,
    z: npt.NDArray[np.float64],
    rows: npt.NDArray[np.int64] | None,
    params: dict[str, Any],
) -> MethodResult:
    return MethodResult(
        method=method,
        labels=labels,
        clusters=int(len(set(labels.tolist()) - {-1})),
        silhouette=silhouette(z, labels, rows),
        params=params,
        summaries=describe_clusters(method, labels, matrix),
    )


def cluster_customers(
    store: AnalyticalStore,
    *,
    k_min: int = 2,
    k_max: int = 10,
    seeds: Sequence[int] = (0, 1, 2),
    methods: Sequence[str] = CLUSTER_METHODS,
    silhouette_sample: int = 10_000,
    n_init: int = 4,
) -> ClusterReport:
    """Cluster the profiled customers, describe the clusters and store them.

    Parameters
    ----------
    store
        The analytical store holding the ``profiles`` table (``growthloop profile build``).
    k_min, k_max
        The range of k tried by k-means (2 to 50); ``k_min == k_max`` fixes k.
    seeds
        Random seeds; the first fits the models, all of them measure k-means stability.
    methods
        Any of ``"kmeans"``, ``"gmm"`` and ``"dbscan"``. The mixture uses the k-means k.
    silhouette_sample
        At most this many customers (one random sample) are used for silhouettes.
    n_init
        k-means restarts per fit (the best of them is kept).

    Returns
    -------
    ClusterReport
        Labels, chosen k, silhouette by k, stability and descriptions per method.

    Raises
    ------
    ClusterError
        If a parameter is invalid, there is no ``profiles`` table, or there are no more
        customers than ``k_max``.
    """
    started = time.perf_counter()
    seed_list, method_list = _validate(k_min, k_max, seeds, methods, silhouette_sample, n_init)
    matrix = feature_matrix(store)
    z = matrix.z
    n = len(matrix.canonical_ids)
    needs_k = "kmeans" in method_list or "gmm" in method_list
    if needs_k and n <= k_max:
        raise ClusterError(
            f"k_max={k_max} needs more than {k_max} customers, but the profiles table has {n}; "
            "lower k_max"
        )
    if n < 3:
        raise ClusterError(f"clustering needs at least 3 customers; the profiles table has {n}")
    first = seed_list[0]
    rows = sample_rows(n, silhouette_sample, first)  # the sample choose_k scores on, too
    results: dict[str, MethodResult] = {}
    k: int | None = None
    scores: dict[int, float] = {}
    pairs: list[tuple[int, int, float]] = []
    if needs_k:
        choice = choose_k(z, k_min, k_max, seed=first, n_init=n_init,
                          sample=silhouette_sample)
        k, scores = choice.k, choice.silhouette_by_k
        log.info("k-means: k=%d chosen by silhouette %.3f", k, scores[k])
        if "kmeans" in method_list:
            pairs = seed_stability(z, k, seed_list, n_init, choice.labels)
            results["kmeans"] = _result("kmeans", choice.labels, matrix, z, rows,
                                        {"k": k, "n_init": n_init, "seed": first})
        if "gmm" in method_list:
            labels, converged = fit_gmm(z, k, first)
            if not converged:
                log.warning("the Gaussian mixture did not converge; its labels may be rough")
            results["gmm"] = _result("gmm", labels, matrix, z, rows, {
                "k": k, "k_from": "kmeans silhouette", "covariance": "diag",
                "reg_covar": GMM_REG_COVAR, "converged": converged, "seed": first,
            })
    if "dbscan" in method_list:
        fit = fit_dbscan(z, first)
        results["dbscan"] = _result("dbscan", fit.labels, matrix, z, rows, {
            "eps": round(fit.eps, 4), "min_samples": fit.min_samples,
            "eps_from": "k-distance knee", "fitted_rows": fit.sampled_rows,
        })
    report = ClusterReport(
        as_of=matrix.as_of,
        canonical_ids=matrix.canonical_ids,
        features=matrix.features,
        dropped_features=matrix.dropped,
        k=k,
        silhouette_by_k=scores,
        seeds=seed_list,
        stability=pairs,
        methods=results,
        elapsed_seconds=time.perf_counter() - started,
        silhouette_sample=min(n, silhouette_sample),
    )
    store_clusters(store, report)
    return replace(report, elapsed_seconds=time.perf_counter() - started)
