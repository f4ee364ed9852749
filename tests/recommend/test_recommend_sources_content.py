"""ContentSimilarity: TF-IDF neighbours over product text reach items nobody has bought."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from growthloop.errors import ModelError
from growthloop.recommend import Catalogue, Interactions, TrainingData
from growthloop.recommend.sources import ContentSimilarity

ITEMS = np.array(["dress", "knife", "shirt", "spoon"], dtype=object)
TEXTS = {
    "dress": "Red cotton summer dress",
    "knife": "Steel kitchen knife",
    "shirt": "Red cotton summer shirt",
    "spoon": "Steel kitchen spoon",
}
# Nobody bought the dress or the spoon yet.
LOG = Interactions.from_frame(
    pd.DataFrame({"user_id": ["ann", "bob"], "item_id": ["shirt", "knife"]}), item_ids=ITEMS
)


def catalogue(texts: list[object]) -> Catalogue:
    return Catalogue(
        text=np.array(texts, dtype=object),
        category=np.full(len(texts), "", dtype=object),
        price=np.full(len(texts), np.nan),
        available=np.ones(len(texts), dtype=bool),
    )


DATA = TrainingData(LOG, catalogue=catalogue([TEXTS[i] for i in ITEMS]))


def test_new_items_reach_buyers_of_similar_items() -> None:
    source = ContentSimilarity().fit(DATA)
    got = source.recommend(np.array([0, 1]), 2, exclude=LOG.matrix())
    assert list(ITEMS[got.item]) == ["dress", "spoon"]
    assert list(ITEMS[got.anchor]) == ["shirt", "knife"]
    assert list(got.user) == [0, 1]  # nothing in common with the other cluster
    assert source.vocabulary_size_ > 8  # words and word pairs


def test_similarity_is_tfidf_cosine() -> None:
    source = ContentSimilarity(max_ngram=1).fit(DATA)
    similarity = source.similarity_.toarray()
    assert similarity == pytest.approx(similarity.T)
    assert np.diag(similarity) == pytest.approx(0.0)
    assert similarity[0, 2] > 0.5 and similarity[0, 1] == 0.0


def test_missing_or_empty_text_is_refused() -> None:
    with pytest.raises(ModelError, match=r"needs one catalogue text per item \(4\), got no "):
        ContentSimilarity().fit(TrainingData(LOG))
    with pytest.raises(ModelError, match=r"got 2 texts"):
        ContentSimilarity().fit(TrainingData(LOG, catalogue=catalogue(["a", "b"])))
    blank = TrainingData(LOG, catalogue=catalogue(["", None, np.nan, " "]))
    with pytest.raises(ModelError, match=r"the catalogue texts give no terms"):
        ContentSimilarity().fit(blank)
