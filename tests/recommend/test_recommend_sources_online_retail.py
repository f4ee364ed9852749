"""Online Retail (UCI): co-occurrence and ALS beat global popularity on a 30-day hold-out.

Training: every line of a known customer up to 30 days before the last invoice (returns count
-1, purchases +1); test: what each training customer bought in the last 30 days. Hit rate@10 is
the share of test customers with at least one test purchase among their ten recommendations.
Measured 2026-11 with the default hyperparameters (chosen on the 30 days before, never on these):
popularity 0.627, co-occurrence 0.655, ALS 0.787 (1382 customers); with already-bought items
excluded 0.374, 0.381 and 0.399.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from growthloop.recommend import Candidates, Interactions, TrainingData
from growthloop.recommend.sources import ALS, ItemCooccurrence, Popularity

pytestmark = pytest.mark.datasets


def hit_rate(candidates: Candidates, truth: sp.csr_matrix, users: np.ndarray) -> float:
    hit = np.asarray(truth[candidates.user, candidates.item]).ravel() > 0
    return float(np.isin(users, candidates.user[hit]).mean())


def test_cooccurrence_and_als_beat_popularity(datasets: Path) -> None:
    frame = pd.read_csv(
        datasets / "online_retail" / "Online_Retail.csv.gz",
        usecols=["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "CustomerID"],
        dtype={"InvoiceNo": str, "StockCode": str},
        encoding="latin-1",
    ).dropna(subset=["CustomerID"])
    frame["CustomerID"] = frame["CustomerID"].astype("int64")
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    frame["weight"] = np.sign(frame["Quantity"])
    cut = frame["InvoiceDate"].max() - pd.Timedelta(days=30)
    columns = {"user_col": "CustomerID", "item_col": "StockCode"}
    train = Interactions.from_frame(
        frame[frame["InvoiceDate"] <= cut],
        weight_col="weight", time_col="InvoiceDate", basket_col="InvoiceNo", **columns,
    )
    later = frame[(frame["InvoiceDate"] > cut) & (frame["weight"] > 0)]
    test = Interactions.from_frame(
        later, user_ids=train.user_ids, item_ids=train.item_ids, **columns
    )
    truth = test.matrix()
    users = np.flatnonzero(np.diff(truth.indptr) > 0)
    assert (train.n_users, train.n_items, len(users)) == (4106, 3644, 1382)

    data = TrainingData(train)
    bought = train.matrix()
    rates = {}
    for source in (Popularity(), ItemCooccurrence(), ALS()):
        source.fit(data)
        rates[source.name] = (
            hit_rate(source.recommend(users, 10), truth, users),
            hit_rate(source.recommend(users, 10, exclude=bought), truth, users),
        )
    assert rates["popular"] == pytest.approx((0.627, 0.374), abs=0.005)
    assert rates["cooccurrence"][0] > rates["popular"][0]
    assert rates["als"][0] > rates["popular"][0] + 0.1
    assert rates["als"][1] > rates["popular"][1]
