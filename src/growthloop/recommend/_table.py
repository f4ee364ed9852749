"""The ``recommendations`` table: every customer's precomputed top-N, readable with SQL.

A build writes its rows into a staging table batch by batch and swaps them in at the end, in
one transaction, so readers see the previous build or the new one, never a mix. An update
replaces one customer's rows.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from growthloop.store import AnalyticalStore

__all__ = ["ROW_COLUMNS", "TABLE", "StagedRows", "customer_rows", "replace_customer_rows"]

TABLE = "recommendations"
_STAGING = "recommendations_staging"

#: The columns a batch of rows carries (the build adds ``model_version`` and ``built_at``).
ROW_COLUMNS = ("canonical_id", "rank", "item_id", "score", "reason_code", "reason")


class StagedRows:
    """Rows of a build in progress, appended batch by batch; :meth:`publish` swaps them in."""

    def __init__(self, store: AnalyticalStore) -> None:
        self.store = store
        self.rows = 0
        store.con.execute(
            f"CREATE OR REPLACE TABLE {_STAGING} AS "
            f"SELECT {', '.join(ROW_COLUMNS)} FROM {TABLE} WHERE false"
        )

    def append(self, batch: pd.DataFrame) -> None:
        """Add a batch (a frame with :data:`ROW_COLUMNS`)."""
        con = self.store.con
        con.register("_recommendation_batch", batch[list(ROW_COLUMNS)])
        try:
            con.execute(f"INSERT INTO {_STAGING} SELECT * FROM _recommendation_batch")
        finally:
            con.unregister("_recommendation_batch")
        self.rows += len(batch)

    def publish(self, *, model_version: int, built_at: datetime) -> None:
        """Replace every row of the table with the staged ones, in one transaction."""
        with self.store.transaction() as con:
            con.execute(f"DELETE FROM {TABLE}")
            con.execute(
                f"INSERT INTO {TABLE} SELECT {', '.join(ROW_COLUMNS)}, ?, ? FROM {_STAGING} "
                "ORDER BY canonical_id, rank",
                [model_version, built_at],
            )
            con.execute(f"DROP TABLE {_STAGING}")

    def discard(self) -> None:
        """Drop the staged rows (the build failed)."""
        self.store.con.execute(f"DROP TABLE IF EXISTS {_STAGING}")


def replace_customer_rows(
    store: AnalyticalStore,
    canonical_id: str,
    rows: pd.DataFrame,
    *,
    model_version: int,
    built_at: datetime,
) -> None:
    """Replace one customer's rows (``rows`` has :data:`ROW_COLUMNS`) in one transaction."""
    con = store.con
    con.register("_recommendation_rows", rows[list(ROW_COLUMNS)])
    try:
        with store.transaction():
            con.execute(f"DELETE FROM {TABLE} WHERE canonical_id = ?", [canonical_id])
            con.execute(
                f"INSERT INTO {TABLE} SELECT {', '.join(ROW_COLUMNS)}, ?, ? "
                "FROM _recommendation_rows ORDER BY rank",
                [model_version, built_at],
            )
    finally:
        con.unregister("_recommendation_rows")


def customer_rows(store: AnalyticalStore, canonical_id: str) -> pd.DataFrame:
    """One customer's rows, best first."""
    return store.con.execute(
        f"SELECT * FROM {TABLE} WHERE canonical_id = ? ORDER BY rank", [canonical_id]
    ).fetch_df()
