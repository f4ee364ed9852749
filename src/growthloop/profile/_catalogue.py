"""Categories and tags for products that have none, learned from the catalogue's own text.

The Online Retail catalogue, like many exports, has only free-text descriptions. Products without
a category are grouped by their text: TF-IDF vectors of title and description (English stop
words, colours, sizes and pack words removed; terms in at least two products) clustered with
k-means (Lloyd; scikit-learn), k about sqrt(n / 2) between 5 and 40. Each cluster is named by
its two heaviest centroid terms ("bag / lunch"); each product is tagged with its three
heaviest terms. The result is stored in
``product_categories`` and used wherever a product's category is missing. It is recomputed only
when the uncategorised products' text (or the seed) changed since the last run: a fingerprint of
the input is kept in ``product_categories_state``.
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import Any

import numpy as np
import pyarrow as pa

from growthloop.store import AnalyticalStore

__all__ = ["derive_categories", "product_categories"]

log = logging.getLogger(__name__)
_TABLE = "product_categories"
_STATE = "product_categories_state"
# Words that describe a variant, not what the product is: colours, sizes, pack words.
_VARIANT_WORDS = frozenset(
    """
    red blue green pink white black yellow orange purple ivory cream gold silver grey gray brown
    pastel polkadot spotty retrospot small large big mini medium jumbo set sets pack assorted
    colour colours design designs tin box boxes vintage new
""".split()
)


def product_categories(db: Any) -> Any:
    """The derived categories table ``(product_id, derived_category, derived_tags)``."""
    return db.table(_TABLE)


def _fingerprint(rows: list[Any], seed: int) -> str:
    digest = hashlib.sha256(str(seed).encode())
    for product_id, text in rows:
        digest.update(f"{product_id}\x1f{text}\x1e".encode())
    return digest.hexdigest()


def derive_categories(store: AnalyticalStore, *, seed: int = 0) -> int:
    """(Re)compute categories for uncategorised products; return how many have one.

    Nothing is recomputed when the input is the same as at the last run.
    """
    con = store.con
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {_TABLE} (product_id VARCHAR, derived_category VARCHAR, "
        "derived_tags VARCHAR[])"
    )
    con.execute(f"CREATE TABLE IF NOT EXISTS {_STATE} (fingerprint VARCHAR NOT NULL)")
    rows = con.execute(
        "SELECT product_id, concat_ws(' ', title, description) FROM products "
        "WHERE category IS NULL AND coalesce(title, description) IS NOT NULL ORDER BY product_id"
    ).fetchall()
    fingerprint = _fingerprint(rows, seed)
    if con.execute(f"SELECT count(*) FROM {_STATE} WHERE fingerprint = ?",
                   [fingerprint]).fetchall()[0][0]:
        return int(con.execute(f"SELECT count(*) FROM {_TABLE}").fetchall()[0][0])
    con.execute(f"DELETE FROM {_STATE}")
    con.execute(f"INSERT INTO {_STATE} VALUES (?)", [fingerprint])
    con.execute(f"DELETE FROM {_TABLE}")
    if len(rows) < 10:
        return 0
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    ids = [r[0] for r in rows]
    texts = [str(r[1]).lower() for r in rows]
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    vectorizer = TfidfVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS | _VARIANT_WORDS),
        min_df=2,
        max_df=0.5,
        token_pattern=r"(?u)\b[a-z][a-z]{2,}\b",
    )
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # no term in two products
        return 0
    terms = np.asarray(vectorizer.get_feature_names_out())
    k = int(min(40, max(5, round(math.sqrt(len(ids) / 2)))))
    k = min(k, matrix.shape[0])
    model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(matrix)
    names = [" / ".join(terms[np.argsort(center)[::-1][:2]]) for center in model.cluster_centers_]
    dense_top = []
    for i in range(matrix.shape[0]):
        row = matrix.getrow(i)
        order = np.argsort(row.data)[::-1][:3]
        dense_top.append([str(terms[row.indices[j]]) for j in order])
    table = pa.table(
        {
            "product_id": pa.array(ids, pa.string()),
            "derived_category": pa.array([names[c] for c in model.labels_], pa.string()),
            "derived_tags": pa.array(dense_top, pa.list_(pa.string())),
        }
    )
    store.con.register("_derived_arrow", table)
    store.con.execute(f"INSERT INTO {_TABLE} SELECT * FROM _derived_arrow")
    store.con.unregister("_derived_arrow")
    log.info("derived %d categories for %d products", k, len(ids))
    return len(ids)
