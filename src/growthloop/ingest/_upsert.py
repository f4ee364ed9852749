"""Insert-or-update of keyed records (customers, products)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

__all__ = ["upsert"]


def upsert(
    con: duckdb.DuckDBPyConnection, table: str, staged: str, *, key: str, compare: Sequence[str]
) -> tuple[int, int, int]:
    """Insert staged rows with new keys, replace stored rows whose compared fields changed.

    Returns ``(new, updated, unchanged)``.
    """
    changed = " OR ".join(f"s.{c} IS DISTINCT FROM t.{c}" for c in compare)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _upsert_state AS
        SELECT s.{key} AS k,
               CASE WHEN t.{key} IS NULL THEN 'new' WHEN {changed} THEN 'updated'
                    ELSE 'unchanged' END AS state
        FROM {staged} s LEFT JOIN {table} t ON t.{key} = s.{key}"""
    )
    counts = dict(con.execute("SELECT state, count(*) FROM _upsert_state GROUP BY 1").fetchall())
    con.execute(
        f"DELETE FROM {table} WHERE {key} IN (SELECT k FROM _upsert_state WHERE state = 'updated')"
    )
    con.execute(
        f"INSERT INTO {table} SELECT s.* FROM {staged} s JOIN _upsert_state u "
        f"ON u.k = s.{key} WHERE u.state <> 'unchanged'"
    )
    return (
        int(counts.get("new", 0)),
        int(counts.get("updated", 0)),
        int(counts.get("unchanged", 0)),
    )
