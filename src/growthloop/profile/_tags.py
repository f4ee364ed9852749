"""Interest tags: the categories a customer buys and browses most, point in time.

Each category's score is the customer's share of spend on it plus 0.3 times their share of
product views of it, normalised so that a customer's scores sum to one. The tags are the (at most
three) categories scoring at least 0.2, best first; equal scores are ordered by name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from growthloop.profile._events import browse_categories

__all__ = ["interest_tags"]

_TAG_MIN_SCORE = 0.2
_TAG_MAX = 3
_BROWSE_WEIGHT = 0.3
# Ascending order of this key is "score descending (NaN, the largest, first), then name".
_RANK = dt.Struct({"not_nan": dt.boolean, "score": dt.float64, "category": dt.string})


@ibis.udf.agg.builtin(  # type: ignore[untyped-decorator]
    name="arg_min", signature=((dt.string, _RANK, dt.int64), dt.Array(dt.string))
)
def _smallest(arg: Any, key: Any, n: int) -> Any:
    """DuckDB's ``arg_min(arg, key, n)``: ``arg`` of the ``n`` smallest ``key``, in order."""


def interest_tags(db: Any, as_of: datetime, categories: Any, bought: Any) -> Any:
    """``(canonical_id, interest_tags)`` of customers with at least one tag.

    ``categories`` is a table ``(product_id, category, ...)``; ``bought`` is
    :func:`~growthloop.profile._orders.category_spend`.
    """
    spend = bought.select("canonical_id", "category", "share").mutate(weight=ibis.literal(1.0))
    browsed = browse_categories(db, as_of, categories).mutate(weight=ibis.literal(_BROWSE_WEIGHT))
    both = spend.union(browsed)
    scored = both.group_by(["canonical_id", "category"]).aggregate(
        score=(both.share * both.weight).sum()
    )
    total = scored.group_by("canonical_id").aggregate(total=scored.score.sum())
    normed = scored.join(total, "canonical_id").mutate(score=scored.score / total.total)
    # Scores high enough come first in the ranking, so the best few of them are the tags: a
    # top-n aggregate keeps them without sorting every customer's categories.
    top = normed.filter(normed.score >= _TAG_MIN_SCORE)
    rank = ibis.struct(
        {"not_nan": ~top.score.isnan(), "score": -top.score, "category": top.category}
    )
    return top.group_by("canonical_id").aggregate(
        interest_tags=_smallest(top.category, rank, _TAG_MAX)
    )
