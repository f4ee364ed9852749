"""Answers of the served build, shared by the API and the CLI: a customer's recommendations and
an item's similar items.

A customer's answer comes, in this order, from their update since the build, their precomputed
top-N, or popularity (in their RFM segment when known, else overall) when they have no history:
cold start. A customer id the build knows is answered from memory; any other identity (an email,
a merged id, a customer added since the build) is resolved in the analytical store first.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from growthloop.customers import find_canonical_id
from growthloop.errors import NotFoundError
from growthloop.recommend._serving import Recommendation, ServingModel, check_n
from growthloop.store import AnalyticalStore

__all__ = [
    "CustomerRecommendations",
    "SimilarItems",
    "StoreOpener",
    "recommendations_for",
    "segment_of",
    "similar_items",
]

#: Opens the analytical store for a lookup the build cannot answer alone.
StoreOpener = Callable[[], AbstractContextManager[AnalyticalStore]]


@dataclass(frozen=True)
class CustomerRecommendations:
    """A customer's recommendations.

    ``strategy`` says where they come from: ``"precomputed"`` (the build), ``"updated"`` (new
    interactions since the build), or ``"popular"`` (no history: popularity, cold start).
    """

    customer: str
    canonical_id: str
    strategy: str
    model_version: int
    built_at: datetime
    items: list[Recommendation]

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer": self.customer,
            "canonical_id": self.canonical_id,
            "strategy": self.strategy,
            "model": {"name": "recommender", "version": self.model_version},
            "built_at": self.built_at.isoformat(),
            "count": len(self.items),
            "data": [item.to_dict() for item in self.items],
        }


@dataclass(frozen=True)
class SimilarItems:
    """The items most similar to one item."""

    item_id: str
    name: str
    model_version: int
    items: list[Recommendation]

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "name": self.name,
            "model": {"name": "recommender", "version": self.model_version},
            "count": len(self.items),
            "data": [item.to_dict() for item in self.items],
        }


def segment_of(store: AnalyticalStore, canonical_id: str) -> str:
    """The customer's RFM segment from the profiles ("" when unknown)."""
    if not store.has_table("profiles"):
        return ""
    segment = store.scalar(
        "SELECT rfm_segment FROM profiles WHERE canonical_id = ? LIMIT 1", [canonical_id]
    )
    return "" if segment is None else str(segment)


def recommendations_for(
    serving: ServingModel, customer: str, *, n: int = 10, open_store: StoreOpener
) -> CustomerRecommendations:
    """The first ``n`` (1 to 100) recommendations of the customer behind ``customer`` (any of
    their identities); NotFoundError when no customer has it."""
    n = check_n(n)
    canonical = customer.strip()
    segment: str | None = None
    if not serving.knows(canonical):
        mapped = serving.identity_of(canonical)
        if mapped is not None and serving.knows(mapped):
            canonical = mapped
    if not serving.knows(canonical):
        with open_store() as store:
            canonical = find_canonical_id(store, canonical)
            if not serving.knows(canonical):
                segment = segment_of(store, canonical)

    def answer(strategy: str, items: list[Recommendation]) -> CustomerRecommendations:
        return CustomerRecommendations(
            customer=customer,
            canonical_id=canonical,
            strategy=strategy,
            model_version=serving.model.version,
            built_at=serving.artifact.built_at,
            items=items,
        )

    updated = serving.updated(canonical, n)
    if updated is not None:
        return answer("updated", updated)
    row = serving.row_of(canonical)
    if row is not None:
        found = serving.precomputed(row, n)
        if found:
            return answer("precomputed", found)
        segment = serving.segment_of_row(row)
    if segment is None:
        segment = serving.cold_segment(canonical) or ""
    return answer("popular", serving.popular(segment, n))


def similar_items(serving: ServingModel, item_id: str, *, n: int = 10) -> SimilarItems:
    """The ``n`` (1 to 100) items most similar to ``item_id``: bought together first, then
    described alike; NotFoundError for an item the build does not know."""
    n = check_n(n)
    item = serving.item_of(item_id.strip())
    if item is None:
        raise NotFoundError(
            f"no item {item_id!r} in the catalogue of {serving.model.name} "
            f"v{serving.model.version} ({len(serving.items):,} items); check the id, or load "
            "the product and run `growthloop recommend build`"
        )
    return SimilarItems(
        item_id=str(serving.items[item]),
        name=serving.name(item),
        model_version=serving.model.version,
        items=serving.similar(item, n),
    )
