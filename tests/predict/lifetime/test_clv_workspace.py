"""CLV on the workspace: training with a holdout, scoring into profiles, segments, the API."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from growthloop import Workspace
from growthloop.api import create_app
from growthloop.cli import _register, app
from growthloop.keys import create_key
from growthloop.predict.lifetime import (
    CLV_COLUMNS,
    ClvModel,
    ClvTraining,
    clv_columns,
    load_purchases,
    plan_calibration,
    score_clv,
    score_customers,
)
from growthloop.predict.registry import get_model
from growthloop.profile import build_profiles
from growthloop.segment import create_segment, parse_segment

_register()

SCORED_AT = datetime(2026, 1, 2, 9, 0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def scored(clv_trained: tuple[Path, ClvTraining]) -> Path:
    root, _ = clv_trained
    with Workspace.open(root) as ws:
        score_clv(
            analytical=ws.analytical,
            operational=ws.operational,
            models_dir=ws.models_dir,
            clock=lambda: SCORED_AT,
        )
    return root


def test_holdout_forecast_is_close(clv_trained: tuple[Path, ClvTraining]) -> None:
    # Measured on this world: 8,331 predicted vs 8,118 actual repeat purchases in 2025
    # (+2.6 %), r = 0.64 per customer; revenue -2.1 %.
    _, result = clv_trained
    holdout = result.holdout
    assert holdout is not None and holdout.calibration_end == date(2024, 12, 31)
    purchases = holdout.purchases
    assert purchases["actual_total"] == pytest.approx(8118)
    assert abs(purchases["total_error"]) < 0.2  # type: ignore[arg-type]
    assert purchases["correlation"] > 0.5  # type: ignore[operator]
    assert abs(holdout.spend["revenue_error"]) < 0.2  # type: ignore[arg-type]
    predicted = [row["predicted_mean"] for row in holdout.by_frequency]
    assert [row["frequency"] for row in holdout.by_frequency][-1] == "7+"
    assert predicted[0] < predicted[3] < predicted[-1]  # more history, more purchases
    assert sum(row["customers"] for row in holdout.by_frequency) == holdout.customers


def test_registered_with_errors_window_and_fingerprint(
    clv_trained: tuple[Path, ClvTraining],
) -> None:
    root, result = clv_trained
    with Workspace.open(root) as ws:
        found = get_model(ws.operational, "clv")
    assert found.kind == "clv" and found.status == "promoted"
    assert found.training_from == datetime(2024, 1, 1)
    assert found.training_to == datetime(2025, 12, 31)
    transaction = found.params["transaction"]
    assert set(transaction["params"]) == {"r", "alpha", "a", "b"}
    assert all(v > 0 for v in transaction["std_errors"].values())
    assert set(found.params["spend"]["std_errors"]) == {"p", "q", "gamma"}
    assert found.metrics["holdout"]["purchases"]["actual_total"] == 8118
    assert found.data_fingerprint and found.data_fingerprint.startswith("sha256:")
    assert "scipy" in found.library_versions
    # the registered parameters are the refit on all data, not the calibration fit
    assert result.artifact.through == date(2025, 12, 30)
    assert result.holdout is not None
    assert result.holdout.calibration_params["transaction"] != transaction["params"]


def test_scores_reach_profiles_and_segments(scored: Path) -> None:
    with Workspace.open(scored) as ws:
        store = ws.analytical
        buyers = store.scalar("SELECT count(DISTINCT canonical_id) FROM scores WHERE model = 'clv'")
        assert buyers == store.scalar("SELECT count(*) FROM profiles WHERE orders > 0")
        columns = {
            str(r[0]): str(r[1]) for r in store.con.execute("DESCRIBE profiles").fetchall()
        }
        assert {c: columns[c] for c in CLV_COLUMNS} == {
            "clv": "DOUBLE",
            "p_alive": "DOUBLE",
            "expected_purchases_90d": "DOUBLE",
            "expected_order_value": "DOUBLE",
            "next_order_date": "DATE",
        }
        row = store.rows(
            "SELECT min(p_alive) AS lo, max(p_alive) AS hi, min(clv) AS clv, "
            "min(next_order_date) AS next, count(clv) AS n FROM profiles"
        )[0]
        assert 0 <= row["lo"] < row["hi"] <= 1 and row["clv"] >= 0 and row["n"] == buyers
        assert row["next"] >= date(2025, 12, 31)  # after the end of the data
        lapsing = store.scalar("SELECT count(*) FROM profiles WHERE p_alive < 0.3")
        assert 0 < lapsing < buyers
        _, _, change = create_segment(
            analytical=store,
            operational=ws.operational,
            definition=parse_segment(
                {
                    "id": "lapsing",
                    "name": "Probably lapsed",
                    "condition": {"type": "trait", "field": "p_alive", "op": "lt", "value": 0.3},
                }
            ),
        )
        assert change.members == lapsing
        build_profiles(store)  # a rebuild re-attaches the latest scores
        assert store.scalar("SELECT count(next_order_date) FROM profiles") == buyers


def test_measures_respond_to_horizon_discount_and_margin(
    clv_trained: tuple[Path, ClvTraining],
) -> None:
    root, result = clv_trained
    with Workspace.open(root) as ws:
        purchases = load_purchases(ws.analytical)
    summary = purchases.summary(purchases.last_day).head(200)
    model: ClvModel = result.artifact
    base = score_customers(model, summary)
    assert list(base.columns) == list(CLV_COLUMNS)
    half = score_customers(model, summary, margin=0.5)
    assert half["clv"].to_numpy() == pytest.approx(base["clv"].to_numpy() / 2)
    longer = score_customers(model, summary, horizon_days=730)
    assert (longer["clv"] > base["clv"]).all()
    steeper = score_customers(model, summary, discount_rate=0.05)
    assert (steeper["clv"] < base["clv"]).all()
    assert (base["p_alive"] == half["p_alive"]).all()


def test_default_calibration_end_holds_out_a_quarter(
    clv_trained: tuple[Path, ClvTraining],
) -> None:
    root, _ = clv_trained
    with Workspace.open(root) as ws:
        purchases = load_purchases(ws.analytical)
    # 2024-01-01 + floor(0.75 * 729 days) = 2024-01-01 + 546 days
    assert plan_calibration(purchases) == date(2025, 6, 30)
    assert plan_calibration(purchases, holdout_days=30) == date(2025, 11, 30)
    assert clv_columns("clv-eu")["p_alive"] == "p_alive_eu"


def test_cli_train_and_score(clv_world: Path) -> None:
    runner = CliRunner()
    trained = runner.invoke(
        app,
        ["train", "clv", "--holdout-days", "365", "--name", "clv-b", "-w", str(clv_world),
         "--json"],
    )
    assert trained.exit_code == 0, trained.output
    body = json.loads(trained.output)
    assert body["model"]["name"] == "clv-b" and body["holdout"]["holdout_days"] == 365
    scored = runner.invoke(
        app,
        ["score", "clv", "--model", "clv-b", "--horizon-days", "180", "--margin", "0.3",
         "-w", str(clv_world), "--json"],
    )
    assert scored.exit_code == 0, scored.output
    result = json.loads(scored.output)
    assert result["profile_columns"][:2] == ["clv_b", "p_alive_b"]
    assert result["horizon_days"] == 180 and result["margin"] == 0.3
    wrong = runner.invoke(app, ["score", "churn", "--margin", "0.3", "-w", str(clv_world)])
    assert wrong.exit_code == 2


@pytest.mark.anyio
async def test_api_profile_has_clv_scores(scored: Path) -> None:
    with Workspace.open(scored) as ws:
        secret = create_key(store=ws.operational, name="reader", scopes=["read"]).secret
        customer = ws.analytical.scalar(
            "SELECT canonical_id FROM profiles WHERE clv IS NOT NULL ORDER BY clv DESC LIMIT 1"
        )
    transport = httpx.ASGITransport(app=create_app(scored, key_cache_seconds=0.0))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get(
            f"/v1/profiles/{customer}", headers={"Authorization": f"Bearer {secret}"}
        )
    assert response.status_code == 200
    body = response.json()
    profile = body["profile"]
    assert profile["clv"] > 0 and 0 < profile["p_alive"] <= 1
    assert profile["next_order_date"] >= "2025-12-31"
    scores = {s["profile_column"]: s for s in body["scores"] if s["model"] == "clv"}
    assert set(scores) == set(CLV_COLUMNS)
    assert scores["clv"]["score"] == pytest.approx(profile["clv"])
    assert scores["clv"]["kind"] == "clv" and "repeat purchase" in scores["clv"]["reasons"][0]
    assert "a month discount" in scores["clv"]["reasons"][1]
