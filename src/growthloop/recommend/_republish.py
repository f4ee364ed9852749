"""The ``recommendations`` table brought back in line with the promoted build.

A build writes the table when it is made; promoting another version (``growthloop models
promote recommender N``, ``models rollback recommender``) rewrites it from that version's
arrays and the customer updates logged with it, so SQL readers and exports see what the API
serves. Nothing is written when the table already holds the promoted version.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from growthloop.recommend._serving import ServingModel
from growthloop.recommend._table import TABLE, StagedRows
from growthloop.store import AnalyticalStore

__all__ = ["republish"]

#: Customers written per staged batch.
_BATCH = 100_000


def republish(store: AnalyticalStore, serving: ServingModel, *, force: bool = False) -> int:
    """Rewrite the table from ``serving`` (the promoted build) unless it already holds that
    version (``force`` rewrites anyway). Returns the rows written (0 when nothing changed)."""
    version = serving.model.version
    if not force and store.has_table(TABLE):
        current = store.scalar(f"SELECT max(model_version) FROM {TABLE}")
        if current is not None and int(current) == version:
            return 0
    serving.updates.refresh()
    updated = serving.updates.customers
    codes = np.array([code for code, _ in serving.artifact.reasons] or [""], dtype=object)
    sentences = np.array([text for _, text in serving.artifact.reasons] or [""], dtype=object)
    staged = StagedRows(store)
    try:
        top = serving.arrays["top_items"]
        for first in range(0, top.shape[0], _BATCH):
            items = np.asarray(top[first : first + _BATCH])
            user, slot = np.nonzero(items >= 0)
            reasons = np.asarray(serving.arrays["top_reasons"][first : first + _BATCH])[
                user, slot
            ]
            frame = pd.DataFrame({
                "canonical_id": np.asarray(serving.users)[first + user],
                "rank": slot + 1,
                "item_id": np.asarray(serving.items)[items[user, slot]],
                "score": np.asarray(
                    serving.arrays["top_scores"][first : first + _BATCH], dtype=np.float64
                )[user, slot],
                "reason_code": codes[reasons],
                "reason": sentences[reasons],
            })
            staged.append(frame[~frame["canonical_id"].isin(updated)])
        if updated:
            staged.append(pd.DataFrame([
                {"canonical_id": customer, **row}
                for customer, (_, rows) in updated.items()
                for row in rows
            ]))
        staged.publish(model_version=version, built_at=serving.artifact.built_at)
    except BaseException:
        staged.discard()
        raise
    return staged.rows
