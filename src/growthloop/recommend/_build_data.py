"""What a recommendation build reads from the workspace: the training data over every product,
product titles, and the customers without history.

The item vocabulary is every item with an interaction plus every product in the catalogue, so
a product nobody has bought yet can still be recommended and have similar items (through its
text).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from growthloop.recommend._candidates import TrainingData
from growthloop.recommend._interactions import Interactions
from growthloop.recommend._service import profile_groups
from growthloop.recommend._store import catalogue_from_store, interactions_from_store
from growthloop.store import AnalyticalStore

__all__ = ["BuildData", "read_build_data"]


class BuildData:
    """The training data of a build and the facts serving needs besides it.

    Attributes
    ----------
    data
        Interactions over every item and product, the catalogue, and each customer's segment.
    item_names
        A display name per item: the product title, else the item id.
    cold_ids, cold_groups
        Customers in the store with no interaction, and their segment ("" unknown).
    identities
        Each email address and phone number of a customer -> the customer's canonical id.
    """

    def __init__(
        self,
        data: TrainingData,
        item_names: npt.NDArray[np.object_],
        cold_ids: npt.NDArray[np.object_],
        cold_groups: npt.NDArray[np.object_],
        identities: dict[str, str] | None = None,
    ) -> None:
        self.data = data
        self.item_names = item_names
        self.cold_ids = cold_ids
        self.cold_groups = cold_groups
        self.identities = identities or {}


def read_build_data(store: AnalyticalStore) -> BuildData:
    """Read everything a build learns from (see the module docstring)."""
    titles = _titles(store)
    interactions = _with_items(interactions_from_store(store), titles.index.to_numpy(object))
    names = titles.reindex(interactions.item_ids.astype(str)).to_numpy(dtype=object)
    missing = pd.isna(names) | (names == "")
    names[missing] = interactions.item_ids[missing]
    catalogue = catalogue_from_store(store, interactions.item_ids)
    groups = profile_groups(store, interactions.user_ids)
    cold_ids, cold_groups = _cold_customers(store, interactions.user_ids)
    return BuildData(
        data=TrainingData(interactions=interactions, catalogue=catalogue, groups=groups),
        item_names=names.astype(object),
        cold_ids=cold_ids,
        cold_groups=cold_groups,
        identities=_contact_identities(store),
    )


def _contact_identities(store: AnalyticalStore) -> dict[str, str]:
    """Email address or phone number -> canonical id (a value shared by several customers,
    which identity resolution normally merges, is left to the store to answer)."""
    rows = store.con.execute(
        "SELECT value, min(canonical_id) FROM identities WHERE kind IN ('email', 'phone') "
        "AND canonical_id IS NOT NULL GROUP BY value HAVING count(DISTINCT canonical_id) = 1"
    ).fetchall()
    return {str(value): str(canonical) for value, canonical in rows}


def _titles(store: AnalyticalStore) -> pd.Series:
    """Product id -> its latest title, for every product."""
    frame = store.con.execute(
        "SELECT product_id, arg_max(title, updated_at) AS title FROM products "
        "WHERE product_id IS NOT NULL GROUP BY product_id ORDER BY product_id"
    ).fetch_df()
    return pd.Series(
        frame["title"].fillna("").astype(str).str.strip().to_numpy(dtype=object),
        index=pd.Index(frame["product_id"].astype(str)),
    )


def _with_items(interactions: Interactions, product_ids: npt.NDArray[np.object_]) -> Interactions:
    """``interactions`` re-indexed over its items and ``product_ids`` (sorted, as ids are)."""
    vocabulary = np.union1d(interactions.item_ids.astype(str), product_ids.astype(str))
    if len(vocabulary) == interactions.n_items:
        return interactions
    position = pd.Index(vocabulary).get_indexer(interactions.item_ids.astype(str))
    return Interactions(
        user_ids=interactions.user_ids,
        item_ids=vocabulary.astype(object),
        user=interactions.user,
        item=position[interactions.item].astype(np.int32),
        weight=interactions.weight,
        time=interactions.time,
        basket=interactions.basket,
    )


def _cold_customers(
    store: AnalyticalStore, user_ids: npt.NDArray[np.object_]
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
    """Canonical customers with no interaction, and their RFM segment ("" unknown)."""
    frame = store.con.execute(
        "SELECT DISTINCT canonical_id FROM v_customers WHERE canonical_id IS NOT NULL "
        "ORDER BY canonical_id"
    ).fetch_df()
    ids = frame["canonical_id"].astype(str)
    ids = ids[~ids.isin(pd.Index(user_ids.astype(str)))].to_numpy(dtype=object)
    groups = profile_groups(store, ids)
    if groups is None:
        groups = np.full(len(ids), "", dtype=object)
    return ids, np.asarray(groups, dtype=object)
