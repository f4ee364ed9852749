"""Fixtures of the API tests: workspaces on SQLite (and PostgreSQL), keys, an HTTP client."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from growthloop.api import create_app
from growthloop.keys import CreatedKey, create_key
from growthloop.workspace import Workspace


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROWTHLOOP_OPS_URL", raising=False)
    monkeypatch.delenv("GROWTHLOOP_WORKSPACE", raising=False)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, uniquely named database on the test server; dropped afterwards."""
    base = os.environ.get("GROWTHLOOP_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("GROWTHLOOP_TEST_POSTGRES_URL is not set")
    name = f"gl_api_test_{uuid.uuid4().hex[:12]}"
    admin_url = make_url(base).set(drivername="postgresql")
    conninfo = admin_url.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    """A workspace whose operational store is SQLite, or PostgreSQL when the server is set."""
    with ExitStack() as stack:
        url = stack.enter_context(postgres_database()) if request.param == "postgresql" else None
        workspace = Workspace.init(tmp_path / "ws", ops_url=url)
        stack.callback(workspace.close)
        yield workspace


@pytest.fixture
def write_key(ws: Workspace) -> CreatedKey:
    return create_key(store=ws.operational, name="website", scopes=["write"])


@pytest.fixture
async def client(ws: Workspace) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app (in process), with no key cache so revocations show at once."""
    app = create_app(store=ws.operational, key_cache_seconds=0.0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
