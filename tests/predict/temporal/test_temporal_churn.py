"""Churn on a generated world with known churn: temporal split, models, baseline, registry."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from growthloop import Workspace
from growthloop.errors import ModelError
from growthloop.predict.registry import get_model
from growthloop.predict.temporal import (
    Target,
    TemporalTraining,
    data_range,
    plan_split,
    read_snapshot,
    train_on_profiles,
)
from growthloop.profile import build_profiles


def test_lightgbm_beats_the_rfm_baseline(trained_world: tuple[Path, TemporalTraining]) -> None:
    root, result = trained_world
    split = result.split
    assert (split.train, split.validation, split.test) == (
        datetime(2024, 4, 5),
        datetime(2024, 7, 4),
        datetime(2024, 10, 2),
    )
    reports = result.fit.reports
    assert set(reports) == {"lightgbm", "logistic", "rfm_baseline"}
    lightgbm, rfm = reports["lightgbm"].test, reports["rfm_baseline"].test
    # Measured on this world (seed 7): LightGBM ROC-AUC 0.860, Brier 0.177; the RFM-only
    # baseline 0.834 and 0.185; the base rate's Brier 0.216.
    assert lightgbm["roc_auc"] >= 0.83
    assert lightgbm["brier"] < rfm["brier"] - 0.004
    assert lightgbm["brier"] < lightgbm["brier_base_rate"] - 0.02
    assert lightgbm["roc_auc"] > rfm["roc_auc"] + 0.01
    for report in reports.values():
        assert {"lift_top10", "capture_top10", "lift_top20", "capture_top20", "pr_auc"} <= set(
            report.test
        )
        assert sum(b["count"] for b in report.reliability) == result.snapshots["test"]["rows"]

    with Workspace.open(root) as ws:
        model = get_model(ws.operational, "churn", result.model.version)
    assert model.kind == "churn"
    assert model.metrics["roc_auc"] == pytest.approx(reports[result.fit.chosen].test["roc_auc"])
    assert model.metrics["baseline_rfm"]["roc_auc"] == pytest.approx(rfm["roc_auc"])
    assert set(model.metrics["models"]) == {"lightgbm", "logistic", "rfm_baseline"}
    assert model.metrics["split"]["test_cutoff"] == "2024-10-02T00:00:00"
    assert model.training_to == datetime(2024, 10, 2)  # validation cutoff + 90 days
    assert model.data_fingerprint is not None and model.data_fingerprint.startswith("sha256:")
    names = {f["name"] for f in model.features}
    assert {"recency_days", "frequency", "monetary"} <= names
    assert not names & {"last_order_at", "as_of", "churn_risk", "canonical_id"}


def test_snapshots_use_only_data_before_the_cutoff(churn_world: Path) -> None:
    cutoff = datetime(2024, 7, 4)
    with Workspace.open(churn_world) as ws:
        store = ws.analytical
        try:
            build_profiles(store, as_of=cutoff, table="_pit_check")
            latest = store.rows(
                "SELECT max(last_order_at) AS orders, max(last_seen_at) AS seen, "
                "min(recency_days) AS recency FROM _pit_check"
            )[0]
            frame, labels = read_snapshot(store, "_pit_check", Target("churn", 90), cutoff=cutoff)
        finally:
            store.con.execute("DROP TABLE IF EXISTS _pit_check")
        lines = store.con.execute(
            "SELECT canonical_id, ordered_at FROM v_order_lines "
            "WHERE line_kind = 'sale' AND canonical_id IS NOT NULL"
        ).df()
    assert latest["orders"] < cutoff
    assert latest["seen"] < cutoff
    assert latest["recency"] >= 1
    # The labels, recomputed independently: no purchase in [cutoff, cutoff + 90 days).
    window = lines[
        (lines.ordered_at >= cutoff) & (lines.ordered_at < cutoff + pd.Timedelta(90, "D"))
    ]
    before = set(lines[lines.ordered_at < cutoff].canonical_id)
    assert set(frame.canonical_id) == before
    expected = (~frame.canonical_id.isin(set(window.canonical_id))).astype(int).to_numpy()
    assert (labels == expected).all()


def test_cutoffs_outside_the_data(churn_world: Path) -> None:
    with Workspace.open(churn_world) as ws:
        data = data_range(ws.analytical)
        with pytest.raises(ModelError) as late:
            train_on_profiles(
                analytical=ws.analytical,
                operational=ws.operational,
                models_dir=ws.models_dir,
                target=Target("churn", 90),
                test_cutoff=datetime(2025, 3, 1),
            )
    assert str(late.value) == (
        "the test cutoff 2025-03-01 is outside the data: purchases run from 2024-01-01 to "
        "2024-12-30, so with a 90-day horizon a cutoff must lie between 2024-01-02 and "
        "2024-10-02 (it needs purchases before it and 90 days of data after it)"
    )
    with pytest.raises(ModelError, match="before the next cutoff"):
        plan_split(data, horizon_days=90, validation=datetime(2024, 8, 1))
    with pytest.raises(ModelError, match="too short for a 400-day horizon"):
        plan_split(data, horizon_days=400)
