"""Every recall source: the contract (errors, n, exclude, users with no history) and two clusters.

Sixteen users in two clusters: ``a-*`` users buy three of the items ``a0..a4``, ``b-*`` users
three of ``b0..b4``; item texts differ by cluster. A personal source asked for two items outside
a user's history must stay inside the user's cluster (only two such items are left).
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone

import growthloop.recommend.sources as sources
from growthloop.errors import ModelError, NotFittedError
from growthloop.recommend import Catalogue, Interactions, TrainingData
from growthloop.recommend.sources import SOURCE_NAMES, default_sources, make_source

POPULARITY = {"popular", "popular_group", "trending"}
#: Small enough for sixteen users: two factors for two clusters.
TINY = {
    "als": {"factors": 2},
    "bpr": {"factors": 4, "learning_rate": 0.05, "iterations": 100},
}


def cluster_data() -> TrainingData:
    rng = np.random.default_rng(7)
    rows = []
    start = pd.Timestamp("2024-01-01")
    for letter in "ab":
        for u in range(8):
            user = f"{letter}-user{u}"
            for day, k in enumerate(sorted(rng.choice(5, size=3, replace=False))):
                when = start + pd.Timedelta(days=int(day + u))
                rows.append((user, f"{letter}{k}", f"{user}-basket", when, 1.0))
    # Bought and returned: no history left.
    rows.append(("lonely", "a0", "lonely-1", start + pd.Timedelta(days=3), 1.0))
    rows.append(("lonely", "a0", "lonely-2", start + pd.Timedelta(days=4), -1.0))
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "basket", "time", "weight"])
    log = Interactions.from_frame(
        frame, weight_col="weight", time_col="time", basket_col="basket"
    )
    texts = {"a": "red cotton summer shirt", "b": "blue ceramic coffee mug"}
    catalogue = Catalogue(
        text=np.array([texts[i[0]] for i in log.item_ids], dtype=object),
        category=np.array([i[0] for i in log.item_ids], dtype=object),
        price=np.ones(log.n_items),
        available=np.ones(log.n_items, dtype=bool),
    )
    groups = np.array([u[0] for u in log.user_ids], dtype=object)
    return TrainingData(log, catalogue=catalogue, groups=groups)


DATA = cluster_data()
HISTORY = DATA.interactions.matrix()
USERS = np.arange(DATA.interactions.n_users, dtype=np.int32)
LONELY = int(np.flatnonzero(DATA.interactions.user_ids == "lonely")[0])


@pytest.fixture(scope="module")
def fitted() -> dict[str, sources.SourceBase]:
    return {name: make_source(name, **TINY.get(name, {})).fit(DATA) for name in SOURCE_NAMES}


def test_all_is_sorted_and_complete() -> None:
    assert sources.__all__ == sorted(sources.__all__)
    public = {
        name for name, value in vars(sources).items()
        if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
    }
    assert public | {"SOURCE_NAMES"} == set(sources.__all__)


def test_registry_names_every_source_once() -> None:
    made = default_sources()
    assert tuple(made) == SOURCE_NAMES == (
        "buy_again", "popular", "popular_group", "trending", "cooccurrence", "als", "bpr",
        "content", "user_knn",
    )
    assert all(source.name == name for name, source in made.items())
    assert made["als"] is not default_sources()["als"]
    with pytest.raises(ModelError, match=r"'svd' is not a recall source; use one of buy_again"):
        make_source("svd")


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_unfitted_source_raises_not_fitted(name: str) -> None:
    with pytest.raises(NotFittedError, match="instance is not fitted yet. Call 'fit'"):
        make_source(name).recommend(USERS, 5)


@pytest.mark.parametrize("name", SOURCE_NAMES)
@pytest.mark.parametrize("n", [0, -3])
def test_n_below_one_raises(fitted: dict[str, sources.SourceBase], name: str, n: int) -> None:
    with pytest.raises(ModelError, match=rf"n={n} must be a positive number of items"):
        fitted[name].recommend(USERS, n)


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_unknown_user_and_bad_mask_raise(fitted: dict[str, sources.SourceBase], name: str) -> None:
    with pytest.raises(ModelError, match=r"user row 17 is not one of the 17 users"):
        fitted[name].recommend(np.array([0, 17]), 3)
    with pytest.raises(ModelError, match=r"exclude must be a sparse users x items matrix"):
        fitted[name].recommend(USERS, 3, exclude=HISTORY[:3])


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_at_most_n_items_best_first_in_asked_order(
    fitted: dict[str, sources.SourceBase], name: str
) -> None:
    asked = USERS[::-1].copy()
    got = fitted[name].recommend(asked, 3)
    assert got.source == name
    assert got.user.dtype == np.int32 and got.item.dtype == np.int32
    assert got.score.dtype == np.float32 and got.anchor.dtype == np.int32
    # Grouped by user in the order asked, at most n each, no item twice, best first.
    order = {int(u): i for i, u in enumerate(asked)}
    positions = [order[int(u)] for u in got.user]
    assert positions == sorted(positions)
    for user in np.unique(got.user):
        mine = got.user == user
        assert mine.sum() <= 3
        assert len(set(got.item[mine])) == mine.sum()
        assert np.all(np.diff(got.score[mine]) <= 0)


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_excluded_items_never_come_back(fitted: dict[str, sources.SourceBase], name: str) -> None:
    never_bought = sp.csr_matrix(([1.0], ([0], [9])), shape=HISTORY.shape)  # user 0, b4
    exclude = sp.csr_matrix(HISTORY + never_bought)
    got = fitted[name].recommend(USERS, 10, exclude=exclude)
    assert not any(exclude[u, i] for u, i in zip(got.user, got.item, strict=True))
    if name == "buy_again":
        assert len(got) == 0  # everything they bought is excluded


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_users_without_history(fitted: dict[str, sources.SourceBase], name: str) -> None:
    got = fitted[name].recommend(np.array([LONELY]), 4)
    if name in POPULARITY:
        assert len(got) == 4 and set(got.user) == {LONELY}
    else:
        assert len(got) == 0


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_huge_n_returns_what_there_is(fitted: dict[str, sources.SourceBase], name: str) -> None:
    got = fitted[name].recommend(np.array([0]), 10**9)
    assert 0 < len(got) <= DATA.interactions.n_items


@pytest.mark.parametrize("name", ["cooccurrence", "als", "bpr", "content", "user_knn"])
def test_personal_sources_stay_in_the_users_cluster(
    fitted: dict[str, sources.SourceBase], name: str
) -> None:
    got = fitted[name].recommend(USERS, 2, exclude=HISTORY)
    user_ids, item_ids = DATA.interactions.user_ids, DATA.interactions.item_ids
    assert len(got) > 0
    assert all(user_ids[u][0] == item_ids[i][0] for u, i in zip(got.user, got.item, strict=True))


@pytest.mark.parametrize("name", ["cooccurrence", "content", "als"])
def test_anchor_is_a_history_item_of_the_user(
    fitted: dict[str, sources.SourceBase], name: str
) -> None:
    got = fitted[name].recommend(USERS, 2, exclude=HISTORY)
    assert (got.anchor >= 0).any()
    anchored = got.anchor >= 0
    assert np.asarray(HISTORY[got.user[anchored], got.anchor[anchored]]).all()


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_params_clone_and_validation(name: str) -> None:
    source = make_source(name)
    copy = clone(source)
    assert copy is not source and copy.get_params() == source.get_params()
    assert repr(source).startswith(type(source).__name__ + "(")
    with pytest.raises(ModelError, match=r"'bogus' is not a hyperparameter"):
        source.set_params(bogus=1)
    first = sorted(source.get_params())[0]
    source.set_params(**{first: "nonsense"})
    with pytest.raises(ModelError, match=rf"\({first}='nonsense'\) is invalid: {first} must be"):
        source.fit(DATA)


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_fit_refuses_interactions_without_purchases(name: str) -> None:
    only_returns = DATA.interactions.subset(DATA.interactions.weight < 0)
    with pytest.raises(ModelError, match=r"none with a positive weight"):
        make_source(name).fit(TrainingData(only_returns, catalogue=DATA.catalogue))


def test_exclude_accepts_any_sparse_format(fitted: dict[str, sources.SourceBase]) -> None:
    as_coo = sp.coo_matrix(HISTORY)
    got = fitted["als"].recommend(USERS, 2, exclude=as_coo)
    assert not np.asarray(HISTORY[got.user, got.item]).any()


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_anchors_can_be_left_out_and_asked_for_afterwards(
    fitted: dict[str, sources.SourceBase], name: str
) -> None:
    """The pipeline recalls without anchors and explains only what it chooses."""
    full = fitted[name].recommend(USERS, 4)
    bare = fitted[name].recommend(USERS, 4, anchors=False)
    for field in ("user", "item", "score"):
        np.testing.assert_array_equal(getattr(bare, field), getattr(full, field))
    if name != "buy_again":  # its anchor is the item itself, free to give
        assert (bare.anchor == -1).all()
    later = fitted[name].anchor_of(full.user.astype(np.int64), full.item.astype(np.int64))
    assert later.dtype == np.int32
    np.testing.assert_array_equal(later, full.anchor)
