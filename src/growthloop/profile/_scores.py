"""Model scores as profile columns, so rule segments can use them like any other trait.

Scoring (``growthloop score churn``) writes one row per customer and model into the analytical
table ``scores``; each row names the profile column it belongs in (``churn_risk``,
``purchase_propensity``, ...). :func:`attach_scores` adds those columns to ``profiles`` (NULL
for customers without a score), replacing earlier ones. A profile build re-attaches the latest
scores, so a rebuilt profile keeps them; snapshots built into other tables (for training) never
get scores. A model may write several columns (CLV writes ``clv``, ``p_alive``, ...); a column
whose name ends in ``_date`` is attached as a DATE, its score being a number of days after the
row's ``as_of`` (``next_order_date``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from growthloop.store import AnalyticalStore

__all__ = ["SCORES_TABLE", "attach_scores", "replace_scores"]

SCORES_TABLE = "scores"
_CREATE = f"""
CREATE TABLE IF NOT EXISTS {SCORES_TABLE} (
    canonical_id VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    scored_at TIMESTAMP NOT NULL,
    as_of TIMESTAMP NOT NULL,
    profile_column VARCHAR NOT NULL,
    reasons VARCHAR[]
)
"""


def replace_scores(
    store: AnalyticalStore,
    rows: Any,
    *,
    model: str,
    version: int,
    kind: str,
    scored_at: datetime,
    as_of: datetime,
    columns: str,
    params: list[Any] | None = None,
) -> None:
    """Replace ``model``'s rows of ``scores`` with ``rows`` (a data frame with
    ``canonical_id``), in one transaction. ``columns`` is the SQL, over ``rows``, of the
    score, the profile column and the reasons (``params`` fills its placeholders)."""
    con = store.con
    con.execute(_CREATE)
    con.register("_new_scores", rows)
    try:
        with store.transaction():
            con.execute(f"DELETE FROM {SCORES_TABLE} WHERE model = ?", [model])
            con.execute(
                f"INSERT INTO {SCORES_TABLE} (canonical_id, model, version, kind, scored_at, "
                f"as_of, score, profile_column, reasons) "
                f"SELECT canonical_id, ?, ?, ?, ?, ?, {columns} FROM _new_scores",
                [model, version, kind, scored_at, as_of, *(params or [])],
            )
    finally:
        con.unregister("_new_scores")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def attach_scores(store: AnalyticalStore, *, table: str = "profiles") -> list[str]:
    """Add (or refresh) one column per scored model on ``table``; return the column names."""
    if not store.has_table(SCORES_TABLE) or not store.has_table(table):
        return []
    attached = [
        str(r[0])
        for r in store.con.execute(
            f"SELECT DISTINCT profile_column FROM {SCORES_TABLE} ORDER BY 1"
        ).fetchall()
    ]
    existing = [str(r[0]) for r in store.con.execute(f"DESCRIBE {table}").fetchall()]
    kept = ", ".join(f"p.{_quoted(c)}" for c in existing if c not in attached)
    joins, selects, params = [], [], []
    for i, column in enumerate(attached):
        joins.append(
            f"LEFT JOIN (SELECT canonical_id, score, as_of FROM {SCORES_TABLE} "
            f"WHERE profile_column = ?) s{i} USING (canonical_id)"
        )
        value = f"s{i}.score"
        if column.endswith("_date"):
            value = f"CAST(s{i}.as_of + to_days(CAST(floor({value}) AS INTEGER)) AS DATE)"
        selects.append(f"{value} AS {_quoted(column)}")
        params.append(column)
    with store.transaction() as con:
        con.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT {', '.join([kept, *selects])} "
            f"FROM {table} p {' '.join(joins)}",
            params,
        )
    return attached
