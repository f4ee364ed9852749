"""Both stores open, migrate automatically and keep their data; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from growthloop import Workspace
from growthloop.errors import ConfigError, StoreError
from growthloop.store import AnalyticalStore, OperationalStore
from growthloop.store._models import AuditRecord
from growthloop.store._schema import MIGRATIONS


def _roundtrip(store: OperationalStore) -> None:
    assert store.revision() == "0004"
    with store.session() as session:
        session.add(AuditRecord(at=datetime(2024, 1, 1), actor="test", action="ping", detail="{}"))
        session.commit()
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {
        "api_keys",
        "event_inbox",
        "event_rejects",
        "segments",
        "model_versions",
        "model_promotions",
        "audit_log",
        "alembic_version",
    } <= tables
    # Migrating again is a no-op.
    assert store.migrate() == "0004"
    with store.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == 1


def test_sqlite_migrates_on_open(tmp_path: Path) -> None:
    store = OperationalStore.open("sqlite:///ops.sqlite", base_dir=tmp_path)
    try:
        _roundtrip(store)
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        store.close()
    assert (tmp_path / "ops.sqlite").exists()


@pytest.mark.postgres
def test_postgres_migrates_on_open(postgres_url: str) -> None:
    store = OperationalStore.open(postgres_url)
    try:
        assert store.dialect == "postgresql"
        _roundtrip(store)
    finally:
        store.close()


def test_unreachable_operational_store_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot reach the operational store"):
        OperationalStore.open("postgresql://nobody@127.0.0.1:1/none")


def test_bad_url_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="is not a database URL"):
        OperationalStore.open("not a url")


def test_analytical_store_migrations_apply_once(tmp_path: Path) -> None:
    path = tmp_path / "a.duckdb"
    store = AnalyticalStore.open(path)
    versions = [v for v, _, _ in MIGRATIONS]
    assert store.rows("SELECT version FROM schema_migrations ORDER BY 1") == [
        {"version": v} for v in versions
    ]
    store.con.execute(
        "INSERT INTO customers (customer_id, load_id, updated_at) VALUES ('C1', 'l', now())"
    )
    store.close()
    again = AnalyticalStore.open(path)
    assert again.migrate() == []
    assert again.count("customers") == 1
    assert again.ibis.table("customers").count().execute() == 1
    again.close()


def test_workspace_init_and_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace.init(tmp_path / "shop")
    assert (tmp_path / "shop" / "growthloop.toml").is_file()
    assert (tmp_path / "shop" / "models").is_dir()
    ws.close()
    monkeypatch.setenv("GROWTHLOOP_OPS_URL", "sqlite:///other.sqlite")
    reopened = Workspace.open(tmp_path / "shop")
    assert reopened.config.operational.url == "sqlite:///other.sqlite"
    reopened.close()


def test_missing_workspace_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GROWTHLOOP_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="run `growthloop init DIR`"):
        Workspace.open()


def test_invalid_config_names_the_setting(tmp_path: Path) -> None:
    Workspace.init(tmp_path).close()
    (tmp_path / "growthloop.toml").write_text("[analytical]\nthreads = 0\n")
    with pytest.raises(ConfigError, match="setting 'analytical.threads' is invalid"):
        Workspace.open(tmp_path)


def test_running_out_of_memory_names_the_setting_and_rolls_back() -> None:
    store = AnalyticalStore.open(None)
    try:
        store.con.execute("CREATE TABLE kept (x INTEGER)")
        store.con.execute("SET memory_limit = '64MB'")
        with pytest.raises(StoreError) as caught, store.transaction() as con:
            con.execute("INSERT INTO kept VALUES (1)")
            con.execute("SELECT list(range) FROM range(50000000)").fetchall()
        message = str(caught.value)
        assert "ran out of memory (memory_limit 61.0 MiB)" in message
        assert "memory_limit in the [analytical] section of growthloop.toml" in message
        assert store.scalar("SELECT count(*) FROM kept") == 0
    finally:
        store.close()
