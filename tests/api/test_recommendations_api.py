"""``GET /v1/recommendations/{customer_id}`` and ``GET /v1/items/{item_id}/similar`` on a built
workspace: answers, exact error bodies, updates shown at once, reload on promotion."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from growthloop import Workspace
from growthloop.api import create_app
from growthloop.generate import WorldSpec, generate_world
from growthloop.ingest import load_file, options_for
from growthloop.keys import create_key
from growthloop.predict.registry import promote, rollback
from growthloop.recommend import (
    NewInteraction,
    build_recommendations,
    load_serving_model,
    update_customer,
)

pytestmark = pytest.mark.anyio

COLD = "C9000001"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A generated shop, one customer without history, a build (top 10) and keys."""
    root = tmp_path_factory.mktemp("recommendations-api")
    world = generate_world(WorldSpec(customers=250, products=50, days=150, seed=3),
                           root / "world")
    extra = root / "cold.csv"
    extra.write_text(f"customer_id,email,country,created_at\n{COLD},cold@example.com,GB,"
                     "2024-01-01 00:00:00\n")
    with Workspace.init(root / "ws") as ws:
        for name in ("products", "customers", "orders", "events"):
            load_file(ws.analytical, name, world.files[name], options_for(name))
        load_file(ws.analytical, "customers", extra, options_for("customers"))
        build_recommendations(analytical=ws.analytical, operational=ws.operational,
                              models_dir=ws.models_dir, n=10)
        keys = {
            scope: create_key(store=ws.operational, name=scope, scopes=[scope]).secret
            for scope in ("read", "write", "admin")
        }
    return root / "ws", keys


@pytest.fixture
async def http(shop) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(shop[0], key_cache_seconds=0.0, recommendation_check_seconds=0.0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def _read(shop) -> dict[str, str]:
    return {"Authorization": f"Bearer {shop[1]['read']}"}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": message, "code": code, "message": message, "details": []}


def _table(root: Path, customer: str) -> list[dict[str, Any]]:
    with Workspace.open(root) as ws:
        return ws.analytical.rows(
            "SELECT item_id, reason_code, reason, model_version FROM recommendations "
            "WHERE canonical_id = ? ORDER BY rank", [customer])


async def test_a_customers_recommendations(http: httpx.AsyncClient, shop) -> None:
    table = _table(shop[0], "C0000004")
    response = await http.get("/v1/recommendations/C0000004?n=5", headers=_read(shop))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["canonical_id"], body["strategy"], body["count"]) == ("C0000004", "precomputed", 5)
    assert body["model"] == {"name": "recommender", "version": 1}
    assert [(d["item_id"], d["reason_code"], d["reason"]) for d in body["data"]] == [
        (r["item_id"], r["reason_code"], r["reason"]) for r in table[:5]
    ]
    assert [d["rank"] for d in body["data"]] == [1, 2, 3, 4, 5]
    assert all(d["name"] and isinstance(d["score"], float) for d in body["data"])
    default = await http.get("/v1/recommendations/C0000004", headers=_read(shop))
    assert default.json()["count"] == 10
    more = await http.get("/v1/recommendations/C0000004?n=100", headers=_read(shop))
    assert more.status_code == 200 and more.json()["count"] == len(table) <= 10


async def test_a_customer_without_history_gets_popular_items(http, shop) -> None:
    response = await http.get(f"/v1/recommendations/{COLD}?n=3", headers=_read(shop))
    assert response.status_code == 200
    body = response.json()
    assert body["strategy"] == "popular" and body["count"] == 3
    assert [d["reason"] for d in body["data"]] == ["bestseller"] * 3  # no profiles: overall
    by_email = await http.get("/v1/recommendations/cold@example.com?n=3", headers=_read(shop))
    assert by_email.json()["canonical_id"] == COLD and by_email.json()["data"] == body["data"]


async def test_similar_items(http, shop) -> None:
    response = await http.get("/v1/items/P00017/similar?n=4", headers=_read(shop))
    assert response.status_code == 200
    body = response.json()
    assert body["item_id"] == "P00017" and body["count"] == 4 and body["name"]
    assert "P00017" not in {d["item_id"] for d in body["data"]}
    assert all(d["reason"].endswith(body["name"]) for d in body["data"])


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/v1/recommendations/nobody", 404, _error(
            "not_found", "no customer has the identity 'nobody' (tried customer ids, emails, "
            "phones and anonymous ids); check the id or load the data that mentions it")),
        ("/v1/recommendations/C0000004?n=0", 400, _error(
            "invalid_request", "n=0 must be a whole number from 1 to 100; try 10")),
        ("/v1/recommendations/C0000004?n=101", 400, _error(
            "invalid_request", "n=101 must be a whole number from 1 to 100; try 10")),
        ("/v1/items/P00017/similar?n=-1", 400, _error(
            "invalid_request", "n=-1 must be a whole number from 1 to 100; try 10")),
        ("/v1/items/NOPE/similar", 404, _error(
            "not_found", "no item 'NOPE' in the catalogue of recommender v1 (50 items); check "
            "the id, or load the product and run `growthloop recommend build`")),
    ],
)
async def test_bad_input_gets_exact_error_bodies(http, shop, path, status, body) -> None:
    response = await http.get(path, headers=_read(shop))
    assert (response.status_code, response.json()) == (status, body)


async def test_n_must_be_a_number_and_a_read_key_is_needed(http, shop) -> None:
    words = await http.get("/v1/recommendations/C0000004?n=ten", headers=_read(shop))
    assert words.status_code == 400
    assert words.json()["error"] == (
        "'query.n': Input should be a valid integer, unable to parse string as an integer"
    )
    assert (await http.get("/v1/recommendations/C0000004")).status_code == 401
    wrong = {"Authorization": f"Bearer {shop[1]['write']}"}
    assert (await http.get("/v1/items/P00017/similar", headers=wrong)).status_code == 403


async def test_no_build_yet(tmp_path) -> None:
    with Workspace.init(tmp_path / "empty") as ws:
        secret = create_key(store=ws.operational, name="r", scopes=["read"]).secret
    app = create_app(tmp_path / "empty", key_cache_seconds=0.0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/v1/recommendations/C1",
                                    headers={"Authorization": f"Bearer {secret}"})
    assert (response.status_code, response.json()) == (404, _error(
        "not_found", "no recommendations have been built in this workspace yet; run "
        "`growthloop recommend build`"))


async def test_an_update_shows_at_once(http, shop) -> None:
    customer = "C0000006"
    first = (await http.get(f"/v1/recommendations/{customer}", headers=_read(shop))).json()
    bought = [d["item_id"] for d in first["data"][:2]]
    with Workspace.open(shop[0]) as ws:  # as another process would
        serving = load_serving_model(operational=ws.operational, models_dir=ws.models_dir)
        update_customer(serving=serving, analytical=ws.analytical, customer=customer,
                        interactions=[NewInteraction(item) for item in bought])
    response = await http.get(f"/v1/recommendations/{customer}", headers=_read(shop))
    body = response.json()
    assert body["strategy"] == "updated" and body["model"]["version"] == 1
    assert not set(bought) & {d["item_id"] for d in body["data"]}
    assert [d["item_id"] for d in body["data"]] == [
        r["item_id"] for r in _table(shop[0], customer)
    ]


async def test_posted_interactions_rerank_a_customer_at_once(http, shop) -> None:
    customer, path = "C0000008", "/v1/recommendations/C0000008/interactions"
    admin = {"Authorization": f"Bearer {shop[1]['admin']}"}
    first = (await http.get(f"/v1/recommendations/{customer}", headers=_read(shop))).json()
    bought = first["data"][0]["item_id"]
    body = {"interactions": [{"item_id": bought}, {"item_id": "NOPE", "kind": "view"}], "n": 5}
    response = await http.post(path, json=body, headers=admin)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["strategy"] == "updated" and answer["count"] == 5
    assert answer["interactions_used"] == 1 and answer["ignored_items"] == ["NOPE"]
    assert bought not in {d["item_id"] for d in answer["data"]}  # bought now: excluded
    served = (await http.get(f"/v1/recommendations/{customer}?n=5", headers=_read(shop))).json()
    assert served["data"] == answer["data"]
    assert [d["item_id"] for d in answer["data"]] == [
        r["item_id"] for r in _table(shop[0], customer)][:5]
    assert (await http.post(path, json=body, headers=_read(shop))).status_code == 403
    bad = await http.post(path, json={"interactions": [{"item_id": "P1", "kind": "liked"}]},
                          headers=admin)
    assert bad.status_code == 400
    assert "interactions[0]" in bad.json()["error"] and "purchase, cart" in bad.json()["error"]
    empty = await http.post(path, json={"interactions": []}, headers=admin)
    assert empty.status_code == 400 and "non-empty list" in empty.json()["error"]
    unknown = await http.post("/v1/recommendations/nobody@example.com/interactions", json=body,
                              headers=admin)
    assert unknown.status_code == 404


async def test_a_newer_build_is_served_once_promoted_and_a_broken_one_is_not(
    http, shop
) -> None:
    assert (await http.get("/v1/items/P00017/similar", headers=_read(shop))).json()[
        "model"]["version"] == 1
    with Workspace.open(shop[0]) as ws:
        build_recommendations(analytical=ws.analytical, operational=ws.operational,
                              models_dir=ws.models_dir, n=5, sources=("popular", "cooccurrence"))
    newer = (await http.get("/v1/recommendations/C0000004", headers=_read(shop))).json()
    assert newer["model"]["version"] == 2 and newer["count"] == 5
    with Workspace.open(shop[0]) as ws:
        rollback(ws.operational, "recommender")
        (ws.models_dir / "recommender" / "v2" / "top_items.npy").write_bytes(b"broken")
    older = (await http.get("/v1/recommendations/C0000004", headers=_read(shop))).json()
    assert older["model"]["version"] == 1 and older["count"] == 10
    with Workspace.open(shop[0]) as ws:
        promote(ws.operational, "recommender", 2)
    broken = await http.get("/v1/recommendations/C0000004", headers=_read(shop))
    assert broken.status_code == 503
    assert broken.json()["code"] == "recommender_unavailable"
    assert "top_items.npy has changed since the build" in broken.json()["error"]
    assert broken.json()["error"].endswith("run `growthloop recommend build` again")
    with Workspace.open(shop[0]) as ws:
        rollback(ws.operational, "recommender")
