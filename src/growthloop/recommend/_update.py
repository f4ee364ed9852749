"""A customer's new interactions update their recommendations without retraining.

Their training history plus the new interactions is ranked through the served build
(:func:`rank_history`: ALS fold-in, co-occurrence and content similarity on the whole history,
re-ranked by the same ranker and rules); the result replaces their rows of the
``recommendations`` table and is logged for every process serving the build. The model version
does not change. Each call starts again from the build's history: pass every interaction the
customer had since the build, not only the latest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from growthloop.customers import find_canonical_id
from growthloop.errors import ModelError
from growthloop.recommend._answers import CustomerRecommendations, segment_of
from growthloop.recommend._fold_in import rank_history
from growthloop.recommend._interactions import Interactions
from growthloop.recommend._serving import Recommendation, ServingModel
from growthloop.recommend._store import InteractionWeights
from growthloop.recommend._table import replace_customer_rows
from growthloop.recommend._updates import append_update
from growthloop.store import AnalyticalStore

__all__ = ["INTERACTION_KINDS", "CustomerUpdate", "NewInteraction", "update_customer"]

Kind = Literal["purchase", "cart", "view", "return"]
#: The interaction kinds, in the order errors name them.
INTERACTION_KINDS: tuple[Kind, ...] = ("purchase", "cart", "view", "return")


@dataclass(frozen=True)
class NewInteraction:
    """Something the customer did with an item since the build (``at``: naive UTC, default
    now)."""

    item_id: str
    kind: Kind = "purchase"
    at: datetime | None = None

    @classmethod
    def parse(cls, item: object, kind: object) -> NewInteraction | None:
        """The interaction if ``item`` is non-blank text and ``kind`` one of
        :data:`INTERACTION_KINDS`, else None (the caller says what its input should be)."""
        chosen = next((k for k in INTERACTION_KINDS if k == kind), None)
        if not isinstance(item, str) or not item.strip() or chosen is None:
            return None
        return cls(item_id=item.strip(), kind=chosen)


@dataclass(frozen=True)
class CustomerUpdate:
    """The customer's new recommendations and the interactions that could not be used."""

    recommendations: CustomerRecommendations
    used: int
    ignored_items: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.recommendations.to_dict(), "interactions_used": self.used,
                "ignored_items": self.ignored_items}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _weight(kind: str, weights: InteractionWeights) -> float:
    by_kind = {"purchase": weights.purchase, "cart": weights.cart, "view": weights.view,
               "return": weights.returned}
    if kind not in by_kind:
        raise ModelError(
            f"interaction kind {kind!r} is not known; use one of {', '.join(INTERACTION_KINDS)}"
        )
    return by_kind[kind]


def _naive_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def update_customer(
    *,
    serving: ServingModel,
    analytical: AnalyticalStore,
    customer: str,
    interactions: Sequence[NewInteraction],
    weights: InteractionWeights | None = None,
    clock: Callable[[], datetime] | None = None,
) -> CustomerUpdate:
    """Re-rank ``customer``'s recommendations with ``interactions`` added to their history
    (see the module docstring); items the build does not know are ignored and listed."""
    if not interactions:
        raise ModelError("no new interactions given; pass at least one (item_id, kind)")
    weights = weights or InteractionWeights()
    now = (clock or _now)()
    canonical = find_canonical_id(analytical, customer)
    position = serving.items.get_indexer([str(i.item_id).strip() for i in interactions])
    ignored = [str(i.item_id) for i, p in zip(interactions, position, strict=True) if p < 0]
    used = [(i, int(p)) for i, p in zip(interactions, position, strict=True) if p >= 0]
    if not used:
        raise ModelError(
            f"none of the items {', '.join(map(repr, ignored[:3]))} is in the catalogue of "
            f"{serving.model.name} v{serving.model.version}; they are newer than the build — "
            "run `growthloop recommend build` to include them"
        )
    row = serving.row_of(canonical)
    history = _history(serving, canonical, row, used, weights, now)
    group = serving.segment_of_row(row) if row is not None else (
        serving.cold_segment(canonical) or segment_of(analytical, canonical)
    )
    chosen = rank_history(
        serving.recommender,
        history,
        n=serving.artifact.n,
        row=row,
        group=group,
        items=serving.item_statistics(),
    )
    rows = pd.DataFrame(
        {
            "canonical_id": canonical,
            "rank": chosen["rank"].to_numpy(np.int64),
            "item_id": serving.items[chosen["item"].to_numpy(np.int64)].to_numpy(dtype=object),
            "score": chosen["score"].to_numpy(np.float64),
            "reason_code": chosen["reason_code"].astype(str).to_numpy(dtype=object),
            "reason": chosen["reason"].astype(str).to_numpy(dtype=object),
        }
    )
    replace_customer_rows(
        analytical, canonical, rows, model_version=serving.model.version, built_at=now
    )
    records = rows.drop(columns="canonical_id").to_dict(orient="records")
    append_update(serving.folder, canonical, records, now)
    serving.updates.refresh()
    items = [
        Recommendation(
            rank=int(r["rank"]),
            item_id=str(r["item_id"]),
            name=serving.name(int(item)),
            score=float(r["score"]),
            reason_code=str(r["reason_code"]),
            reason=str(r["reason"]),
        )
        for r, item in zip(records, chosen["item"].to_numpy(np.int64), strict=True)
    ]
    result = CustomerRecommendations(
        customer=customer,
        canonical_id=canonical,
        strategy="updated",
        model_version=serving.model.version,
        built_at=serving.artifact.built_at,
        items=items,
    )
    return CustomerUpdate(recommendations=result, used=len(used), ignored_items=ignored)


def _history(
    serving: ServingModel,
    canonical: str,
    row: int | None,
    used: list[tuple[NewInteraction, int]],
    weights: InteractionWeights,
    now: datetime,
) -> Interactions:
    """The customer's training entries plus the new ones, as a one-customer log over the
    build's items."""
    train = serving.recommender.data_.interactions
    mine = np.flatnonzero(train.user == row) if row is not None else np.zeros(0, np.int64)
    new_items = np.array([p for _, p in used], dtype=np.int32)
    new_weights = np.array([_weight(i.kind, weights) for i, _ in used], dtype=np.float32)
    new_times = np.array(
        [np.datetime64(_naive_utc(i.at or now), "s") for i, _ in used], dtype="datetime64[s]"
    )
    count = len(mine) + len(used)
    return Interactions(
        user_ids=np.array([canonical], dtype=object),
        item_ids=train.item_ids,
        user=np.zeros(count, dtype=np.int32),
        item=np.concatenate([train.item[mine], new_items]).astype(np.int32),
        weight=np.concatenate([train.weight[mine], new_weights]).astype(np.float32),
        time=np.concatenate([train.time[mine], new_times]).astype("datetime64[s]"),
        basket=np.concatenate([train.basket[mine], np.full(len(used), -1, np.int64)]),
    )
