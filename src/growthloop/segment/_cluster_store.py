"""Clusterings in the analytical store: writing a run, reading a cluster's members.

Three tables, one set of rows per method (rerunning a method replaces its rows; the other
methods' rows stay):

- ``clusters (canonical_id, method, cluster, as_of)``: each customer's cluster;
- ``cluster_summaries (method, cluster, size, customer_share, revenue_share, description,
  features, as_of)``: ``features`` is JSON ``{"deviations": {...}, "means": {...}}``, the
  numbers behind the description;
- ``cluster_runs (method, clusters, silhouette, params, k, silhouette_by_k, stability,
  features, customers, as_of)``: the figures of the run that produced them (JSON columns).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from growthloop.segment._cluster_features import ClusterError, has_table
from growthloop.store import AnalyticalStore

if TYPE_CHECKING:
    from growthloop.segment._cluster import ClusterReport

__all__ = [
    "CLUSTERS_TABLE",
    "CLUSTER_METHODS",
    "RUNS_TABLE",
    "SUMMARIES_TABLE",
    "cluster_members",
    "store_clusters",
]

CLUSTER_METHODS = ("kmeans", "gmm", "dbscan")
CLUSTERS_TABLE = "clusters"
SUMMARIES_TABLE = "cluster_summaries"
RUNS_TABLE = "cluster_runs"
_DDL = (
    f"CREATE TABLE IF NOT EXISTS {CLUSTERS_TABLE} (canonical_id VARCHAR NOT NULL, "
    "method VARCHAR NOT NULL, cluster INTEGER NOT NULL, as_of TIMESTAMP)",
    f"CREATE TABLE IF NOT EXISTS {SUMMARIES_TABLE} (method VARCHAR NOT NULL, "
    "cluster INTEGER NOT NULL, size BIGINT NOT NULL, customer_share DOUBLE, "
    "revenue_share DOUBLE, description VARCHAR, features JSON, as_of TIMESTAMP)",
    f"CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (method VARCHAR NOT NULL, clusters INTEGER, "
    "silhouette DOUBLE, params JSON, k INTEGER, silhouette_by_k JSON, stability JSON, "
    "features JSON, customers BIGINT, as_of TIMESTAMP)",
)


def _tables(report: ClusterReport) -> dict[str, pa.Table]:
    n = report.customers
    ids = pa.array(report.canonical_ids, pa.string())
    members = pa.concat_tables([
        pa.table({
            "canonical_id": ids,
            "method": pa.array([name] * n, pa.string()),
            "cluster": pa.array(result.labels.astype(np.int32), pa.int32()),
            "as_of": pa.array([report.as_of] * n, pa.timestamp("us")),
        })
        for name, result in report.methods.items()
    ])
    summaries = [s for result in report.methods.values() for s in result.summaries]
    summary_table = pa.table({
        "method": pa.array([s.method for s in summaries], pa.string()),
        "cluster": pa.array([s.cluster for s in summaries], pa.int32()),
        "size": pa.array([s.size for s in summaries], pa.int64()),
        "customer_share": pa.array([s.customer_share for s in summaries], pa.float64()),
        "revenue_share": pa.array([s.revenue_share for s in summaries], pa.float64()),
        "description": pa.array([s.description for s in summaries], pa.string()),
        "features": pa.array([json.dumps(s.features_json()) for s in summaries], pa.string()),
        "as_of": pa.array([report.as_of] * len(summaries), pa.timestamp("us")),
    })
    figures = report.to_dict()
    results = list(report.methods.values())
    runs = pa.table({
        "method": pa.array([r.method for r in results], pa.string()),
        "clusters": pa.array([r.clusters for r in results], pa.int32()),
        "silhouette": pa.array([r.silhouette for r in results], pa.float64()),
        "params": pa.array([json.dumps(r.params) for r in results], pa.string()),
        "k": pa.array([report.k] * len(results), pa.int32()),
        "silhouette_by_k": pa.array(
            [json.dumps(figures["silhouette_by_k"])] * len(results), pa.string()
        ),
        "stability": pa.array([json.dumps(figures["stability"])] * len(results), pa.string()),
        "features": pa.array([json.dumps(report.features)] * len(results), pa.string()),
        "customers": pa.array([n] * len(results), pa.int64()),
        "as_of": pa.array([report.as_of] * len(results), pa.timestamp("us")),
    })
    return {CLUSTERS_TABLE: members, SUMMARIES_TABLE: summary_table, RUNS_TABLE: runs}


def store_clusters(store: AnalyticalStore, report: ClusterReport) -> None:
    """Replace the stored rows of every method in ``report``, in one transaction."""
    con = store.con
    for ddl in _DDL:
        con.execute(ddl)
    tables = _tables(report)
    methods = list(report.methods)
    placeholders = ", ".join("?" for _ in methods)
    with store.transaction():
        for name, table in tables.items():
            con.execute(f"DELETE FROM {name} WHERE method IN ({placeholders})", methods)
            view = f"_new_{name}"
            con.register(view, table)
            try:
                con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM {view}")
            finally:
                con.unregister(view)


def cluster_members(store: AnalyticalStore, method: str, cluster: int) -> list[str]:
    """The customers (canonical ids, sorted) of ``cluster`` as last stored for ``method``.

    Raises
    ------
    ClusterError
        If ``method`` is unknown, nothing was clustered with it yet, or it has no such cluster.
    """
    if method not in CLUSTER_METHODS:
        raise ClusterError(
            f"unknown clustering method {method!r}; use one of {', '.join(CLUSTER_METHODS)}"
        )
    if isinstance(cluster, bool) or not isinstance(cluster, int | np.integer) or cluster < -1:
        raise ClusterError(f"cluster must be an integer >= -1, got {cluster!r}")
    if not has_table(store, CLUSTERS_TABLE):
        raise ClusterError("no clusters are stored yet; run `growthloop cluster` first")
    known = [int(r["cluster"]) for r in store.rows(
        f"SELECT DISTINCT cluster FROM {CLUSTERS_TABLE} WHERE method = ? ORDER BY 1", [method]
    )]
    if not known:
        raise ClusterError(
            f"no {method} clusters are stored; run `growthloop cluster --method {method}`"
        )
    if cluster not in known:
        raise ClusterError(
            f"{method} has no cluster {cluster}; its clusters are "
            f"{', '.join(str(c) for c in known)}"
        )
    rows: list[dict[str, Any]] = store.rows(
        f"SELECT canonical_id FROM {CLUSTERS_TABLE} WHERE method = ? AND cluster = ? "
        "ORDER BY 1",
        [method, int(cluster)],
    )
    return [str(r["canonical_id"]) for r in rows]
