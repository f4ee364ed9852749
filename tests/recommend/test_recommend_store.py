"""Interactions and the catalogue from the store: exact entries on a hand-made shop, counts that
match the tables on a generated world and on Online Retail, and nothing from after ``as_of``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from growthloop import Workspace
from growthloop.errors import ModelError
from growthloop.generate import WorldSpec, generate_world
from growthloop.ingest import load_file, options_for
from growthloop.recommend import Interactions
from growthloop.recommend._split import temporal_split
from growthloop.recommend._store import (
    InteractionWeights,
    catalogue_from_store,
    interactions_from_store,
    order_line_entries,
)

PRODUCTS = """product_id,title,description,category,brand,price,tags
P1,Mug,Stoneware mug,Kitchen,Acme,10.00,mug|kitchen
P2,Lamp,,Lighting,Glow,30.00,
P3,Vase,Glass vase,,,15.00,
"""
CUSTOMERS = """customer_id,email,country,created_at
C1,c1@example.com,GB,2023-12-01 00:00:00
C2,c2@example.com,GB,2023-12-01 00:00:00
"""
ORDERS = """order_id,customer_id,product_id,quantity,unit_price,ordered_at
O1,C1,P1,2,10.00,2024-01-01 10:00:00
O1,C1,P2,1,30.00,2024-01-01 10:00:00
O2,C2,P2,1,30.00,2024-01-03 12:00:00
O3,,P1,1,10.00,2024-01-04 12:00:00
R1,C1,P1,-1,10.00,2024-01-05 09:00:00
O4,C2,P1,1,10.00,2024-02-01 12:00:00
"""


def _event(i: int, name: str, ts: str, user: str | None = None, anonymous: str | None = None,
           **props: object) -> str:
    event: dict[str, object] = {"type": "track", "messageId": f"e{i}", "event": name,
                                "timestamp": ts, "properties": props}
    event |= {"userId": user} if user else {"anonymousId": anonymous}
    return json.dumps(event)


EVENTS = [
    _event(1, "Product Viewed", "2024-01-02T20:00:00Z", "C1", product_id="P3"),
    _event(2, "Product Added", "2024-01-02T20:05:00Z", "C1", product_id="P3"),
    _event(3, "Product Viewed", "2024-01-03T08:00:00Z", "C1", product_id="P3"),
    _event(4, "Product Viewed", "2024-01-02T10:00:00Z", anonymous="a-1", product_id="P2"),
    _event(5, "Email Sent", "2024-01-03T09:00:00Z", "C2", campaign_id="CMP1"),
    _event(6, "Product Viewed", "2024-01-04T09:00:00Z", "C2", product_id="P9"),
    _event(7, "Product Viewed", "2024-01-04T10:00:00Z", "C1"),  # no product: left out
    _event(8, "Product Viewed", "2024-02-02T09:00:00Z", "C2", product_id="P1"),
]


@pytest.fixture
def shop(workspace: Workspace, tmp_path: Path) -> Workspace:
    for entity, text in (("products", PRODUCTS), ("customers", CUSTOMERS), ("orders", ORDERS)):
        path = tmp_path / f"{entity}.csv"
        path.write_text(text)
        load_file(workspace.analytical, entity, path, options_for(entity))
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(EVENTS) + "\n")
    load_file(workspace.analytical, "events", events, options_for("events"))
    return workspace


def _entries(log: Interactions) -> list[tuple[str, str, str, float, int]]:
    return [
        (str(t), str(log.user_ids[u]), str(log.item_ids[i]), round(float(w), 3), int(b))
        for t, u, i, w, b in zip(log.time, log.user, log.item, log.weight, log.basket,
                                 strict=True)
    ]


def test_purchases_returns_carts_and_views_with_their_weights(shop: Workspace) -> None:
    log = interactions_from_store(shop.analytical)
    assert log.user_ids.tolist() == ["C1", "C2"]
    assert log.item_ids.tolist() == ["P1", "P2", "P3", "P9"]
    assert _entries(log) == [
        ("2024-01-01T10:00:00", "C1", "P1", 1.0, 0),  # order O1
        ("2024-01-01T10:00:00", "C1", "P2", 1.0, 0),
        ("2024-01-02T20:00:00", "C1", "P3", 0.1, 1),  # C1's visit on Jan 2: view, cart
        ("2024-01-02T20:05:00", "C1", "P3", 0.3, 1),
        ("2024-01-03T08:00:00", "C1", "P3", 0.1, 2),
        ("2024-01-03T12:00:00", "C2", "P2", 1.0, 3),
        ("2024-01-04T09:00:00", "C2", "P9", 0.1, 4),  # a product the catalogue lacks
        ("2024-01-05T09:00:00", "C1", "P1", -1.0, 5),  # the mug returned
        ("2024-02-01T12:00:00", "C2", "P1", 1.0, 6),
        ("2024-02-02T09:00:00", "C2", "P1", 0.1, 7),
    ]  # the guest order, the email and the anonymous view are not there
    # The returned mug cancels C1's purchase of it.
    np.testing.assert_allclose(log.matrix().toarray(), [[0, 1, 0.5, 0], [1.1, 1, 0, 0.1]],
                               rtol=1e-6)


def test_order_lines_are_told_from_carts_and_views(shop: Workspace) -> None:
    log = interactions_from_store(shop.analytical)
    assert order_line_entries(log).tolist() == [
        True, True, False, False, False, True, False, True, True, False]
    with pytest.raises(ModelError, match="order lines and events share the weight 1.0"):
        order_line_entries(log, InteractionWeights(cart=1.0))


def test_only_data_before_as_of(shop: Workspace) -> None:
    log = interactions_from_store(shop.analytical, as_of=datetime(2024, 1, 5, 9, 0))
    assert len(log) == 7 and str(log.latest()) == "2024-01-04T09:00:00"
    with pytest.raises(ModelError) as error:
        interactions_from_store(shop.analytical, as_of=datetime(2023, 1, 1))
    assert str(error.value) == (
        "the store has no purchases, cart-adds or views before 2023-01-01T00:00:00; load "
        "orders or events first (growthloop load), or choose a later as_of"
    )


def test_weights_are_configurable(shop: Workspace) -> None:
    weights = InteractionWeights(purchase=2.0, view=0.0, cart=0.5, returned=0.0)
    log = interactions_from_store(shop.analytical, weights=weights, include_anonymous=True)
    assert sorted({(str(log.user_ids[u]), float(w)) for u, w in zip(log.user, log.weight,
                                                                     strict=True)}) == [
        ("C1", 0.5), ("C1", 2.0), ("C2", 2.0)]  # no views, no returns
    with_views = interactions_from_store(shop.analytical, include_anonymous=True)
    assert with_views.user_ids.tolist() == ["C1", "C2", "anon:a-1"]
    for kwargs, message in (
        ({"view": -0.1}, "interaction weight view=-0.1 must be a finite number >= 0; pass for "
                         "example 0.1"),
        ({"returned": 1.0}, "interaction weight returned=1.0 must be a finite number <= 0; pass "
                            "for example -1.0"),
        ({"purchase": float("nan")}, "interaction weight purchase=nan must be a finite number "
                                     "> 0; pass for example 1.0"),
        ({"cart_events": ("Product Viewed",)}, "event 'Product Viewed' is both a cart event and "
                                               "a view event; name it in one list"),
    ):
        with pytest.raises(ModelError) as error:
            InteractionWeights(**kwargs)
        assert str(error.value) == message


def test_catalogue_is_aligned_with_the_items(shop: Workspace) -> None:
    store = shop.analytical
    items = np.array(["P9", "P3", "P1", "P2"], dtype=object)
    plain = catalogue_from_store(store, items)
    assert plain.text.tolist() == ["", "Vase\nGlass vase", "Mug\nStoneware mug Kitchen Acme mug "
                                   "kitchen", "Lamp\nLighting Glow"]
    assert plain.category.tolist() == ["", "", "Kitchen", "Lighting"]
    assert np.isnan(plain.price[0]) and plain.price[1:].tolist() == [15.0, 10.0, 30.0]
    assert plain.available.tolist() == [False, True, True, True]
    # A profile build derives categories for uncategorised products; they fill the gaps.
    store.con.execute("CREATE TABLE product_categories (product_id VARCHAR, "
                      "derived_category VARCHAR, derived_tags VARCHAR[])")
    store.con.execute("INSERT INTO product_categories VALUES ('P3', 'glass / vase', "
                      "['glass', 'vase'])")
    derived = catalogue_from_store(store, items)
    assert derived.category.tolist() == ["", "glass / vase", "Kitchen", "Lighting"]
    assert derived.text[1] == "Vase\nGlass vase glass / vase glass vase"


def test_a_generated_world_matches_its_tables(workspace: Workspace, tmp_path: Path) -> None:
    world = generate_world(WorldSpec(customers=300, products=40, days=60, seed=3),
                           tmp_path / "world")
    store = workspace.analytical
    for entity in ("products", "customers", "orders", "events"):
        load_file(store, entity, world.files[entity], options_for(entity))
    log = interactions_from_store(store)
    lines = store.rows(
        "SELECT line_kind, count(*) AS n FROM order_lines WHERE canonical_id IS NOT NULL "
        "AND line_kind IN ('sale', 'return') GROUP BY 1"
    )
    events = store.rows(
        "SELECT event, count(*) AS n FROM events WHERE event IN ('Product Viewed', "
        "'Product Added') AND NOT canonical_id LIKE 'anon:%' GROUP BY 1"
    )
    count = {r["line_kind"]: r["n"] for r in lines} | {r["event"]: r["n"] for r in events}
    assert len(log) == sum(count.values())
    assert log.weight.sum() == pytest.approx(
        count["sale"] - count.get("return", 0) + 0.3 * count["Product Added"]
        + 0.1 * count["Product Viewed"], rel=1e-5)
    assert set(log.user_ids) <= {r["canonical_id"] for r in store.rows(
        "SELECT canonical_id FROM v_customers")}
    catalogue = catalogue_from_store(store, log.item_ids)
    products = {r["product_id"]: r for r in store.rows("SELECT * FROM products")}
    assert catalogue.category.tolist() == [products[i]["category"] for i in log.item_ids]
    assert catalogue.available.all()
    # As of the middle of the window: nothing later, and a split of it works.
    middle = datetime(2024, 1, 31)
    before = interactions_from_store(store, as_of=middle)
    latest = before.latest()
    assert latest is not None and latest < np.datetime64(middle) and len(before) < len(log)
    split = temporal_split(log, test_days=14)
    assert len(split.test) > 0 and split.train.n_users <= log.n_users


@pytest.mark.datasets
def test_online_retail_interactions(datasets: Path, tmp_path: Path) -> None:
    """Online Retail loaded with its preset: sale and return lines of known customers, postage
    and fees left out; the last 30 days are the acceptance test period."""
    path = datasets / "online_retail" / "Online_Retail.csv.gz"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    with Workspace.init(tmp_path / "ws") as ws:
        load_file(ws.analytical, "orders", path, options_for("orders", preset="online-retail"))
        log = interactions_from_store(ws.analytical)
        catalogue = catalogue_from_store(ws.analytical, log.item_ids)
    # 391,187 sale and 8,506 return lines of known customers (duplicates dropped by the load).
    assert (log.n_users, log.n_items, len(log)) == (4_363, 3_677, 399_693)
    assert int((log.weight < 0).sum()) == 8_506
    assert "POST" not in set(log.item_ids)
    assert catalogue.available.sum() == 3_663  # items only ever returned are not in products
    split = temporal_split(log, test_days=30)
    assert str(split.cutoff) == "2011-11-09T12:50:00"
    assert len(np.unique(split.test.user)) == 1_426
    assert (split.dropped_users, split.dropped_items) == (266, 40)
