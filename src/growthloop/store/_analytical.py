"""The analytical store: one DuckDB file, queried through Ibis.

DuckDB allows one writing process per file; commands open the store, do their work and close it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from growthloop.errors import StoreError
from growthloop.store._schema import MIGRATIONS, VIEWS

__all__ = ["AnalyticalStore"]

log = logging.getLogger(__name__)


class AnalyticalStore:
    """A DuckDB connection with the canonical schema applied.

    Use :attr:`con` for DuckDB SQL (ingestion) and :attr:`ibis` for portable queries.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path | None) -> None:
        self.con = con
        self.path = path
        self._ibis: Any = None

    @classmethod
    def open(
        cls, path: Path | None, *, memory_limit: str = "2GB", threads: int = 2
    ) -> AnalyticalStore:
        """Open (creating if needed) the DuckDB file at ``path`` (``None``: in memory)."""
        target = ":memory:" if path is None else str(path)
        try:
            con = duckdb.connect(target)
        except duckdb.IOException as exc:
            raise StoreError(
                f"cannot open the analytical store {target}: {exc}. If another growthloop "
                "command is running on this workspace, wait for it to finish"
            ) from exc
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET threads = {int(threads)}")
        con.execute("SET TimeZone = 'UTC'")
        # DuckDB's own progress bar would write into the CLI's output (and --json).
        con.execute("SET enable_progress_bar = false")
        store = cls(con, path)
        store.migrate()
        return store

    @classmethod
    def open_read_only(cls, path: Path, *, memory_limit: str = "1GB") -> AnalyticalStore:
        """Open an existing DuckDB file for reading only (no migrations). Fails with a
        :class:`StoreError` while another process writes to it."""
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            raise StoreError(
                f"the analytical store {path.name} is busy or missing ({str(exc)[:120]}); "
                "retry in a moment"
            ) from exc
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        return cls(con, path)

    def migrate(self) -> list[int]:
        """Apply the schema migrations not applied yet; return their versions."""
        con = self.con
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER, description VARCHAR, applied_at TIMESTAMP)"
        )
        rows = con.execute("SELECT version FROM schema_migrations").fetchall()
        done = {int(r[0]) for r in rows}
        applied: list[int] = []
        for version, description, ddl in MIGRATIONS:
            if version in done:
                continue
            with self.transaction():
                con.execute(ddl)
                con.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                    [version, description],
                )
            log.info("analytical store migrated to version %s (%s)", version, description)
            applied.append(version)
        for name, sql in VIEWS.items():
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
        return applied

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a block atomically: everything in it is committed, or nothing is."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except duckdb.OutOfMemoryException as exc:
            self.con.execute("ROLLBACK")
            raise self.memory_error(exc) from exc
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def memory_error(self, exc: duckdb.OutOfMemoryException) -> StoreError:
        """The error to raise when DuckDB ran out of its memory limit: which limit, and how
        to raise it."""
        limit = self.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        return StoreError(
            f"the analytical store ran out of memory (memory_limit {limit}) and nothing was "
            "changed; raise memory_limit in the [analytical] section of growthloop.toml "
            '(for example "4GB") or work on smaller files'
        )

    @property
    def ibis(self) -> Any:
        """An Ibis DuckDB backend on the same connection."""
        if self._ibis is None:
            import ibis

            self._ibis = ibis.duckdb.from_connection(self.con)
        return self._ibis

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        """Run ``sql`` and return the first column of its first row (``None`` if no row)."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Run ``sql`` and return every row as a dict."""
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def has_table(self, name: str) -> bool:
        """Whether a table or view called ``name`` exists."""
        return bool(
            self.scalar(
                "SELECT (SELECT count(*) FROM duckdb_tables() WHERE table_name = $1) "
                "+ (SELECT count(*) FROM duckdb_views() WHERE view_name = $1)",
                [name],
            )
        )

    def count(self, table: str) -> int:
        return int(self.scalar(f"SELECT count(*) FROM {table}"))

    def close(self) -> None:
        self.con.close()
