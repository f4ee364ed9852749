"""Insert-or-update of keyed records (customers, products)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from growthloop.ingest._source import RawSource

__all__ = ["keyed_counts", "upsert"]


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


def keyed_counts(
    con: duckdb.DuckDBPyConnection, checked: str, raw: RawSource, outcome: tuple[int, int, int]
) -> dict[str, int]:
    """The summary counts of a keyed load (customers, products) whose checked rows are in
    ``checked`` (columns ``reason`` and ``newest``, the row's rank among rows with its key)."""
    new, updated, unchanged = outcome
    rejected, duplicates = con.execute(
        f"SELECT count(*) FILTER (WHERE reason IS NOT NULL), "
        f"count(*) FILTER (WHERE reason IS NULL AND newest > 1) FROM {checked}"
    ).fetchall()[0]
    return {
        "rows_read": raw.rows + len(raw.parse_rejects),
        "rejected": int(rejected) + len(raw.parse_rejects),
        "duplicates": int(duplicates),
        "new": new,
        "updated": updated,
        "unchanged": unchanged,
        "already_loaded": unchanged,
        "loaded": new + updated,
    }
