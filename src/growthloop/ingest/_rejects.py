"""Writing rejected rows and cleared values to the ``rejects`` table."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from growthloop.ingest._source import ParseReject

__all__ = ["insert_parse_rejects", "reason_case", "reasons"]


def insert_parse_rejects(
    con: duckdb.DuckDBPyConnection,
    rejects: Sequence[ParseReject],
    *,
    load_id: str,
    entity: str,
    source: str,
) -> None:
    """Store the records the reader could not split into columns."""
    if not rejects:
        return
    con.executemany(
        "INSERT INTO rejects VALUES (?, ?, ?, ?, NULL, ?, ?, ?, 'row_rejected')",
        [[load_id, entity, source, r.line, r.value, r.reason, r.message] for r in rejects],
    )


def reason_case(rules: Sequence[tuple[str, str, str, str, str]]) -> tuple[str, str, str, str]:
    """CASE expressions for the first failing rule of each row.

    Each rule is ``(condition, reason, column, value_expr, message_expr)``; returns the SQL for
    the reason, column, value and message.
    """
    reason = "CASE " + " ".join(f"WHEN {c} THEN '{r}'" for c, r, _, _, _ in rules) + " END"
    column = "CASE " + " ".join(f"WHEN {c} THEN '{col}'" for c, _, col, _, _ in rules) + " END"
    value = "CASE " + " ".join(f"WHEN {c} THEN left({v}, 200)" for c, _, _, v, _ in rules) + " END"
    message = "CASE " + " ".join(f"WHEN {c} THEN {m}" for c, _, _, _, m in rules) + " END"
    return reason, column, value, message


def reasons(con: duckdb.DuckDBPyConnection, load_id: str) -> tuple[dict[str, int], dict[str, int]]:
    """Rows rejected and values cleared by a load, per reason, most frequent first."""
    rows = con.execute(
        "SELECT action, reason, count(*) FROM rejects WHERE load_id = ? GROUP BY 1, 2 "
        "ORDER BY 3 DESC, 2",
        [load_id],
    ).fetchall()
    rejected = {str(r): int(n) for a, r, n in rows if a == "row_rejected"}
    cleared = {str(r): int(n) for a, r, n in rows if a == "value_cleared"}
    return rejected, cleared
