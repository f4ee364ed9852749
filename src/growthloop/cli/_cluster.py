"""``growthloop cluster``: k-means, Gaussian mixtures and DBSCAN on the customer profiles."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from growthloop.cli import app
from growthloop.cli._common import (
    JsonOpt,
    WorkspaceOpt,
    console,
    emit,
    handle_errors,
    open_workspace,
)
from growthloop.segment import CLUSTER_METHODS, ClusterReport, cluster_customers

_TITLES = {"kmeans": "k-means", "gmm": "Gaussian mixture", "dbscan": "DBSCAN"}


class Method(StrEnum):
    """A clustering method."""

    kmeans = "kmeans"
    gmm = "gmm"
    dbscan = "dbscan"


def _render(report: ClusterReport) -> None:
    for name, result in report.methods.items():
        title = f"{_TITLES[name]}: {result.clusters} clusters of {report.customers:,} customers"
        if result.silhouette is not None:
            title += f" (silhouette {result.silhouette:.3f})"
        table = Table(title=title, title_justify="left")
        table.add_column("cluster", justify="right")
        table.add_column("customers", justify="right")
        table.add_column("share", justify="right")
        table.add_column("revenue", justify="right")
        table.add_column("what sets it apart")
        for s in result.summaries:
            table.add_row(
                "noise" if s.cluster < 0 else str(s.cluster),
                f"{s.size:,}",
                f"{s.customer_share:.0%}",
                f"{s.revenue_share:.0%}",
                s.description,
            )
        console.print(table)
        if name == "dbscan":
            console.print(
                f"eps {result.params['eps']:.3g} (knee of the k-distance graph), "
                f"min_samples {result.params['min_samples']}"
            )
    if report.k is not None:
        by_k = "  ".join(f"{k}: {v:.3f}" for k, v in report.silhouette_by_k.items())
        console.print(f"k = {report.k}, chosen by silhouette; silhouette by k  {by_k}")
    if report.stability_ari is not None:
        seeds = ", ".join(str(s) for s in report.seeds)
        console.print(
            f"stability of k-means across seeds {seeds}: adjusted Rand index "
            f"{report.stability_ari:.3f} on average, {report.stability_min_ari:.3f} at worst"
        )
    if report.dropped_features:
        console.print(f"left out (constant): {', '.join(report.dropped_features)}")
    console.print(
        f"stored in tables clusters and cluster_summaries ({report.elapsed_seconds:.1f} s)"
    )


@app.command(
    "cluster",
    epilog="Example: growthloop cluster --k-min 2 --k-max 8 --method kmeans --method gmm --json",
)
@handle_errors
def cluster(
    k_min: Annotated[
        int, typer.Option("--k-min", min=2, max=50, help="Smallest k tried by k-means.")
    ] = 2,
    k_max: Annotated[
        int, typer.Option("--k-max", min=2, max=50, help="Largest k tried by k-means.")
    ] = 10,
    method: Annotated[
        list[Method] | None,
        typer.Option(
            "--method", "-m",
            help="Clustering method; repeat for several (default: all three). The Gaussian "
            "mixture uses the k that k-means chose.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        list[int] | None,
        typer.Option(
            "--seed", min=0,
            help="Random seed; repeat for several (default: 0, 1, 2). The first fits the "
            "models; k-means is refitted with each to measure stability.",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cluster customers on their profiles and describe each cluster in words and numbers.

    Fits k-means for each k from --k-min to --k-max and keeps the best k by silhouette.
    The Gaussian mixture uses that k; DBSCAN finds its own clusters and outliers.
    Features: standardised, log-transformed profile columns (run `growthloop profile build`).
    Each cluster gets its size, share of revenue and the features that set it apart most.
    """
    methods = [m.value for m in method] if method else list(CLUSTER_METHODS)
    with open_workspace(workspace) as ws:
        report = cluster_customers(
            ws.analytical,
            k_min=k_min,
            k_max=k_max,
            seeds=tuple(seed) if seed else (0, 1, 2),
            methods=methods,
        )
    emit(report.to_dict(), as_json, lambda: _render(report))
