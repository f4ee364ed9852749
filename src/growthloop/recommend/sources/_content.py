"""Items described alike: TF-IDF cosine similarity over the catalogue's product text."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from growthloop.errors import ModelError
from growthloop.recommend._candidates import TrainingData
from growthloop.recommend.sources._base import Constraint, Interval
from growthloop.recommend.sources._item_based import ItemBasedSource
from growthloop.recommend.sources._neighbours import top_k_neighbours

__all__ = ["ContentSimilarity"]


class ContentSimilarity(ItemBasedSource):
    """Item-to-item recommendations from product text, which also reach items nobody bought yet.

    Each item's ``Catalogue.text`` (name, description, tags) becomes a TF-IDF vector of word
    n-grams with sublinear term frequency (``1 + log tf``) and L2 norm (Salton & Buckley 1988,
    "Term-weighting approaches in automatic text retrieval"); two items' similarity is the cosine
    of their vectors, and each item keeps its ``n_neighbours`` most similar items. A user's score
    for ``j`` is ``sum_i w(u, i) * s(i, j)`` over their history, as in item-based collaborative
    filtering (Sarwar et al. 2001), so new items with no interactions are recommended to those
    who bought similar ones (cold start for items). The anchor is the most similar history item.

    Parameters
    ----------
    max_ngram
        Longest word n-gram (1 = single words).
    min_df
        Fewest items a term must occur in.
    n_neighbours
        Neighbours kept per item.
    half_life_days
        Half-life of the history weights ``w(u, i)``; None for no decay.

    Attributes
    ----------
    vocabulary_size_
        Number of terms in the TF-IDF vocabulary.
    """

    name = "content"
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        **ItemBasedSource._parameter_constraints,
        "max_ngram": [Interval(int, 1, None)],
        "min_df": [Interval(int, 1, None)],
    }

    vocabulary_size_: int

    def __init__(
        self,
        *,
        max_ngram: int = 2,
        min_df: int = 1,
        n_neighbours: int = 50,
        half_life_days: float | None = None,
    ) -> None:
        self.max_ngram = max_ngram
        self.min_df = min_df
        self.n_neighbours = n_neighbours
        self.half_life_days = half_life_days

    def _similarity(self, data: TrainingData) -> sp.csr_matrix:
        catalogue = data.catalogue
        if catalogue is None or len(catalogue.text) != self.n_items_:
            got = "no catalogue" if catalogue is None else f"{len(catalogue.text)} texts"
            raise ModelError(
                f"ContentSimilarity needs one catalogue text per item ({self.n_items_}), got "
                f"{got}; pass TrainingData(catalogue=...) aligned with the item_ids"
            )
        texts = ["" if not isinstance(t, str) else t for t in catalogue.text]
        vectorizer = TfidfVectorizer(
            ngram_range=(1, self.max_ngram),
            sublinear_tf=True,
            min_df=self.min_df,
            strip_accents="unicode",
            dtype=np.float32,
        )
        try:
            vectors = sp.csr_matrix(vectorizer.fit_transform(texts))
        except ValueError as exc:
            raise ModelError(
                f"the catalogue texts give no terms ({exc}); give items names or descriptions, "
                f"or lower min_df={self.min_df}"
            ) from None
        self.vocabulary_size_ = len(vectorizer.vocabulary_)
        return top_k_neighbours(vectors, vectors.T.tocsr(), self.n_neighbours)
