"""Serving recommendations: `recommend build` precomputes every customer's top N with reasons,
`show` and `similar` read them back, new interactions update a customer without a refit, and
customers and items without history get popularity and content neighbours."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from growthloop import Workspace
from growthloop.cli import _register, app
from growthloop.errors import ModelError, NotFoundError
from growthloop.generate import WorldSpec, generate_world
from growthloop.ingest import load_file, options_for
from growthloop.predict.registry import list_models
from growthloop.recommend import (
    NewInteraction,
    RecommendationBuild,
    ServingModel,
    build_recommendations,
    load_serving_model,
    recommendations_for,
    similar_items,
    update_customer,
)
from growthloop.recommend._answers import StoreOpener
from growthloop.store import AnalyticalStore

_register()
runner = CliRunner()

N = 20
COLD = "C9000001"
NEW_PRODUCT = "P09999"


def _load_csv(ws: Workspace, entity: str, text: str, folder: Path) -> None:
    path = folder / f"{entity}-{abs(hash(text))}.csv"
    path.write_text(text)
    load_file(ws.analytical, entity, path, options_for(entity))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, RecommendationBuild]]:
    """A generated shop with one customer and one product that have no interactions, stand-in
    RFM segments, and a build of the default pipeline (top 20, batches of 64 customers)."""
    root = tmp_path_factory.mktemp("serving")
    world = generate_world(WorldSpec(customers=300, products=60, days=150, seed=11),
                           root / "world")
    with Workspace.init(root / "ws") as ws:
        for name in ("products", "customers", "orders", "events"):
            load_file(ws.analytical, name, world.files[name], options_for(name))
        _load_csv(ws, "customers", f"customer_id,email,country,created_at\n{COLD},"
                  "cold@example.com,GB,2024-01-01 00:00:00\n", root)
        _load_csv(ws, "products", "product_id,title,description,category,brand,price,tags\n"
                  f"{NEW_PRODUCT},Kairo Wireless Earbuds Pro,Wireless earbuds with noise "
                  "cancelling and long battery life,Electronics,Kairo,89.00,tech|audio\n", root)
        # Stand-in for `profile build`: only canonical_id and rfm_segment are read.
        ws.analytical.con.execute(
            "CREATE TABLE profiles AS SELECT canonical_id, CASE WHEN canonical_id < 'C0000150' "
            "THEN 'Champions' ELSE 'At risk' END AS rfm_segment FROM v_customers"
        )
        calls: list[tuple[int, int]] = []
        result = build_recommendations(
            analytical=ws.analytical, operational=ws.operational, models_dir=ws.models_dir,
            n=N, batch_size=64, progress=lambda done, total: calls.append((done, total)),
        )
        assert calls[-1] == (result.customers, result.customers) and len(calls) > 1
    yield root / "ws", result


@pytest.fixture
def ws(built: tuple[Path, RecommendationBuild]) -> Iterator[Workspace]:
    with Workspace.open(built[0]) as workspace:
        yield workspace


@pytest.fixture
def serving(ws: Workspace) -> ServingModel:
    return load_serving_model(operational=ws.operational, models_dir=ws.models_dir)


def _opener(ws: Workspace) -> StoreOpener:
    @contextmanager
    def store() -> Iterator[AnalyticalStore]:
        yield ws.analytical

    return store


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_build_writes_n_rows_per_customer_with_reasons(built, ws: Workspace) -> None:
    _, result = built
    rows = ws.analytical.con.execute("SELECT * FROM recommendations").fetch_df()
    per_customer = rows.groupby("canonical_id")["rank"].agg(["count", "min", "max"])
    assert len(per_customer) == result.customers and result.rows == len(rows)
    assert (per_customer["count"] <= N).all() and (per_customer["min"] == 1).all()
    assert (per_customer["max"] == per_customer["count"]).all()  # ranks 1..k, no gaps
    assert (per_customer["count"] == N).mean() > 0.9
    assert rows["reason"].str.len().gt(0).all()
    assert set(rows["reason_code"]) <= {"buy_again", "popular", "popular_group", "trending",
                                        "cooccurrence", "als", "content", "user_knn"}
    assert rows["reason"].str.startswith("bought together with ").any()
    assert (rows["model_version"] == 1).all() and rows["built_at"].nunique() == 1
    (model,) = list_models(ws.operational, kind="recommender")
    assert (model.version, model.status) == (1, "promoted")
    assert COLD not in set(rows["canonical_id"])
    assert result.cold_start_customers == 1


def test_serving_memory_maps_the_build(serving: ServingModel, ws: Workspace) -> None:
    folder = ws.models_dir / "recommender" / "v1"
    for stem in ("als_user_factors", "als_item_factors", "similar_items", "top_items"):
        assert (folder / f"{stem}.npy").is_file()
    assert isinstance(serving.arrays["als_user_factors"], np.memmap)
    assert serving.arrays["top_items"].shape == (len(serving.users), N)
    als = serving.recommender.sources_["als"]
    assert isinstance(als.user_factors_.base, np.memmap)


def test_show_returns_the_precomputed_rows(serving: ServingModel, ws: Workspace) -> None:
    customer = str(serving.users[5])
    table = ws.analytical.rows(
        "SELECT item_id, reason FROM recommendations WHERE canonical_id = ? ORDER BY rank "
        "LIMIT 5", [customer])
    found = recommendations_for(serving, customer, n=5, open_store=_opener(ws))
    assert found.strategy == "precomputed" and found.canonical_id == customer
    assert [(i.item_id, i.reason) for i in found.items] == [
        (r["item_id"], r["reason"]) for r in table
    ]
    email = ws.analytical.scalar("SELECT email FROM v_customers WHERE canonical_id = ?",
                                 [customer])
    by_email = recommendations_for(serving, email.upper(), n=5, open_store=_opener(ws))
    assert by_email.canonical_id == customer and by_email.items == found.items
    # The build knows its customers' emails: answered without opening the store.
    assert serving.identity_of(email.upper()) == customer

    @contextmanager
    def no_store() -> Iterator[AnalyticalStore]:
        raise AssertionError("the store was opened")
        yield  # pragma: no cover

    from_memory = recommendations_for(serving, email, n=5, open_store=no_store)
    assert from_memory.canonical_id == customer and from_memory.items == found.items
    assert serving.identity_of("nobody@example.com") is None


def test_cli_show_and_similar(built, serving: ServingModel) -> None:
    root, _ = built
    customer = str(serving.users[7])
    code, out, err = _run("recommend", "show", customer, "--n", "3", "-w", str(root), "--json")
    assert code == 0, (out, err)
    body = json.loads(out)
    assert body["canonical_id"] == customer and body["count"] == 3
    assert body["model"] == {"name": "recommender", "version": 1}
    assert all(item["name"] and item["reason"] for item in body["data"])
    code, out, _ = _run("recommend", "show", customer, "-w", str(root))
    assert code == 0 and "precomputed" in out and body["data"][0]["item_id"] in out
    code, out, _ = _run("recommend", "similar", NEW_PRODUCT, "--n", "4", "-w", str(root),
                        "--json")
    assert code == 0 and json.loads(out)["count"] == 4
    code, _, err = _run("recommend", "show", customer, "--n", "0", "-w", str(root))
    assert code == 1 and "n=0 must be a whole number from 1 to 100; try 10" in err


def test_similar_items_share_a_category_more_often_than_chance(
    serving: ServingModel,
) -> None:
    category = pd.Series(serving.recommender.data_.catalogue.category,
                         index=serving.items)
    known = category[category != ""]
    chance = float((known.value_counts(normalize=True) ** 2).sum())
    same = [
        category[s.item_id] == category[item]
        for item in known.index
        for s in similar_items(serving, item, n=10).items
    ]
    assert len(same) > 10 * len(known) * 0.9
    assert np.mean(same) > 2 * chance


def test_a_product_nobody_bought_has_content_neighbours(serving: ServingModel) -> None:
    found = similar_items(serving, NEW_PRODUCT, n=10)
    assert found.name == "Kairo Wireless Earbuds Pro" and len(found.items) == 10
    assert {i.reason_code for i in found.items} == {"content"}
    assert found.items[0].reason == "similar to Kairo Wireless Earbuds Pro"
    category = dict(zip(serving.items, serving.recommender.data_.catalogue.category,
                        strict=True))
    assert sum(category[i.item_id] == "Electronics" for i in found.items) >= 7


def test_new_interactions_update_a_customer_without_a_refit(
    serving: ServingModel, ws: Workspace
) -> None:
    customer, other = str(serving.users[11]), str(serving.users[12])
    before = recommendations_for(serving, customer, n=N, open_store=_opener(ws))
    catalogue = serving.recommender.data_.catalogue
    category = dict(zip(serving.items, catalogue.category, strict=True))
    shown = Counter(category[i.item_id] for i in before.items)
    new_category = min(sorted(set(category.values()) - {""}), key=lambda c: shown[c])
    before_ids = {i.item_id for i in before.items}
    bought = [i for i in serving.items if category[i] == new_category and i not in before_ids][:3]
    other_rows = ws.analytical.rows(
        "SELECT * FROM recommendations WHERE canonical_id = ? ORDER BY rank", [other])

    update = update_customer(
        serving=serving, analytical=ws.analytical, customer=customer,
        interactions=[NewInteraction(item) for item in bought] + [NewInteraction("NOPE", "view")],
    )

    after = update.recommendations
    assert after.model_version == before.model_version == 1
    assert [m.version for m in list_models(ws.operational, kind="recommender")] == [1]
    assert update.used == 3 and update.ignored_items == ["NOPE"]
    assert [i.item_id for i in after.items] != [i.item_id for i in before.items]
    assert not set(bought) & {i.item_id for i in after.items}  # bought: excluded

    assert sum(category[i.item_id] == new_category for i in after.items) > shown[new_category]
    names = {serving.name(serving.item_of(item) or 0) for item in bought}
    assert any(any(name in i.reason for name in names) for i in after.items)
    table = ws.analytical.rows(
        "SELECT item_id, model_version FROM recommendations WHERE canonical_id = ? "
        "ORDER BY rank", [customer])
    assert [r["item_id"] for r in table] == [i.item_id for i in after.items]
    assert {r["model_version"] for r in table} == {1}
    assert ws.analytical.rows(
        "SELECT * FROM recommendations WHERE canonical_id = ? ORDER BY rank", [other]
    ) == other_rows
    # Another process serving the build sees the update too (through the update log).
    fresh = load_serving_model(operational=ws.operational, models_dir=ws.models_dir)
    again = recommendations_for(fresh, customer, n=5, open_store=_opener(ws))
    assert again.strategy == "updated" and again.items == after.items[:5]


def test_customers_without_history_get_popular_items(
    built, serving: ServingModel, ws: Workspace
) -> None:
    cold = recommendations_for(serving, COLD, n=5, open_store=_opener(ws))
    assert cold.strategy == "popular" and len(cold.items) == 5
    assert {i.reason for i in cold.items} == {"popular in your segment At risk"}
    assert {i.reason_code for i in cold.items} == {"popular_group"}
    # A customer added after the build, with no profile yet: resolved in the store, overall
    # popularity.
    _load_csv(ws, "customers", "customer_id,email,country,created_at\nC9000002,"
              "late@example.com,GB,2024-06-01 00:00:00\n", built[0].parent)
    late = recommendations_for(serving, "late@example.com", n=3, open_store=_opener(ws))
    assert (late.canonical_id, late.strategy) == ("C9000002", "popular")
    assert [i.reason for i in late.items] == ["bestseller"] * 3
    assert [i.item_id for i in late.items] == [i.item_id for i in serving.popular("", 3)]


def test_bad_input_gets_clear_errors(serving: ServingModel, ws: Workspace, tmp_path) -> None:
    customer = str(serving.users[0])
    for n in (0, 101, -3):
        with pytest.raises(ModelError, match=rf"^n={n} must be a whole number from 1 to 100; "
                           "try 10$"):
            recommendations_for(serving, customer, n=n, open_store=_opener(ws))
    with pytest.raises(NotFoundError, match="^no customer has the identity 'nobody'"):
        recommendations_for(serving, "nobody", open_store=_opener(ws))
    with pytest.raises(NotFoundError, match=r"^no item 'NOPE' in the catalogue of recommender "
                       r"v1 \(61 items\); check the id"):
        similar_items(serving, "NOPE")
    with pytest.raises(ModelError, match="^no new interactions given"):
        update_customer(serving=serving, analytical=ws.analytical, customer=customer,
                        interactions=[])
    with Workspace.init(tmp_path / "empty") as empty, pytest.raises(
        NotFoundError, match=r"^no recommendations have been built in this workspace yet; run "
        "`growthloop recommend build`$"
    ):
        load_serving_model(operational=empty.operational, models_dir=empty.models_dir)


def test_build_can_tune_the_sources_first(tmp_path: Path) -> None:
    world = generate_world(WorldSpec(customers=200, products=40, days=120, seed=3),
                           tmp_path / "world")
    with Workspace.init(tmp_path / "ws") as ws:
        for name in ("products", "customers", "orders", "events"):
            load_file(ws.analytical, name, world.files[name], options_for(name))
    code, out, err = _run("recommend", "build", "--workspace", str(tmp_path / "ws"), "--n", "5",
                          "--sources", "popular,cooccurrence", "--candidates", "12", "--tune",
                          "--json")
    assert code == 0, (out, err)
    payload = json.loads(out)
    assert set(payload["tuned"]) == {"popular", "cooccurrence"}
    assert payload["seconds"]["tune"] > 0
    with Workspace.open(tmp_path / "ws") as ws:
        (model,) = list_models(ws.operational, kind="recommender")
    tuning = model.metrics["tuning"]
    assert tuning["chosen"] == payload["tuned"] and tuning["metric"] == "ndcg@10"
    assert tuning["trials"] == 3 + 4  # popular's half-lives, cooccurrence's context x measure
    assert tuning["validation"]["method"] == "temporal"
    assert model.params["candidates"] == 12
    for name, chosen in payload["tuned"].items():
        assert {k: model.params["source_params"][name][k] for k in chosen} == chosen


def test_templates_call_recommendations_for_the_customer_messaged(
    serving: ServingModel, ws: Workspace
) -> None:
    from jinja2.sandbox import SandboxedEnvironment

    from growthloop.recommend import template_recommendations

    customer = str(serving.users[7])
    expected = recommendations_for(serving, customer, n=3, open_store=_opener(ws)).items
    email = ws.analytical.scalar("SELECT email FROM v_customers WHERE canonical_id = ?",
                                 [customer])
    template = SandboxedEnvironment(autoescape=True).from_string(
        "{% for item in recommendations(3) %}{{ item.rank }}. {{ item.name }} "
        "({{ item.reason }}) [{{ item.item_id }}]\n{% endfor %}"
    )
    text = template.render(
        recommendations=template_recommendations(serving, email, open_store=_opener(ws))
    )
    from markupsafe import escape

    assert text.splitlines() == [
        f"{i.rank}. {escape(i.name)} ({escape(i.reason)}) [{escape(i.item_id)}]"
        for i in expected
    ]
    function = template_recommendations(serving, customer, open_store=_opener(ws))
    assert [item["item_id"] for item in function()] == [i.item_id for i in expected]
    function()[0]["name"] = "changed"  # a template cannot alter what later calls get
    assert function()[0]["name"] == expected[0].name
    with pytest.raises(ModelError, match=r"recommendations\(0\): n=0 must be a whole number"):
        function(0)
    nobody = template_recommendations(serving, "nobody@example.com", open_store=_opener(ws))
    with pytest.raises(NotFoundError):
        nobody(3)


def test_promoting_another_build_rewrites_the_table_from_it(tmp_path: Path) -> None:
    world = generate_world(WorldSpec(customers=150, products=30, days=90, seed=5),
                           tmp_path / "world")
    w = ("--workspace", str(tmp_path / "ws"))
    query = ("SELECT canonical_id, rank, item_id, score, reason_code, reason, model_version "
             "FROM recommendations ORDER BY canonical_id, rank")
    with Workspace.init(tmp_path / "ws") as ws:
        for name in ("products", "customers", "orders", "events"):
            load_file(ws.analytical, name, world.files[name], options_for(name))
    tables = {}
    for version, sources, n in ((1, "popular,cooccurrence", "4"), (2, "popular", "2")):
        code, out, err = _run("recommend", "build", *w, "--n", n, "--sources", sources,
                              "--candidates", "10", "--json")
        assert code == 0, (out, err)
        with Workspace.open(tmp_path / "ws") as ws:
            tables[version] = ws.analytical.con.execute(query).fetch_df()
    assert set(tables[1]["model_version"]) == {1} and set(tables[2]["model_version"]) == {2}
    assert len(tables[1]) == 2 * len(tables[2]) > 0
    code, out, err = _run("models", "rollback", "recommender", *w, "--json")
    assert code == 0, (out, err)
    assert json.loads(out) == {"name": "recommender", "version": 1, "status": "promoted",
                               "recommendation_rows": len(tables[1])}
    with Workspace.open(tmp_path / "ws") as ws:
        pd.testing.assert_frame_equal(ws.analytical.con.execute(query).fetch_df(), tables[1])
    code, out, _ = _run("models", "promote", "recommender", "2", *w, "--json")
    assert json.loads(out)["recommendation_rows"] == len(tables[2])
    with Workspace.open(tmp_path / "ws") as ws:
        pd.testing.assert_frame_equal(ws.analytical.con.execute(query).fetch_df(), tables[2])
    # Promoting what the table already holds writes nothing.
    code, out, _ = _run("models", "promote", "recommender", "2", *w, "--json")
    assert code == 0 and json.loads(out)["recommendation_rows"] == 0


def test_cli_update_reranks_a_customer_and_show_serves_it(built, serving: ServingModel) -> None:
    root, _ = built
    customer = str(serving.users[20])
    before = json.loads(_run("recommend", "show", customer, "--n", "5", "-w", str(root),
                             "--json")[1])
    items = [str(i) for i in serving.items if str(i) not in
             {d["item_id"] for d in before["data"]}][:2]
    code, out, err = _run("recommend", "update", customer, items[0], f"{items[1]}:view", "NOPE",
                          "--n", "5", "-w", str(root), "--json")
    assert code == 0, (out, err)
    body = json.loads(out)
    assert body["canonical_id"] == customer and body["count"] == 5
    assert body["interactions_used"] == 2 and body["ignored_items"] == ["NOPE"]
    assert items[0] not in {d["item_id"] for d in body["data"]}  # bought now: excluded
    shown = json.loads(_run("recommend", "show", customer, "--n", "5", "-w", str(root),
                            "--json")[1])
    assert shown["strategy"] == "updated" and shown["data"] == body["data"]
    code, _, err = _run("recommend", "update", customer, f"{items[0]}:liked", "-w", str(root))
    assert code == 1 and "is not ITEM or ITEM:KIND with KIND one of purchase, cart" in err
    code, _, err = _run("recommend", "update", customer, "NOPE", "-w", str(root))
    assert code == 1 and "is in the catalogue" in err and "recommend build" in err
