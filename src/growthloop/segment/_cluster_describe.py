"""Clusters described in words and numbers, so that a marketer can name them.

For each cluster: its size, share of customers, share of net revenue, the mean of every feature
in the profile's own units (days, orders, money, rates; unknown values left out), and how far the
cluster's mean of each standardised feature (bases and descriptors alike, missing values counted
as average) lies from the average customer, in standard deviations. The three features that
deviate most, whatever their sign, make the description:
"buys often (+2.1 sd), high order value (+1.4 sd), rarely opens email (-0.9 sd)". This is the
usual reading of cluster centroids in standardised units (Hastie, Tibshirani & Friedman 2009,
section 14.3.6; Wedel & Kamakura 2000, *Market Segmentation*, chapter 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from growthloop.segment._cluster_features import CLUSTER_FEATURES, FeatureMatrix, feature_label

__all__ = ["NOISE", "TOP_FEATURES", "ClusterSummary", "describe", "describe_clusters"]

NOISE = -1  # DBSCAN's label for customers in no dense region
TOP_FEATURES = 3
_WORDS = {f.name: (f.high, f.low) for f in CLUSTER_FEATURES}


@dataclass(frozen=True)
class ClusterSummary:
    """One cluster of one method, in words and numbers.

    Parameters
    ----------
    method
        ``"kmeans"``, ``"gmm"`` or ``"dbscan"``.
    cluster
        Cluster number (0 is the largest; -1 is DBSCAN's noise).
    size
        Customers in the cluster.
    customer_share
        Share of all profiled customers.
    revenue_share
        Share of all net revenue (``monetary``).
    description
        The features that set the cluster apart most, in words with their deviation.
    deviations
        Feature to the cluster's mean of the standardised feature (sd from the average).
    means
        Feature to the cluster's mean in the profile's units (``None`` when unknown for all).
    """

    method: str
    cluster: int
    size: int
    customer_share: float
    revenue_share: float
    description: str
    deviations: dict[str, float] = field(default_factory=dict)
    means: dict[str, float | None] = field(default_factory=dict)

    def features_json(self) -> dict[str, Any]:
        """The numbers behind the description, as stored in ``cluster_summaries.features``:
        deviations, means and a short label of each feature."""
        names = list(dict.fromkeys([*self.deviations, *self.means]))
        return {
            "deviations": self.deviations,
            "means": self.means,
            "labels": {name: feature_label(name) for name in names},
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "cluster": self.cluster,
            "size": self.size,
            "customer_share": self.customer_share,
            "revenue_share": self.revenue_share,
            "description": self.description,
            "deviations": self.deviations,
            "means": self.means,
        }


def describe(deviations: dict[str, float], top: int = TOP_FEATURES) -> str:
    """The ``top`` largest deviations in words: ``"buys often (+2.1 sd), ..."``.

    >>> describe({"frequency": 2.13, "email_open_rate": -0.91, "tenure_days": 0.2}, top=2)
    'buys often (+2.1 sd), rarely opens email (-0.9 sd)'
    """
    ranked = sorted(deviations.items(), key=lambda item: (-abs(item[1]), item[0]))[:top]
    parts = []
    for name, value in ranked:
        high, low = _WORDS.get(name, (f"high {name}", f"low {name}"))
        parts.append(f"{high if value >= 0 else low} ({value:+.1f} sd)")
    return ", ".join(parts)


def _mean(values: npt.NDArray[np.float64]) -> float | None:
    known = values[~np.isnan(values)]
    return float(known.mean()) if len(known) else None


def describe_clusters(method: str, labels: npt.NDArray[np.int64], matrix: FeatureMatrix
                      ) -> list[ClusterSummary]:
    """A summary of every cluster of ``labels`` (clusters in order, noise last)."""
    n = len(labels)
    total_revenue = float(matrix.revenue.sum())
    raw = {name: matrix.raw[name].to_numpy(dtype=np.float64, na_value=np.nan)
           for name in matrix.raw.columns}
    clusters = sorted(set(labels.tolist()), key=lambda c: (c == NOISE, c))
    summaries = []
    for cluster in clusters:
        members = labels == cluster
        size = int(members.sum())
        centre = matrix.standardised[members].mean(axis=0)
        deviations = {name: round(float(v), 3) for name, v in zip(matrix.described, centre,
                                                                   strict=True)}
        means = {name: _mean(values[members]) for name, values in raw.items()}
        means = {k: None if v is None or math.isnan(v) else round(v, 4) for k, v in means.items()}
        revenue = float(matrix.revenue[members].sum())
        text = describe(deviations)
        if cluster == NOISE:
            text = f"outliers, in no dense group: {text}"
        summaries.append(ClusterSummary(
            method=method,
            cluster=int(cluster),
            size=size,
            customer_share=size / n,
            revenue_share=revenue / total_revenue if total_revenue else 0.0,
            description=text,
            deviations=deviations,
            means=means,
        ))
    return summaries
