"""Scoring the workspace: the scores table, profile columns, segments, the API, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from growthloop import Workspace
from growthloop.api import create_app
from growthloop.cli import _register, app
from growthloop.errors import ModelError
from growthloop.keys import create_key
from growthloop.predict.temporal import TemporalTraining, profile_column, score_profiles
from growthloop.predict.temporal import _score as score_module
from growthloop.profile import build_profiles
from growthloop.segment import create_segment, parse_segment

_register()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def scored(trained_world: tuple[Path, TemporalTraining]) -> Path:
    root, _ = trained_world
    with Workspace.open(root) as ws:
        score_profiles(
            analytical=ws.analytical,
            operational=ws.operational,
            models_dir=ws.models_dir,
            name="churn",
        )
    return root


def test_scores_reach_profiles_and_segments(scored: Path) -> None:
    with Workspace.open(scored) as ws:
        store = ws.analytical
        scores = store.rows("SELECT * FROM scores WHERE model = 'churn'")
        buyers = store.scalar("SELECT count(*) FROM profiles WHERE orders > 0")
        assert len(scores) == buyers
        first = scores[0]
        assert first["kind"] == "churn" and first["profile_column"] == "churn_risk"
        assert 0 < first["score"] < 1 and 1 <= len(first["reasons"]) <= 3
        assert "churn risk" in first["reasons"][0]
        at_risk = store.scalar("SELECT count(*) FROM profiles WHERE churn_risk > 0.7")
        assert 0 < at_risk < buyers
        _, _, change = create_segment(
            analytical=store,
            operational=ws.operational,
            definition=parse_segment(
                {
                    "id": "likely-to-churn",
                    "name": "Likely to churn",
                    "condition": {"type": "trait", "field": "churn_risk", "op": "gt", "value": 0.7},
                }
            ),
        )
        assert change.members == at_risk
        build_profiles(store)  # a rebuild re-attaches the latest scores
        assert store.scalar("SELECT count(churn_risk) FROM profiles") == buyers


def test_profile_columns() -> None:
    assert profile_column("churn", "churn") == "churn_risk"
    assert profile_column("churn", "churn-eu") == "churn_risk_eu"
    assert profile_column("propensity", "propensity-home-kitchen") == (
        "purchase_propensity_home_kitchen"
    )


def test_refuses_a_snapshot_with_other_features(
    scored: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = score_module.read_snapshot

    def without_recency(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        frame, labels = real(*args, **kwargs)  # type: ignore[arg-type]
        return frame.drop(columns=["recency_days"]), labels

    monkeypatch.setattr(score_module, "read_snapshot", without_recency)
    with Workspace.open(scored) as ws, pytest.raises(ModelError) as refused:
        score_profiles(
            analytical=ws.analytical,
            operational=ws.operational,
            models_dir=ws.models_dir,
            name="churn",
        )
    assert "cannot score the current profiles" in str(refused.value)
    assert "recency_days" in str(refused.value)


def test_cli_score_churn(scored: Path) -> None:
    result = CliRunner().invoke(app, ["score", "churn", "--workspace", str(scored), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["profile_column"] == "churn_risk" and body["rows"] > 1000
    both = CliRunner().invoke(app, ["score", "churn", "--file", "x.csv", "-w", str(scored)])
    assert both.exit_code == 2


@pytest.mark.anyio
async def test_api_profile_has_scores(scored: Path) -> None:
    with Workspace.open(scored) as ws:
        secret = create_key(store=ws.operational, name="reader", scopes=["read"]).secret
        customer = ws.analytical.scalar(
            "SELECT canonical_id FROM profiles WHERE churn_risk IS NOT NULL LIMIT 1"
        )
    transport = httpx.ASGITransport(app=create_app(scored, key_cache_seconds=0.0))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get(
            f"/v1/profiles/{customer}", headers={"Authorization": f"Bearer {secret}"}
        )
    assert response.status_code == 200
    body = response.json()
    assert 0 < body["profile"]["churn_risk"] < 1
    [score] = body["scores"]
    assert score["model"] == "churn" and score["score"] == pytest.approx(
        body["profile"]["churn_risk"]
    )
    assert 1 <= len(score["reasons"]) <= 3
