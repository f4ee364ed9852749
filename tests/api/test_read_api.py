"""Read endpoints: profiles and segments, with read/admin keys, against a real workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from growthloop import Workspace
from growthloop.api import create_app
from growthloop.demo import run_demo
from growthloop.keys import create_key

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo workspace (profiles and two segments built), shared by the module."""
    root = tmp_path_factory.mktemp("shop") / "ws"
    run_demo(root, customers=200, seed=3)
    return root


@pytest.fixture
async def api(shop: Path) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    with Workspace.open(shop) as ws:
        keys = {
            scope: create_key(store=ws.operational, name=scope, scopes=[scope]).secret
            for scope in ("read", "write", "admin")
        }
    app = create_app(shop, key_cache_seconds=0.0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http, keys


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_profile_by_any_identity(api, shop: Path) -> None:
    http, keys = api
    with Workspace.open(shop) as ws:
        row = ws.analytical.rows(
            "SELECT p.canonical_id, c.email FROM profiles p JOIN v_customers c "
            "USING (canonical_id) WHERE p.orders > 1 AND c.email IS NOT NULL LIMIT 1"
        )[0]
    response = await http.get(f"/v1/profiles/{row['email'].upper()}", headers=_bearer(keys["read"]))
    assert response.status_code == 200
    body = response.json()
    assert body["canonical_id"] == row["canonical_id"]
    assert body["profile"]["orders"] > 1
    assert body["profile"]["rfm_segment"] is not None
    assert {"kind": "email", "value": row["email"]} in body["identities"]


async def test_profile_errors(api) -> None:
    http, keys = api
    missing = await http.get("/v1/profiles/nobody-at-all", headers=_bearer(keys["read"]))
    assert missing.status_code == 404
    assert "no customer has the identity 'nobody-at-all'" in missing.json()["error"]
    assert (await http.get("/v1/profiles/C0000001")).status_code == 401
    wrong = await http.get("/v1/profiles/C0000001", headers=_bearer(keys["write"]))
    assert wrong.status_code == 403
    assert (
        await http.get("/v1/profiles/C0000001", headers=_bearer("gl_r_nonsense"))
    ).status_code == 401


async def test_segments_list_show_members(api) -> None:
    http, keys = api
    listed = (await http.get("/v1/segments", headers=_bearer(keys["read"]))).json()
    assert {s["id"] for s in listed["data"]} == {"engaged-browsers", "vip-at-risk"}
    sizes = {s["id"]: s["members"] for s in listed["data"]}
    page = await http.get("/v1/segments/vip-at-risk/members?limit=2", headers=_bearer(keys["read"]))
    assert page.status_code == 200
    assert page.json()["total"] == sizes["vip-at-risk"]
    assert len(page.json()["data"]) == min(2, sizes["vip-at-risk"])
    assert (await http.get("/v1/segments/nope", headers=_bearer(keys["read"]))).status_code == 404
    too_many = await http.get(
        "/v1/segments/vip-at-risk/members?limit=0", headers=_bearer(keys["read"])
    )
    assert too_many.status_code in (400, 422)


async def test_create_segment_needs_admin_and_a_valid_document(api) -> None:
    http, keys = api
    document = {
        "id": "gb-buyers",
        "name": "GB buyers",
        "condition": {
            "type": "and",
            "conditions": [
                {"type": "trait", "field": "country", "op": "eq", "value": "GB"},
                {"type": "trait", "field": "orders", "op": "gte", "value": 1},
            ],
        },
    }
    denied = await http.post("/v1/segments", json=document, headers=_bearer(keys["read"]))
    assert denied.status_code == 403
    created = await http.post("/v1/segments", json=document, headers=_bearer(keys["admin"]))
    assert created.status_code == 201, created.text
    assert created.json()["evaluated"] is True and created.json()["version"] == 1
    bad = {
        **document,
        "condition": {
            "type": "trait",
            "field": "country",
            "op": "eq",
            "value": "GB",
            "colour": "red",
        },
    }
    refused = await http.post("/v1/segments", json=bad, headers=_bearer(keys["admin"]))
    assert refused.status_code == 400
    assert "condition.trait.colour: Extra inputs are not permitted" in refused.json()["error"]
