"""Clustering: recovers the generated world's latent segments, is stable, describes clusters in
the planted directions, stores its results and refuses bad input with clear messages."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from typer.testing import CliRunner

from growthloop import Workspace
from growthloop.cli import _register, app
from growthloop.generate import WorldSpec, generate_world
from growthloop.ingest import load_file, options_for
from growthloop.profile import build_profiles
from growthloop.report import clusters_section, render_report
from growthloop.segment import (
    ClusterError,
    ClusterReport,
    cluster_customers,
    cluster_members,
)
from growthloop.segment._cluster_describe import describe
from growthloop.segment._cluster_fit import fit_dbscan, knee_eps, relabel_by_size

CUSTOMERS = 3000


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated world (3,000 customers, seed 7) loaded and profiled; returns its folder."""
    root = tmp_path_factory.mktemp("cluster")
    world = generate_world(WorldSpec(customers=CUSTOMERS, products=375, seed=7), root / "world")
    with Workspace.init(root / "ws") as ws:
        for entity in ("products", "customers", "orders", "events"):
            load_file(ws.analytical, entity, world.files[entity], options_for(entity))
        build_profiles(ws.analytical)
    return root


@pytest.fixture(scope="module")
def report(shop: Path) -> ClusterReport:
    with Workspace.open(shop / "ws") as ws:
        return cluster_customers(ws.analytical)


@pytest.fixture(scope="module")
def truth(shop: Path) -> dict[str, str]:
    table = pd.read_parquet(shop / "world" / "truth" / "customers.parquet")
    return dict(zip(table["customer_id"], table["segment"], strict=True))


def _ari(report: ClusterReport, truth: dict[str, str], method: str) -> float:
    segments = [truth[c] for c in report.canonical_ids]
    return float(adjusted_rand_score(segments, report.methods[method].labels))


def _cluster_of(report: ClusterReport, truth: dict[str, str], segment: str,
                method: str = "kmeans") -> int:
    """The cluster holding most of ``segment``'s customers."""
    labels = report.methods[method].labels
    votes = Counter(int(c) for c, s in zip(labels, (truth[i] for i in report.canonical_ids),
                                             strict=True) if s == segment)
    return votes.most_common(1)[0][0]


# --------------------------------------------------------------------------------------------------


def test_kmeans_chooses_five_clusters_and_recovers_the_segments(
    report: ClusterReport, truth: dict[str, str]
) -> None:
    assert report.customers == CUSTOMERS
    assert sorted(report.silhouette_by_k) == list(range(2, 11))
    assert report.k == 5
    assert max(report.silhouette_by_k, key=lambda k: report.silhouette_by_k[k]) == 5
    assert 0.35 < report.silhouette_by_k[5] < 0.5
    # Measured 0.86 on this world (seed 7); the five latent segments are the five clusters.
    assert _ari(report, truth, "kmeans") >= 0.8
    assert len({_cluster_of(report, truth, s) for s in set(truth.values())}) == 5
    assert report.features == [
        "recency_days", "frequency", "monetary", "average_order_value", "tenure_days",
        "days_since_last_visit", "email_open_rate", "peak_season_share",
    ]
    assert report.dropped_features == []


def test_kmeans_is_stable_across_seeds(report: ClusterReport) -> None:
    assert report.seeds == (0, 1, 2)
    assert [(a, b) for a, b, _ in report.stability] == [(0, 1), (0, 2), (1, 2)]
    assert report.stability_ari is not None and report.stability_ari >= 0.9
    assert report.stability_min_ari is not None and report.stability_min_ari >= 0.9


def test_gaussian_mixture_and_dbscan(report: ClusterReport, truth: dict[str, str]) -> None:
    gmm = report.methods["gmm"]
    assert gmm.clusters == 5 and gmm.params["k"] == 5 and gmm.params["converged"] is True
    assert _ari(report, truth, "gmm") >= 0.75  # measured 0.85
    dbscan = report.methods["dbscan"]
    assert len(dbscan.labels) == CUSTOMERS
    assert dbscan.clusters >= 2
    assert dbscan.params["min_samples"] == 16  # 2 x 8 features
    assert dbscan.params["eps"] > 0
    noise = float(np.mean(dbscan.labels == -1))
    assert 0 < noise < 0.1
    # Density-based clusters merge the overlapping buying segments: reported, not required.
    assert 0 <= _ari(report, truth, "dbscan") < 0.8
    assert dbscan.summaries[-1].cluster == -1
    assert dbscan.summaries[-1].description.startswith("outliers, in no dense group: ")


# --------------------------------------------------------------------------------------------------


def test_descriptions_follow_the_planted_differences(
    report: ClusterReport, truth: dict[str, str]
) -> None:
    summaries = {s.cluster: s for s in report.methods["kmeans"].summaries}
    assert sum(s.size for s in summaries.values()) == CUSTOMERS
    assert sum(s.customer_share for s in summaries.values()) == pytest.approx(1.0)
    assert sum(s.revenue_share for s in summaries.values()) == pytest.approx(1.0)
    assert [s.size for s in summaries.values()] == sorted(
        (s.size for s in summaries.values()), reverse=True)  # cluster 0 is the largest

    loyal = summaries[_cluster_of(report, truth, "loyal_high_value")]
    assert loyal.deviations["frequency"] > 1 and loyal.deviations["average_order_value"] > 1
    assert "buys often (+" in loyal.description and "high order value (+" in loyal.description
    assert loyal.revenue_share == max(s.revenue_share for s in summaries.values())
    assert loyal.means["frequency"] is not None and loyal.means["frequency"] > 8

    bargain = summaries[_cluster_of(report, truth, "bargain_hunters")]
    assert bargain.deviations["email_open_rate"] > 0.8
    assert bargain.deviations["average_order_value"] < -0.8
    assert "opens most emails (+" in bargain.description

    gifters = summaries[_cluster_of(report, truth, "occasional_gifters")]
    assert gifters.deviations["peak_season_share"] > 1
    assert gifters.description.startswith("buys mostly in November-December (+")
    assert gifters.means["peak_season_share"] is not None
    assert gifters.means["peak_season_share"] > 0.6

    new = summaries[_cluster_of(report, truth, "new_and_curious")]
    assert new.deviations["tenure_days"] < -1 and new.deviations["frequency"] < -1
    assert "joined recently (-" in new.description
    assert new.deviations["views_per_order"] > 0.5  # a descriptor, not fitted on

    lapsed = summaries[_cluster_of(report, truth, "lapsed")]
    assert lapsed.deviations["days_since_last_visit"] > 1
    assert lapsed.deviations["email_open_rate"] < -0.5
    assert "has not visited for a long time (+" in lapsed.description
    assert lapsed.means["days_since_last_visit"] is not None
    assert lapsed.means["days_since_last_visit"] > 200


def test_describe_ranks_by_absolute_deviation() -> None:
    text = describe({"frequency": 2.13, "average_order_value": 1.38, "email_open_rate": -0.91,
                     "tenure_days": 0.2})
    assert text == "buys often (+2.1 sd), high order value (+1.4 sd), rarely opens email (-0.9 sd)"
    assert describe({"peak_season_share": -0.04}) == "buys outside the holiday peak (-0.0 sd)"


def test_relabel_by_size() -> None:
    assert relabel_by_size([5, 5, 2, 7, 7, 7, -1]).tolist() == [1, 1, 2, 0, 0, 0, -1]


def test_dbscan_eps_at_the_knee_separates_groups_from_outliers() -> None:
    rng = np.random.default_rng(0)
    groups = np.concatenate([rng.normal(0, 0.1, (300, 2)), rng.normal(10, 0.1, (200, 2))])
    outliers = np.array([[5.0, 5.0], [-6.0, 4.0], [15.0, -3.0]])
    points = np.concatenate([groups, outliers])
    eps = knee_eps(points, 4)
    assert 0.05 < eps < 1.0  # within-group neighbour distances, far below the outliers' 5+
    fit = fit_dbscan(points, seed=0)
    assert (fit.min_samples, fit.eps) == (4, eps)
    assert fit.labels.tolist() == [0] * 300 + [1] * 200 + [-1] * 3


# --------------------------------------------------------------------------------------------------


def test_results_are_stored_and_members_listed(shop: Path, report: ClusterReport) -> None:
    with Workspace.open(shop / "ws") as ws:
        store = ws.analytical
        counts = dict(store.con.execute(
            "SELECT method, count(*) FROM clusters GROUP BY 1").fetchall())
        assert counts == {"kmeans": CUSTOMERS, "gmm": CUSTOMERS, "dbscan": CUSTOMERS}
        assert store.scalar("SELECT count(DISTINCT as_of) FROM clusters") == 1
        rows = store.rows("SELECT * FROM cluster_summaries WHERE method = 'kmeans' "
                          "ORDER BY cluster")
        assert [r["cluster"] for r in rows] == [0, 1, 2, 3, 4]
        stored = {r["cluster"]: r for r in rows}
        for s in report.methods["kmeans"].summaries:
            assert stored[s.cluster]["size"] == s.size
            assert stored[s.cluster]["description"] == s.description
            features = json.loads(stored[s.cluster]["features"])
            assert features["deviations"] == s.deviations
            assert features["labels"]["frequency"] == "orders"
        run = store.rows("SELECT * FROM cluster_runs WHERE method = 'kmeans'")[0]
        assert run["k"] == 5 and run["clusters"] == 5
        assert json.loads(run["stability"])["mean_ari"] == report.stability_ari
        labels = report.labels("kmeans")
        members = cluster_members(store, "kmeans", 2)
        assert members == sorted(c for c, label in labels.items() if label == 2)
        assert len(cluster_members(store, "dbscan", -1)) == int(
            (report.methods["dbscan"].labels == -1).sum())
        with pytest.raises(ClusterError, match="kmeans has no cluster 7; its clusters are "
                                               "0, 1, 2, 3, 4"):
            cluster_members(store, "kmeans", 7)
        with pytest.raises(ClusterError, match="unknown clustering method 'ward'"):
            cluster_members(store, "ward", 0)


# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k_min": 1}, "k_min must be between 2 and 50, got 1"),
        ({"k_max": 51}, "k_max must be between 2 and 50, got 51"),
        ({"k_min": 6, "k_max": 4}, "k_max must be >= k_min, got k_min=6 and k_max=4"),
        ({"k_min": 2.5}, "k_min must be an integer, got 2.5"),
        ({"methods": ["kmeans", "ward"]}, "unknown clustering method 'ward'; use one of kmeans, "
                                          "gmm, dbscan"),
        ({"methods": []}, "methods must be a non-empty list of kmeans, gmm, dbscan"),
        ({"seeds": []}, "seeds must be a non-empty list of integers, got []"),
        ({"seeds": [1, 1]}, "seeds must be different from each other, got [1, 1]"),
        ({"seeds": [-1]}, "seed must be between 0 and 4294967295, got -1"),
    ],
)
def test_invalid_settings_are_refused(
    workspace: Workspace, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ClusterError) as info:
        cluster_customers(workspace.analytical, **kwargs)
    assert str(info.value) == message


def test_no_profiles_table_says_what_to_run(workspace: Workspace) -> None:
    with pytest.raises(ClusterError, match=r"no profiles table; run `growthloop profile build`"):
        cluster_customers(workspace.analytical)
    with pytest.raises(ClusterError, match=r"no clusters are stored yet; run `growthloop cluster`"):
        cluster_members(workspace.analytical, "kmeans", 0)
    with pytest.raises(ClusterError, match=r"no clusters are stored yet"):
        clusters_section(workspace.analytical)


def _hand_made_profiles(workspace: Workspace, n: int) -> None:
    """A ``profiles`` table of ``n`` customers in two obvious groups, without events."""
    rng = np.random.default_rng(1)
    big = np.arange(n) % 2 == 0
    frame = pd.DataFrame({
        "canonical_id": [f"C{i:03d}" for i in range(n)],
        "recency_days": np.where(big, 5, 200) + rng.integers(0, 3, n),
        "frequency": np.where(big, 12, 1),
        "monetary": np.where(big, 900.0, 20.0) + rng.random(n),
        "average_order_value": np.where(big, 75.0, 20.0) + rng.random(n),
        "tenure_days": np.full(n, 300),
        "days_since_last_visit": np.full(n, np.nan),
        "product_views": np.zeros(n, dtype=int),
        "email_open_rate": np.full(n, np.nan),
        "email_click_rate": np.full(n, np.nan),
        "peak_season_share": np.where(big, 0.25, 0.0),
        "as_of": pd.Timestamp("2024-06-01"),
    })
    con = workspace.analytical.con
    con.register("hand_made", frame)
    con.execute("CREATE TABLE profiles AS SELECT * FROM hand_made")
    con.unregister("hand_made")


def test_fewer_customers_than_k(workspace: Workspace) -> None:
    _hand_made_profiles(workspace, 8)
    with pytest.raises(ClusterError) as info:
        cluster_customers(workspace.analytical)
    assert str(info.value) == (
        "k_max=10 needs more than 10 customers, but the profiles table has 8; lower k_max")
    # DBSCAN needs no k; with a small k range k-means works, leaving out constant features.
    result = cluster_customers(workspace.analytical, k_max=3, methods=["kmeans", "dbscan"])
    assert result.k == 2
    # No events: no visits, views or emails; everyone joined the same day.
    assert result.dropped_features == ["tenure_days", "days_since_last_visit", "email_open_rate",
                                       "views_per_order", "email_click_rate"]
    assert result.features == ["recency_days", "frequency", "monetary", "average_order_value",
                               "peak_season_share"]
    groups = result.methods["kmeans"].labels
    assert groups.tolist() == [0, 1] * 4 or groups.tolist() == [1, 0] * 4
    assert "gmm" not in result.methods and result.stability_ari == 1.0


# --------------------------------------------------------------------------------------------------


def test_cli_json_prints_the_figures(shop: Path, report: ClusterReport) -> None:
    _register()
    result = CliRunner().invoke(app, [
        "cluster", "-w", str(shop / "ws"), "--k-min", "4", "--k-max", "6", "--method", "kmeans",
        "--json",
    ])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["k"] == 5 and payload["customers"] == CUSTOMERS
    assert set(payload["silhouette_by_k"]) == {"4", "5", "6"}
    assert payload["silhouette_by_k"]["5"] == pytest.approx(report.silhouette_by_k[5])
    assert payload["stability"]["seeds"] == [0, 1, 2]
    assert payload["stability"]["mean_ari"] >= 0.9
    assert list(payload["methods"]) == ["kmeans"]
    summaries = payload["methods"]["kmeans"]["summaries"]
    assert [s["cluster"] for s in summaries] == [0, 1, 2, 3, 4]
    assert all(s["description"].count(" sd)") == 3 for s in summaries)
    # Same k and seed as before: the same clusters, stored again.
    assert [s["size"] for s in summaries] == [s.size for s in report.methods["kmeans"].summaries]


def test_cli_without_profiles_is_a_user_error(tmp_path: Path) -> None:
    _register()
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(tmp_path / "ws")]).exit_code == 0
    result = runner.invoke(app, ["cluster", "-w", str(tmp_path / "ws"), "--json"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "ClusterError" and "growthloop profile build" in error["message"]


def test_cli_help_has_an_example_and_refuses_an_unknown_method() -> None:
    _register()
    help_text = CliRunner().invoke(app, ["cluster", "--help"]).output
    assert "Example: growthloop cluster" in help_text
    result = CliRunner().invoke(app, ["cluster", "--method", "ward"])
    assert result.exit_code == 2
    assert "'ward' is not one of" in " ".join(result.output.split())


def test_report_section_shows_profiles_and_choice_of_k(
    shop: Path, report: ClusterReport, tmp_path: Path
) -> None:
    with Workspace.open(shop / "ws") as ws:
        section = clusters_section(ws.analytical)
    assert section.key == "clusters" and section.context["k"] == 5
    assert [m["key"] for m in section.context["methods"]] == ["kmeans", "gmm", "dbscan"]
    html = render_report(tmp_path / "r.html", [section], title="t").read_text()
    assert html.count("<svg") == 4  # silhouette by k and one heatmap per method
    assert "kept k = 5, the highest mean" in html
    for s in report.methods["kmeans"].summaries:
        assert s.description in html
