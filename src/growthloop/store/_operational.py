"""The operational store: SQLAlchemy 2 engine, migrated by Alembic on open.

SQLite (a file in the workspace) by default, PostgreSQL in production. SQLite runs in WAL mode
with ``synchronous=FULL`` so an acknowledged write survives a killed process or a power cut.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from growthloop.errors import StoreError

__all__ = ["OperationalStore", "normalise_url"]

log = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str, base_dir: Path | None = None) -> str:
    """Make a relative SQLite path absolute (against ``base_dir``) and pick psycopg 3 for
    PostgreSQL URLs that name no driver."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"operational store URL {url!r} is not a database URL; use e.g. "
            "sqlite:///ops.sqlite or postgresql://user@host/db"
        ) from exc
    if parsed.drivername == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.is_absolute() and base_dir is not None:
            parsed = parsed.set(database=str(base_dir / path))
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class OperationalStore:
    """An engine and session factory on a migrated database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(
        cls, url: str, *, base_dir: Path | None = None, migrate: bool = True
    ) -> OperationalStore:
        """Connect to ``url`` and (by default) migrate it to the newest schema."""
        full = normalise_url(url, base_dir)
        engine = create_engine(full, pool_pre_ping=True)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        if migrate:
            store.migrate()
        return store

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        return config

    def migrate(self) -> str | None:
        """Upgrade the schema to the newest revision; return it."""
        config = self._alembic_config()
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except OperationalError as exc:
            url = self.engine.url.render_as_string(hide_password=True)
            raise StoreError(
                f"cannot reach the operational store {url}: {exc.orig}; check the URL in "
                "growthloop.toml or GROWTHLOOP_OPS_URL, and that the server is running"
            ) from exc
        return self.revision()

    def revision(self) -> str | None:
        """The schema revision the database is at."""
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def session(self) -> Session:
        return self.sessions()

    def close(self) -> None:
        self.engine.dispose()
