"""Normalising contact columns of a staged table in bulk (distinct values through Python)."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pyarrow as pa

from growthloop.ingest._normalize import normalise_email, normalise_phone

__all__ = ["normalise_column", "normalise_emails", "normalise_phones"]


def _phone_chunk(pairs: list[tuple[str, str | None]]) -> list[tuple[str | None, str | None]]:
    # One process: forking a process that holds DuckDB's threads and buffers cost more than
    # it saved (measured 10 s against 4 s for 170,000 numbers).
    return [normalise_phone(p, r) for p, r in pairs]


def normalise_column(
    con: duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    func: Callable[[str], tuple[str | None, str | None]],
    map_table: str,
) -> None:
    """Create ``map_table(raw, clean, problem)`` for the distinct values of ``table.column``."""
    values = [
        r[0]
        for r in con.execute(
            f'SELECT DISTINCT "{column}" FROM {table} WHERE "{column}" IS NOT NULL'
        ).fetchall()
    ]
    results = [func(str(v)) for v in values]
    arrow = pa.table(
        {
            "raw": pa.array(values, pa.string()),
            "clean": pa.array([r[0] for r in results], pa.string()),
            "problem": pa.array([r[1] for r in results], pa.string()),
        }
    )
    con.register(f"{map_table}_arrow", arrow)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {map_table} AS SELECT * FROM {map_table}_arrow")
    con.unregister(f"{map_table}_arrow")


def normalise_emails(
    con: duckdb.DuckDBPyConnection, table: str, column: str, map_table: str
) -> None:
    normalise_column(con, table, column, normalise_email, map_table)


def normalise_phones(
    con: duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    region_column: str | None,
    map_table: str,
) -> None:
    """Create ``map_table(raw, region, clean, problem)`` for distinct (phone, region) pairs."""
    region = f'"{region_column}"' if region_column else "NULL"
    pairs = con.execute(
        f'SELECT DISTINCT "{column}", {region} FROM {table} WHERE "{column}" IS NOT NULL'
    ).fetchall()
    results = _phone_chunk([(str(p), r) for p, r in pairs])
    arrow = pa.table(
        {
            "raw": pa.array([p for p, _ in pairs], pa.string()),
            "region": pa.array([r for _, r in pairs], pa.string()),
            "clean": pa.array([r[0] for r in results], pa.string()),
            "problem": pa.array([r[1] for r in results], pa.string()),
        }
    )
    con.register(f"{map_table}_arrow", arrow)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {map_table} AS SELECT * FROM {map_table}_arrow")
    con.unregister(f"{map_table}_arrow")
