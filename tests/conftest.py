"""Shared fixtures: workspaces, the public datasets and the PostgreSQL test server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from growthloop import Workspace

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def datasets() -> Path:
    """The shared public datasets (``GROWTHLOOP_DATASETS``, default ``../shared/datasets``)."""
    path = Path(os.environ.get("GROWTHLOOP_DATASETS", ROOT.parent / "shared" / "datasets"))
    if not path.is_dir():
        pytest.skip(f"public datasets not found at {path}; set GROWTHLOOP_DATASETS")
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A fresh workspace with SQLite and DuckDB files in ``tmp_path``."""
    ws = Workspace.init(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A freshly created PostgreSQL database, dropped afterwards."""
    base = os.environ.get("GROWTHLOOP_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("GROWTHLOOP_TEST_POSTGRES_URL is not set")
    import sqlalchemy as sa

    name = f"growthloop_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(
        base.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
