"""RFM scores and the named RFM segments.

Scores: each of recency, frequency and monetary value is cut into ``bins`` groups (quintiles by
default) by percentile rank among customers with at least one order, so that tied customers get
the same score: ``score = min(bins, 1 + floor(percent_rank * bins))``. Recency is ranked in
reverse (fewer days since the last order → higher score).

Named segments follow the usual R × F grid (Hughes 1994, *Strategic Database Marketing*; the
grid as popularised in RFM practice), on 1-5 scores:

============================  ===========  ===========
segment                       R score      F score
============================  ===========  ===========
Champions                     5            4-5
Loyal                         3-4          4-5
Potential loyalist            4-5          2-3
New                           5            1
Promising                     4            1
Need attention                3            3
About to sleep                3            1-2
At risk                       1-2          3-4
Can't lose                    1-2          5
Hibernating                   1-2          1-2, except R1 F1
Lost                          1            1
============================  ===========  ===========

With other bin counts the scores are rescaled to 1-5 before the grid is applied.
"""

from __future__ import annotations

from typing import Any

import ibis

__all__ = ["RFM_SEGMENTS", "rfm_expr", "rfm_scores", "rfm_segment_name"]

RFM_SEGMENTS = (
    "Champions", "Loyal", "Potential loyalist", "New", "Promising", "Need attention",
    "About to sleep", "At risk", "Can't lose", "Hibernating", "Lost",
)


def rfm_segment_name(r: int, f: int) -> str:
    """The named segment of 1-5 R and F scores (the grid in the module docstring)."""
    if r == 5 and f >= 4:
        return "Champions"
    if r in (3, 4) and f >= 4:
        return "Loyal"
    if r >= 4 and f in (2, 3):
        return "Potential loyalist"
    if r == 5 and f == 1:
        return "New"
    if r == 4 and f == 1:
        return "Promising"
    if r == 3 and f == 3:
        return "Need attention"
    if r == 3 and f <= 2:
        return "About to sleep"
    if r <= 2 and f == 5:
        return "Can't lose"
    if r <= 2 and f >= 3:
        return "At risk"
    if r == 1 and f == 1:
        return "Lost"
    return "Hibernating"


def _score(column: Any, bins: int, *, reverse: bool = False) -> Any:
    order = ibis.desc(column) if reverse else column
    rank = ibis.percent_rank().over(ibis.window(order_by=order))
    return ibis.least(bins, (rank * bins).floor().cast("int64") + 1)


def rfm_scores(customers: Any, bins: int = 5) -> Any:
    """``(canonical_id, r_score, f_score, m_score, rfm_cell, rfm_segment)`` of the customers
    with orders (``orders > 0``), from their ``recency_days``, ``frequency`` and ``monetary``."""
    if not 2 <= bins <= 10:
        raise ValueError(f"bins must be between 2 and 10, got {bins}")
    buyers = customers.filter(customers.orders > 0)
    scored = buyers.mutate(
        r_score=_score(buyers.recency_days, bins, reverse=True),
        f_score=_score(buyers.frequency, bins),
        m_score=_score(buyers.monetary, bins),
    )
    r5 = ((scored.r_score - 1) * 4 / (bins - 1)).round().cast("int64") + 1
    f5 = ((scored.f_score - 1) * 4 / (bins - 1)).round().cast("int64") + 1
    cases = []
    for r in range(1, 6):
        for f in range(1, 6):
            cases.append(((r5 == r) & (f5 == f), rfm_segment_name(r, f)))
    scored = scored.mutate(
        rfm_cell=scored.r_score.cast("string") + scored.f_score.cast("string")
        + scored.m_score.cast("string"),
        rfm_segment=ibis.cases(*cases),
    )
    return scored.select("canonical_id", "r_score", "f_score", "m_score", "rfm_cell",
                         "rfm_segment")


def rfm_expr(profiles: Any, bins: int = 5) -> Any:
    """Add ``r_score``, ``f_score``, ``m_score``, ``rfm_cell`` and ``rfm_segment`` to customers
    with orders (:func:`rfm_scores`); customers without orders get nulls."""
    scores = rfm_scores(profiles, bins)
    return profiles.left_join(scores, "canonical_id").drop("canonical_id_right")
