"""API keys: creation (secret shown once, hash stored), listing, revocation, verification,
the short-lived cache, and the ``growthloop keys`` commands."""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from psycopg import connect, sql
from sqlalchemy import select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

import growthloop.cli._keys  # noqa: F401  (registers `growthloop keys`)
from growthloop.cli import app
from growthloop.errors import ConfigError, NotFoundError
from growthloop.keys import (
    AuthError,
    KeyCache,
    ScopeError,
    create_key,
    key_scopes,
    list_keys,
    revoke_key,
    verify_key,
)
from growthloop.store._models import ApiKey, AuditRecord
from growthloop.workspace import Workspace

T0 = datetime(2026, 1, 2, 3, 4, 5)
T1 = datetime(2026, 1, 3, 0, 0, 0)
HINT = "create one with `growthloop keys create --name NAME --scope {}`"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def keys_ws(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A workspace on SQLite, or on a fresh PostgreSQL database when the server is set."""
    monkeypatch.delenv("GROWTHLOOP_OPS_URL", raising=False)
    if request.param == "sqlite":
        with Workspace.init(tmp_path / "ws") as ws:
            yield ws
        return
    base = os.environ.get("GROWTHLOOP_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("GROWTHLOOP_TEST_POSTGRES_URL is not set")
    admin = make_url(base).set(drivername="postgresql")
    name = f"gl_keys_test_{uuid.uuid4().hex[:12]}"
    conninfo = admin.render_as_string(hide_password=False)
    with connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = admin.set(database=name).render_as_string(hide_password=False)
        with Workspace.init(tmp_path / "ws", ops_url=url) as ws:
            yield ws
    finally:
        with connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


def _audit(ws: Workspace) -> list[tuple[str, dict[str, object]]]:
    with ws.operational.session() as session:
        records = session.scalars(select(AuditRecord).order_by(AuditRecord.audit_id)).all()
        return [(r.action, json.loads(r.detail)) for r in records]


def test_create_returns_the_secret_once_and_stores_its_hash(keys_ws: Workspace) -> None:
    created = create_key(store=keys_ws.operational, name=" website ", scopes=["write"],
                         clock=lambda: T0)
    assert re.fullmatch(r"key_[0-9a-f]{24}", created.key_id)
    assert re.fullmatch(r"gl_w_[A-Za-z0-9_-]{43}", created.secret)
    assert (created.name, created.scopes, created.created_at) == ("website", ("write",), T0)
    with keys_ws.operational.session() as session:
        row = session.get(ApiKey, created.key_id)
        assert row is not None
        assert row.secret_hash == hashlib.sha256(created.secret.encode()).hexdigest()
        assert created.secret not in (row.secret_hash, row.scopes, row.name)
    assert _audit(keys_ws) == [("api_key.create", {"key_id": created.key_id, "name": "website",
                                                    "scopes": ["write"]})]


def test_scopes_are_ordered_and_name_the_secret(keys_ws: Workspace) -> None:
    created = create_key(store=keys_ws.operational, name="ops", scopes=["read", "admin", "read"])
    assert created.scopes == ("admin", "read")
    assert created.secret.startswith("gl_a_")
    reader = create_key(store=keys_ws.operational, name="bi", scopes=["read"])
    assert reader.secret.startswith("gl_r_")


@pytest.mark.parametrize(
    ("name", "scopes", "message"),
    [
        ("x", ["write", "delete"], "unknown scope 'delete'; the scopes are admin, write, read"),
        ("x", [], "a key needs at least one scope: admin, write, read"),
        ("  ", ["write"], "a key name must be 1 to 200 characters, got ''"),
    ],
)
def test_invalid_key_requests(keys_ws: Workspace, name: str, scopes: list[str],
                              message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        create_key(store=keys_ws.operational, name=name, scopes=scopes)
    assert str(raised.value) == message
    assert list_keys(store=keys_ws.operational) == []


def test_list_and_revoke(keys_ws: Workspace) -> None:
    store = keys_ws.operational
    first = create_key(store=store, name="a", scopes=["write"], clock=lambda: T0)
    second = create_key(store=store, name="b", scopes=["read"], clock=lambda: T1)
    assert [k.key_id for k in list_keys(store=store)] == [first.key_id, second.key_id]
    revoked = revoke_key(store=store, key_id=first.key_id, clock=lambda: T1)
    assert revoked.revoked_at == T1
    again = revoke_key(store=store, key_id=first.key_id, clock=lambda: datetime(2030, 1, 1))
    assert again.revoked_at == T1  # revoking twice changes nothing
    assert [k.key_id for k in list_keys(store=store, include_revoked=False)] == [second.key_id]
    assert [k.revoked_at for k in list_keys(store=store)] == [T1, None]
    assert key_scopes(list_keys(store=store)[1]) == ("read",)
    assert [a for a, _ in _audit(keys_ws)] == ["api_key.create", "api_key.create",
                                              "api_key.revoke"]
    with pytest.raises(NotFoundError) as raised:
        revoke_key(store=store, key_id="key_missing")
    assert str(raised.value) == ("no API key 'key_missing'; list the keys with "
                                 "`growthloop keys list`")


def test_verify(keys_ws: Workspace) -> None:
    store = keys_ws.operational
    writer = create_key(store=store, name="web", scopes=["write"])
    admin = create_key(store=store, name="ops", scopes=["admin"])
    assert verify_key(store=store, secret=writer.secret, scope="write").key_id == writer.key_id
    assert verify_key(store=store, secret=admin.secret, scope="read").key_id == admin.key_id
    with pytest.raises(ScopeError) as scope_error:
        verify_key(store=store, secret=writer.secret, scope="read")
    assert str(scope_error.value) == (f"API key {writer.key_id} lacks the 'read' scope "
                                      f"(it has: write); {HINT.format('read')}")
    with pytest.raises(AuthError) as unknown:
        verify_key(store=store, secret="gl_w_guess", scope="write")
    assert str(unknown.value) == f"unknown API key; check it, or {HINT.format('write')}"
    with pytest.raises(AuthError) as missing:
        verify_key(store=store, secret="", scope="write")
    assert str(missing.value) == f"no API key given; {HINT.format('write')}"
    revoke_key(store=store, key_id=writer.key_id, clock=lambda: T1)
    with pytest.raises(AuthError) as revoked:
        verify_key(store=store, secret=writer.secret, scope="write")
    assert str(revoked.value) == (f"API key {writer.key_id} was revoked at "
                                  f"2026-01-03T00:00:00Z; {HINT.format('write')}")
    assert not isinstance(revoked.value, ScopeError)


def test_cache_remembers_keys_for_its_ttl(keys_ws: Workspace) -> None:
    store = keys_ws.operational
    now = [100.0]
    cache = KeyCache(store, ttl_seconds=5.0, monotonic=lambda: now[0])
    # Unknown secrets are not remembered: a key created after a failed try works at once.
    with pytest.raises(AuthError):
        cache.verify("gl_w_unknown", "write")
    key = create_key(store=store, name="web", scopes=["write"])
    assert cache.verify_cached(key.secret, "write") is None
    assert cache.verify(key.secret, "write").key_id == key.key_id
    assert cache.verify_cached(key.secret, "write") is not None
    with pytest.raises(ScopeError):  # the scope is checked on remembered keys too
        cache.verify(key.secret, "read")
    revoke_key(store=store, key_id=key.key_id)
    now[0] += 4.9
    assert cache.verify(key.secret, "write").key_id == key.key_id  # within the window
    now[0] += 0.2
    with pytest.raises(AuthError, match="was revoked"):
        cache.verify(key.secret, "write")


def test_cache_is_bounded(keys_ws: Workspace) -> None:
    store = keys_ws.operational
    keys = [create_key(store=store, name=f"k{i}", scopes=["write"]) for i in range(3)]
    cache = KeyCache(store, max_entries=2)
    for key in keys:
        cache.verify(key.secret, "write")
    assert cache.verify_cached(keys[0].secret, "write") is None  # cleared when full
    assert cache.verify_cached(keys[2].secret, "write") is not None


# --- the CLI -------------------------------------------------------------------------------

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_create_list_revoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROWTHLOOP_OPS_URL", raising=False)
    root = str(Workspace.init(tmp_path / "ws").root)
    code, out, _ = _run("keys", "create", "--name", "web", "--scope", "write", "-s", "read",
                        "-w", root, "--json")
    assert code == 0
    created = json.loads(out)
    assert created["scopes"] == ["write", "read"]
    assert created["secret"].startswith("gl_w_")
    code, out, _ = _run("keys", "list", "-w", root, "--json")
    listed = json.loads(out)
    assert listed["count"] == 1
    assert listed["keys"][0]["key_id"] == created["key_id"]
    assert listed["keys"][0]["active"] is True
    assert "secret" not in listed["keys"][0]
    code, out, _ = _run("keys", "revoke", created["key_id"], "-w", root, "--json")
    assert code == 0
    assert json.loads(out)["active"] is False
    code, out, _ = _run("keys", "list", "--active", "-w", root, "--json")
    assert json.loads(out) == {"keys": [], "count": 0}
    code, out, _ = _run("keys", "list", "-w", root)
    assert code == 0 and created["key_id"] in out and "revoked" in out


def test_cli_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROWTHLOOP_OPS_URL", raising=False)
    root = str(Workspace.init(tmp_path / "ws").root)
    code, out, err = _run("keys", "create", "--name", "x", "--scope", "nope", "-w", root)
    assert code == 1
    assert err.strip() == "error: unknown scope 'nope'; the scopes are admin, write, read"
    code, out, _ = _run("keys", "revoke", "key_nope", "-w", root, "--json")
    assert code == 1
    assert json.loads(out) == {"error": {"type": "NotFoundError", "message":
                                         "no API key 'key_nope'; list the keys with "
                                         "`growthloop keys list`"}}
    assert _run("keys", "create", "--name", "x", "-w", root)[0] == 2  # --scope is required


@pytest.mark.parametrize("command", [["keys", "create"], ["keys", "list"], ["keys", "revoke"]])
def test_cli_help_has_an_example(command: list[str]) -> None:
    code, out, _ = _run(*command, "--help")
    assert code == 0
    assert "Example: growthloop keys" in out
