"""Reasons in words: one expected sentence per source, anchor names from the catalogue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from growthloop.errors import ModelError
from growthloop.recommend import Catalogue
from growthloop.recommend._reasons import explain, item_name, reason_sentence

CATALOGUE = Catalogue(
    text=np.array(
        [
            "Green tea\nLoose leaf, 100 g",
            "  Porcelain   mug  ",
            "A very long product name that goes on and on past forty characters",
            "",
        ],
        dtype=object,
    ),
    category=np.array(["tea", "cup", "misc", ""], dtype=object),
    price=np.ones(4),
    available=np.ones(4, dtype=bool),
)


def test_item_names_are_the_first_line_cut_to_forty_characters():
    assert item_name(CATALOGUE.text[0]) == "Green tea"
    assert item_name(CATALOGUE.text[1]) == "Porcelain mug"
    long = item_name(CATALOGUE.text[2])
    assert long == "A very long product name that goes on a…"
    assert len(long) == 40
    assert item_name("\n\n  second line first") == "second line first"
    assert item_name(None) == ""


@pytest.mark.parametrize(
    ("source", "kwargs", "sentence"),
    [
        ("cooccurrence", {"anchor_name": "Green tea"}, "bought together with Green tea"),
        ("cooccurrence", {}, "often bought with what you bought"),
        (
            "buy_again",
            {"cycle_days": 29.6},
            "you bought it before, usually rebought every ~30 days",
        ),
        ("buy_again", {"cycle_days": 0.8}, "you bought it before, usually rebought every ~1 day"),
        ("buy_again", {"cycle_days": float("nan")}, "you bought it before"),
        ("buy_again", {}, "you bought it before"),
        ("popular_group", {"group": "Champions"}, "popular in your segment Champions"),
        ("popular_group", {"group": ""}, "bestseller"),
        ("trending", {}, "popular now"),
        ("popular", {}, "bestseller"),
        ("content", {"anchor_name": "Porcelain mug"}, "similar to Porcelain mug"),
        ("content", {}, "similar to items you liked"),
        ("user_knn", {}, "customers like you bought it"),
        ("als", {}, "customers like you bought it"),
        ("bpr", {}, "customers like you bought it"),
        ("something_new", {}, "recommended for you"),
    ],
)
def test_each_source_has_its_sentence(source, kwargs, sentence):
    assert reason_sentence(source, **kwargs) == sentence


def test_explain_adds_a_code_and_a_sentence_per_row():
    recommendations = pd.DataFrame(
        {
            "user": [0, 0, 1, 1, 1, 2, 0],
            "item": [1, 0, 0, 2, 1, 2, 2],
            "source": pd.Categorical(
                ["cooccurrence", "buy_again", "buy_again", "popular_group", "content",
                 "popular_group", "cooccurrence"]
            ),
            "anchor": [0, 0, 0, -1, 2, -1, 3],
            "rank": [1, 2, 1, 2, 3, 1, 3],
        }
    )
    explained = explain(
        recommendations,
        catalogue=CATALOGUE,
        item_ids=np.array(["T1", "M1", "L1", "G1"], dtype=object),
        groups=np.array(["Loyal", "At risk", None], dtype=object),
        cycle_days=np.array([13.7, np.nan, np.nan, np.nan]),
    )
    assert explained["reason_code"].tolist() == recommendations["source"].astype(str).tolist()
    assert explained["reason"].tolist() == [
        "bought together with Green tea",
        "you bought it before, usually rebought every ~14 days",
        "you bought it before, usually rebought every ~14 days",
        "popular in your segment At risk",
        "similar to A very long product name that goes on a…",
        "bestseller",
        "bought together with G1",  # no text in the catalogue: the item id
    ]
    assert explained["rank"].tolist() == recommendations["rank"].tolist()


def test_explain_without_catalogue_names_items_by_index():
    recommendations = pd.DataFrame(
        {"user": [0], "item": [1], "source": ["content"], "anchor": [3]}
    )
    assert explain(recommendations)["reason"].tolist() == ["similar to item 3"]


def test_bad_input_names_value_rule_and_fix():
    with pytest.raises(ModelError, match=r"lack the columns \['anchor'\]"):
        explain(pd.DataFrame({"user": [0], "item": [0], "source": ["popular"]}))
    frame = pd.DataFrame({"user": [5], "item": [0], "source": ["popular_group"], "anchor": [-1]})
    with pytest.raises(ModelError, match="groups has 2 entries but the recommendations refer "
                                         "to user 5; pass one entry per training user"):
        explain(frame, groups=np.array(["a", "b"], dtype=object))
