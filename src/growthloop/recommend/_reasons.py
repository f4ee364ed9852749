"""Why an item is recommended, in words: from the source that proposed it best and its anchor.

=================================  ===============================================================
code (source)                      sentence
=================================  ===============================================================
``cooccurrence``                   "bought together with {anchor}"
``buy_again``                      "you bought it before, usually rebought every ~{N} days" (with a
                                   known repurchase cycle), else "you bought it before"
``popular_group``                  "popular in your segment {group}" (no group: "bestseller")
``trending``                       "popular now"
``popular``                        "bestseller"
``content``                        "similar to {anchor}"
``user_knn``, ``als``, ``bpr``     "customers like you bought it"
=================================  ===============================================================

``{anchor}`` is the anchor item's name (:func:`item_name`); without an anchor, co-occurrence
reads "often bought with what you bought" and content "similar to items you liked". Any other
source reads "recommended for you".
"""

from __future__ import annotations

import math
import re

import numpy as np
import numpy.typing as npt
import pandas as pd

from growthloop.errors import ModelError
from growthloop.recommend._candidates import Catalogue

__all__ = ["ANCHORED_SOURCES", "NAME_LENGTH", "explain", "item_name", "reason_sentence"]

#: The longest item name a reason quotes, in characters.
NAME_LENGTH = 40

_FIXED = {
    "trending": "popular now",
    "popular": "bestseller",
    "user_knn": "customers like you bought it",
    "als": "customers like you bought it",
    "bpr": "customers like you bought it",
}
_ANCHORED = {
    "cooccurrence": ("bought together with ", "often bought with what you bought"),
    "content": ("similar to ", "similar to items you liked"),
}
#: The sources whose sentence names the anchor item.
ANCHORED_SOURCES = frozenset(_ANCHORED)
_BOUGHT_BEFORE = "you bought it before"
_DEFAULT = "recommended for you"


def item_name(text: object) -> str:
    """The first non-empty line of ``text``, spaces collapsed, cut to :data:`NAME_LENGTH`.

    >>> item_name("  White hanging   heart\\nT-light holder, cream")
    'White hanging heart'
    >>> item_name("A" * 50)
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA…'
    """
    if not isinstance(text, str):
        return ""
    lines = (" ".join(line.split()) for line in re.split(r"[\r\n]+", text))
    first = next((line for line in lines if line), "")
    return first if len(first) <= NAME_LENGTH else first[: NAME_LENGTH - 1].rstrip() + "…"


def reason_sentence(
    source: str,
    *,
    anchor_name: str | None = None,
    group: str | None = None,
    cycle_days: float | None = None,
) -> str:
    """The sentence for one recommendation proposed best by ``source`` (see the module table).

    >>> reason_sentence("cooccurrence", anchor_name="Tea cup")
    'bought together with Tea cup'
    >>> reason_sentence("buy_again", cycle_days=13.6)
    'you bought it before, usually rebought every ~14 days'
    """
    if source in _FIXED:
        return _FIXED[source]
    if source in _ANCHORED:
        prefix, fallback = _ANCHORED[source]
        return prefix + anchor_name if anchor_name else fallback
    if source == "buy_again":
        return _BOUGHT_BEFORE + _cycle_clause(cycle_days)
    if source == "popular_group":
        return f"popular in your segment {group}" if _known(group) else "bestseller"
    return _DEFAULT


def explain(
    recommendations: pd.DataFrame,
    *,
    catalogue: Catalogue | None = None,
    item_ids: npt.NDArray[np.object_] | None = None,
    groups: npt.NDArray[np.object_] | None = None,
    cycle_days: npt.NDArray[np.float64] | None = None,
) -> pd.DataFrame:
    """``recommendations`` with ``reason_code`` (the source) and ``reason`` (the sentence).

    Parameters
    ----------
    recommendations
        Rows with ``user``, ``item``, ``source`` and ``anchor`` (as :func:`rerank` returns them).
    catalogue
        Item names come from ``Catalogue.text`` (:func:`item_name`).
    item_ids
        Names for anchors when there is no catalogue (or its text is empty).
    groups
        Each user row's segment, for ``popular_group`` (None or "" where unknown).
    cycle_days
        Each item's typical repurchase interval in days (NaN where unknown), for
        ``buy_again``: for example ``BuyAgain.cycle_days_``.
    """
    missing = [c for c in ("user", "item", "source", "anchor") if c not in recommendations]
    if missing:
        raise ModelError(
            f"recommendations lack the columns {missing}; pass rows from candidate_features "
            "and rerank, which carry the best source and its anchor"
        )
    source = recommendations["source"].astype(str).to_numpy(dtype=object)
    user = recommendations["user"].to_numpy(np.int64)
    item = recommendations["item"].to_numpy(np.int64)
    anchor = recommendations["anchor"].to_numpy(np.int64)
    _check_lengths(user, item, anchor, catalogue, item_ids, groups, cycle_days)
    reason = np.full(len(source), _DEFAULT, dtype=object)
    for code in pd.unique(source):
        rows = np.flatnonzero(source == code)
        if code in _FIXED:
            reason[rows] = _FIXED[code]
        elif code in _ANCHORED:
            reason[rows] = _anchored(code, anchor[rows], catalogue, item_ids)
        elif code == "buy_again":
            reason[rows] = _buy_again(item[rows], cycle_days)
        elif code == "popular_group":
            reason[rows] = _group_sentences(user[rows], groups)
    result = recommendations.copy()
    result["reason_code"] = source
    result["reason"] = reason
    return result


def _known(group: object) -> bool:
    if group is None or (isinstance(group, float) and math.isnan(group)):
        return False
    return str(group) != ""


def _cycle_clause(cycle_days: float | None) -> str:
    if cycle_days is None or not math.isfinite(cycle_days) or cycle_days <= 0:
        return ""
    days = max(1, round(cycle_days))
    return f", usually rebought every ~{days} day{'s' if days != 1 else ''}"


def _check_lengths(
    user: npt.NDArray[np.int64],
    item: npt.NDArray[np.int64],
    anchor: npt.NDArray[np.int64],
    catalogue: Catalogue | None,
    item_ids: npt.NDArray[np.object_] | None,
    groups: npt.NDArray[np.object_] | None,
    cycle_days: npt.NDArray[np.float64] | None,
) -> None:
    checks = [
        ("catalogue", None if catalogue is None else len(catalogue.text), max(item.max(
            initial=-1), anchor.max(initial=-1)), "item"),
        ("item_ids", None if item_ids is None else len(item_ids), anchor.max(initial=-1),
         "item"),
        ("cycle_days", None if cycle_days is None else len(cycle_days), item.max(initial=-1),
         "item"),
        ("groups", None if groups is None else len(groups), user.max(initial=-1), "user"),
    ]
    for name, size, largest, kind in checks:
        if size is not None and largest >= size:
            raise ModelError(
                f"{name} has {size} entries but the recommendations refer to {kind} "
                f"{int(largest)}; pass one entry per training {kind}"
            )


def _names(
    anchors: npt.NDArray[np.int64],
    catalogue: Catalogue | None,
    item_ids: npt.NDArray[np.object_] | None,
) -> dict[int, str]:
    """A display name for each distinct anchor."""
    names: dict[int, str] = {}
    for anchor in np.unique(anchors[anchors >= 0]).tolist():
        name = item_name(catalogue.text[anchor]) if catalogue is not None else ""
        if not name and item_ids is not None:
            name = item_name(str(item_ids[anchor]))
        names[anchor] = name or f"item {anchor}"
    return names


def _anchored(
    code: str,
    anchor: npt.NDArray[np.int64],
    catalogue: Catalogue | None,
    item_ids: npt.NDArray[np.object_] | None,
) -> npt.NDArray[np.object_]:
    prefix, fallback = _ANCHORED[code]
    names = _names(anchor, catalogue, item_ids)
    sentences = np.full(len(anchor), fallback, dtype=object)
    known = anchor >= 0
    named = pd.Series(anchor[known]).map(names)
    sentences[known] = (prefix + named).to_numpy(dtype=object)
    return sentences


def _buy_again(
    item: npt.NDArray[np.int64], cycle_days: npt.NDArray[np.float64] | None
) -> npt.NDArray[np.object_]:
    if cycle_days is None:
        return np.full(len(item), _BOUGHT_BEFORE, dtype=object)
    cycles = np.asarray(cycle_days, dtype=np.float64)
    distinct = np.unique(item)
    clause = {int(i): _BOUGHT_BEFORE + _cycle_clause(float(cycles[i])) for i in distinct}
    sentences: npt.NDArray[np.object_] = pd.Series(item).map(clause).to_numpy(dtype=object)
    return sentences


def _group_sentences(
    user: npt.NDArray[np.int64], groups: npt.NDArray[np.object_] | None
) -> npt.NDArray[np.object_]:
    if groups is None:
        return np.full(len(user), "bestseller", dtype=object)
    labels = pd.Series(np.asarray(groups, dtype=object)[user], dtype=object)
    sentence = {
        group: reason_sentence("popular_group", group=group) for group in pd.unique(labels)
    }
    sentences: npt.NDArray[np.object_] = labels.map(sentence).to_numpy(dtype=object)
    return sentences
