"""The clusters section: what k-means, the Gaussian mixture and DBSCAN found, in words and numbers.

Reads the tables ``growthloop cluster`` writes (``cluster_runs``, ``cluster_summaries``): how k
was chosen (silhouette by k) and how stable the clusters are across seeds, then per method a
table of the clusters with their descriptions and a heatmap of every cluster's mean of each
standardised feature, the cluster profile a marketer names the clusters from.
"""

from __future__ import annotations

import json
from typing import Any

import altair as alt
import pandas as pd

from growthloop.report._charts import to_svg
from growthloop.report._section import Section
from growthloop.segment import CLUSTER_METHODS, ClusterError
from growthloop.store import AnalyticalStore

__all__ = ["clusters_section"]

_TITLES = {"kmeans": "k-means", "gmm": "Gaussian mixture", "dbscan": "DBSCAN"}
_CLAMP = 2.5  # colour scale of the heatmap, in standard deviations
# Columns of the cluster tables: (feature, heading, format).
_MEANS = (
    ("frequency", "avg orders", "{:.1f}"),
    ("average_order_value", "avg order value", "{:,.2f}"),
    ("days_since_last_visit", "days since last visit", "{:.0f}"),
    ("email_open_rate", "email open rate", "{:.0%}"),
    ("peak_season_share", "Nov-Dec share", "{:.0%}"),
)



def _cluster_name(row: dict[str, Any]) -> str:
    name = "noise" if row["cluster"] < 0 else f"cluster {row['cluster']}"
    return f"{name} ({row['customer_share']:.0%})"


def _heatmap(method: str, rows: list[dict[str, Any]]) -> str:
    """Clusters × features, coloured by the cluster's mean standardised value."""
    cells = []
    for row in rows:
        labels = row["features"].get("labels", {})
        for feature, value in row["features"]["deviations"].items():
            cells.append({
                "cluster": _cluster_name(row),
                "feature": labels.get(feature, feature),
                "sd": float(value),
                "colour": max(-_CLAMP, min(_CLAMP, float(value))),
            })
    data = pd.DataFrame(cells)
    features = list(dict.fromkeys(data["feature"]))
    clusters = list(dict.fromkeys(data["cluster"]))
    base = alt.Chart(
        data,
        title=f"{_TITLES[method]}: mean of each standardised feature per cluster "
        "(sd from the average customer)",
    ).encode(
        x=alt.X("feature:N", sort=features, title=None, axis=alt.Axis(labelAngle=-30)),
        y=alt.Y("cluster:N", sort=clusters, title=None),
    )
    heat = base.mark_rect().encode(
        color=alt.Color(
            "colour:Q",
            title="sd",
            scale=alt.Scale(scheme="redblue", domain=[-_CLAMP, _CLAMP]),
        ),
        tooltip=["cluster", "feature", alt.Tooltip("sd:Q", format="+.2f")],
    )
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text("sd:Q", format="+.1f"),
        color=alt.condition(
            f"abs(datum.sd) > {_CLAMP * 0.6}", alt.value("white"), alt.value("black")
        ),
    )
    chart = (heat + text).properties(width=alt.Step(58), height=alt.Step(26))
    return to_svg(chart)


def _silhouette_chart(by_k: dict[str, float], chosen: int) -> str:
    data = pd.DataFrame(
        [{"k": int(k), "silhouette": float(v), "chosen": int(k) == chosen} for k, v in by_k.items()]
    )
    chart = (
        alt.Chart(data, title="k-means: mean silhouette by k (the highest is kept)")
        .mark_bar()
        .encode(
            x=alt.X("k:O", title="k (clusters)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("silhouette:Q", title="mean silhouette"),
            color=alt.condition(alt.datum.chosen, alt.value("#12355b"), alt.value("#9fb3c8")),
            tooltip=["k", alt.Tooltip("silhouette:Q", format=".3f")],
        )
        .properties(width=360, height=180)
    )
    return to_svg(chart)


def _table_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        means = row["features"].get("means", {})
        figures = []
        for feature, _, fmt in _MEANS:
            value = means.get(feature)
            figures.append("" if value is None else fmt.format(value))
        out.append({**row, "name": "noise" if row["cluster"] < 0 else str(row["cluster"]),
                    "figures": figures})
    return out


def clusters_section(store: AnalyticalStore) -> Section:
    """Clusters of the latest ``growthloop cluster`` run: choice of k, stability, profiles.

    Raises
    ------
    ClusterError
        If nothing has been clustered yet.
    """
    if not (store.has_table("cluster_runs") and store.has_table("cluster_summaries")):
        raise ClusterError("no clusters are stored yet; run `growthloop cluster` first")
    runs = {r["method"]: r for r in store.rows("SELECT * FROM cluster_runs")}
    if not runs:
        raise ClusterError("no clusters are stored yet; run `growthloop cluster` first")
    summaries = store.rows(
        "SELECT method, cluster, size, customer_share, revenue_share, description, features "
        "FROM cluster_summaries ORDER BY method, cluster < 0, cluster"
    )
    methods = []
    for method in CLUSTER_METHODS:
        if method not in runs:
            continue
        run = runs[method]
        rows = [
            {**s, "features": json.loads(s["features"])}
            for s in summaries if s["method"] == method
        ]
        methods.append({
            "key": method,
            "title": _TITLES[method],
            "clusters": run["clusters"],
            "silhouette": run["silhouette"],
            "params": json.loads(run["params"]),
            "rows": _table_rows(rows),
            "chart": _heatmap(method, rows) if rows else "",
        })
    first = runs[next(m["key"] for m in methods)]
    k = first["k"]
    by_k = json.loads(first["silhouette_by_k"] or "{}")
    stability = json.loads(first["stability"] or "{}")
    charts = [_silhouette_chart(by_k, int(k))] if k is not None and by_k else []
    return Section(
        key="clusters",
        title="Customer clusters",
        template="clusters.html.j2",
        context={
            "as_of": first["as_of"],
            "customers": int(first["customers"]),
            "features": [str(f).replace("_", " ") for f in json.loads(first["features"])],
            "k": k,
            "k_range": [min(int(x) for x in by_k), max(int(x) for x in by_k)] if by_k else None,
            "silhouette": by_k.get(str(k)) if k is not None else None,
            "stability": stability if stability.get("mean_ari") is not None else None,
            "methods": methods,
            "headings": [heading for _, heading, _ in _MEANS],
            "charts": charts,
        },
    )
