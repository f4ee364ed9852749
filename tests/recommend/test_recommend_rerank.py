"""Re-ranking: each rule changes a hand-made example exactly as worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from growthloop.errors import ModelError
from growthloop.recommend import Catalogue
from growthloop.recommend._rerank import RerankRules, as_candidates, rerank

CATALOGUE = Catalogue(
    text=np.array(["Tea A", "Tea B", "Tea C", "Mug", "Cup", "Cake", "Card", "Spoon"], dtype=object),
    category=np.array(["tea", "tea", "tea", "cup", "cup", "food", "", "cutlery"], dtype=object),
    price=np.array([5.0, 6.0, 7.0, 12.0, 3.0, 20.0, np.nan, 1.0]),
    available=np.array([True, True, True, True, True, False, True, True]),
)
# User 0 bought items 1 and 4, user 1 bought item 3.
BOUGHT = sp.csr_matrix(([1.0, 1.0, 1.0], ([0, 0, 1], [1, 4, 3])), shape=(2, 8))
ALLOW = {"bought": "allow"}


def _ranked() -> pd.DataFrame:
    user0 = {0: 0.9, 1: 0.8, 2: 0.7, 3: 0.6, 4: 0.5, 5: 0.95, 6: 0.4, 7: 0.3}
    user1 = {0: 0.2, 3: 0.9, 7: 0.8}
    rows = [(0, i, s) for i, s in user0.items()] + [(1, i, s) for i, s in user1.items()]
    frame = pd.DataFrame(rows, columns=["user", "item", "score"])
    frame["anchor"] = -1
    return frame.sample(frac=1.0, random_state=0)  # row order must not matter


def _lists(frame: pd.DataFrame) -> dict[int, list[int]]:
    assert (frame.groupby("user")["rank"].apply(list).map(lambda r: r == list(
        range(1, len(r) + 1)))).all()
    return {int(u): group["item"].tolist() for u, group in frame.groupby("user")}


def _top(n: int = 3, **rules) -> dict[int, list[int]]:
    return _lists(rerank(_ranked(), n=n, rules=RerankRules(**rules), catalogue=CATALOGUE,
                         bought=BOUGHT))


def test_default_excludes_bought_and_unavailable_items():
    assert _top() == {0: [0, 2, 3], 1: [7, 0]}


def test_allowing_bought_items_and_unavailable_ones():
    assert _top(**ALLOW) == {0: [0, 1, 2], 1: [3, 7, 0]}
    assert _top(**ALLOW, available_only=False) == {0: [5, 0, 1], 1: [3, 7, 0]}


def test_repeatable_categories_and_items_may_be_bought_again():
    # Tea is repeatable: user 0's tea B comes back, their cup and user 1's mug stay out.
    assert _top(bought="allow_repeatable", repeatable_categories={"tea"}) == {
        0: [0, 1, 2], 1: [7, 0]
    }
    # Item 4 (the cup) is repeatable, tea B is not.
    assert _top(5, bought="allow_repeatable", repeatable_items=[4]) == {
        0: [0, 2, 3, 4, 6], 1: [7, 0]
    }


def test_price_range_drops_items_outside_it_and_items_without_a_price():
    assert _top(**ALLOW, min_price=4.0, max_price=10.0) == {0: [0, 1, 2], 1: [0]}


def test_boosts_multiply_exp_score():
    # exp(0.3 + 0.65) beats exp(0.9): the spoon moves to the top.
    boosted = rerank(_ranked(), n=3, rules=RerankRules(bought="allow",
                     item_boosts={7: math.exp(0.65)}), catalogue=CATALOGUE)
    assert _lists(boosted) == {0: [7, 0, 1], 1: [7, 3, 0]}
    assert boosted.loc[boosted["item"] == 7, "boost"].tolist() == pytest.approx(
        [math.exp(0.65)] * 2
    )
    # Cups boosted by exp(0.35): the mug (0.95) leads, the cup (0.85) passes tea B (0.8).
    cups = _top(4, **ALLOW, category_boosts={"cup": math.exp(0.35)})
    assert cups == {0: [3, 0, 4, 1], 1: [3, 7, 0]}


def test_category_cap_keeps_the_best_of_each_category_and_never_caps_unknown_ones():
    assert _top(4, **ALLOW, max_per_category=1) == {0: [0, 3, 6, 7], 1: [3, 7, 0]}
    assert _top(4, **ALLOW, max_per_category=2) == {0: [0, 1, 3, 4], 1: [3, 7, 0]}


def test_mmr_with_same_category_similarity():
    # Relevance (score - 0.3) / 0.6: items 0..4 -> 1, .83, .67, .5, .33; card .17, spoon 0.
    assert _top(4, **ALLOW, mmr_lambda=1.0) == {0: [0, 1, 2, 3], 1: [3, 7, 0]}
    # lambda .8: after tea A, tea B (.8 * .83 - .2 = .47) beats the mug (.4); then the mug
    # (.4) beats tea C (.33).
    assert _top(4, **ALLOW, mmr_lambda=0.8) == {0: [0, 1, 3, 2], 1: [3, 7, 0]}
    # lambda .5: every repeat of a category costs more than any relevance gap.
    assert _top(4, **ALLOW, mmr_lambda=0.5) == {0: [0, 3, 6, 7], 1: [3, 7, 0]}


def test_mmr_with_a_given_similarity_matrix():
    similarity = sp.csr_matrix(
        ([0.9, 0.9, 0.1, 0.1], ([0, 1, 0, 2], [1, 0, 2, 0])), shape=(8, 8)
    )
    rules = {"bought": "allow", "mmr_lambda": 0.5, "similarity": similarity}
    # After tea A: tea B .42 - .45 < tea C .33 - .05 = .28 > mug .25.
    top = rerank(_ranked(), n=3, rules=RerankRules(**rules), catalogue=CATALOGUE)
    assert _lists(top) == {0: [0, 2, 3], 1: [3, 7, 0]}


def test_result_keeps_the_other_columns_and_converts_to_candidates():
    top = rerank(_ranked(), n=2, rules=RerankRules(**ALLOW))
    assert list(top.columns) == ["user", "item", "score", "anchor", "boost", "rank"]
    candidates = as_candidates(top, source="final")
    assert candidates.source == "final"
    assert candidates.item.tolist() == [5, 0, 3, 7]
    np.testing.assert_allclose(candidates.score, [1.0, 0.5, 1.0, 0.5])


def _mmr_value(j, chosen, items, relevance, category, trade_off):
    same = [category[items[j]] == category[items[c]] != "" for c in chosen]
    return trade_off * relevance[j] - (1 - trade_off) * max(same, default=0)


def _reference_mmr(frame, category, trade_off, n):
    """MMR one user at a time, straight from Carbonell & Goldstein's definition."""
    result = {}
    for user, group in frame.groupby("user"):
        group = group.sort_values("score", ascending=False, kind="stable")
        items, scores = group["item"].to_numpy(), group["score"].to_numpy()
        spread = scores.max() - scores.min()
        relevance = (scores - scores.min()) / spread if spread > 0 else np.ones(len(scores))
        chosen: list[int] = []
        left = list(range(len(items)))
        while left and len(chosen) < n:
            values = [_mmr_value(j, chosen, items, relevance, category, trade_off) for j in left]
            best = left[int(np.argmax(values))]  # ties: the more relevant
            chosen.append(best)
            left.remove(best)
        result[int(user)] = [int(items[j]) for j in chosen]
    return result


def test_vectorised_mmr_and_cap_match_a_per_user_reference():
    rng = np.random.default_rng(7)
    n_items = 40
    category = rng.choice(np.array(["a", "b", "c", "d", ""], dtype=object), n_items)
    catalogue = Catalogue(
        text=np.array([""] * n_items, dtype=object), category=category,
        price=np.ones(n_items), available=np.ones(n_items, dtype=bool),
    )
    parts = []
    for user in range(150):
        items = rng.choice(n_items, int(rng.integers(1, 25)), replace=False)
        parts.append(pd.DataFrame({"user": user, "item": items, "score": rng.random(len(items))}))
    frame = pd.concat(parts, ignore_index=True)
    expected = _reference_mmr(frame, category, 0.7, 6)
    for cells in (4_000_000, 1):  # one chunk, and one user per chunk
        top = rerank(frame, n=6, rules=RerankRules(bought="allow", mmr_lambda=0.7),
                     catalogue=catalogue, chunk_cells=cells)
        assert _lists(top) == expected
    capped = rerank(frame, n=5, rules=RerankRules(bought="allow", max_per_category=2),
                    catalogue=catalogue)
    ordered = frame.sort_values(["user", "score"], ascending=[True, False])
    ordered = ordered.assign(category=category[ordered["item"]])
    within = ordered.groupby(["user", "category"]).cumcount()
    kept = ordered[(within < 2) | (ordered["category"] == "")]
    expected_cap = {int(u): g["item"].head(5).tolist() for u, g in kept.groupby("user")}
    assert _lists(capped) == expected_cap


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"bought": "sometimes"}, "bought='sometimes' is not a policy; use one of 'exclude'"),
        ({"mmr_lambda": 1.5}, r"mmr_lambda=1.5 must be in \[0, 1\]"),
        ({"max_per_category": 0}, "max_per_category=0 must be a whole number >= 1"),
        ({"item_boosts": {3: 0.0}}, "the boost 0.0 of 3 must be a finite number > 0"),
        ({"min_price": 10.0, "max_price": 5.0}, "min_price=10.0 is above max_price=5.0"),
        ({"min_price": -1.0}, "min_price=-1.0 must be a price >= 0"),
        ({"similarity": np.eye(3)}, "similarity must be a square sparse"),
    ],
)
def test_bad_rules_name_value_rule_and_fix(rules, message):
    with pytest.raises(ModelError, match=message):
        RerankRules(**rules)


def test_bad_calls_name_value_rule_and_fix():
    ranked = _ranked()
    with pytest.raises(ModelError, match="n=0 must be a whole number from 1 to 1000"):
        rerank(ranked, n=0, rules=RerankRules(**ALLOW))
    with pytest.raises(ModelError, match="n=1001 must be"):
        rerank(ranked, n=1001, rules=RerankRules(**ALLOW))
    with pytest.raises(ModelError, match="bought=None but the rule bought='exclude' needs"):
        rerank(ranked)
    with pytest.raises(ModelError, match=r"rules \['max_price'\] need item prices"):
        rerank(ranked, rules=RerankRules(bought="allow", max_price=3.0))
    with pytest.raises(ModelError, match=r"categories \['teas'\] in the rules are not in"):
        rerank(ranked, rules=RerankRules(bought="allow", category_boosts={"teas": 2.0}),
               catalogue=CATALOGUE)
    with pytest.raises(ModelError, match=r"lacks the columns \['score'\]"):
        rerank(ranked.drop(columns="score"), rules=RerankRules(**ALLOW))
    with pytest.raises(ModelError, match="item index 9 is outside the catalogue's 8 items"):
        rerank(ranked, rules=RerankRules(bought="allow", item_boosts={9: 2.0}),
               catalogue=CATALOGUE)
