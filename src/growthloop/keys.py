"""API keys: create, list, revoke and verify.

A key has an id (``key_…``, safe to show and log) and a secret (``gl_<letter>_<random>``, shown
once at creation). Only the SHA-256 of the secret is stored. The letter names the key's
strongest scope: ``a`` admin, ``w`` write, ``r`` read.

Scopes: ``write`` sends events, ``read`` reads profiles, ``admin`` manages the workspace and
grants every other scope. Creating and revoking a key each write an audit record.

Errors::

    GrowthloopError
    └── AuthError            no key, an unknown key or a revoked key (HTTP 401)
        └── ScopeError       a valid key without the scope needed (HTTP 403)
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import orjson
from sqlalchemy import select

from growthloop.errors import ConfigError, GrowthloopError, NotFoundError
from growthloop.store import OperationalStore
from growthloop.store._models import ApiKey, AuditRecord

__all__ = [
    "SCOPES",
    "AuthError",
    "CreatedKey",
    "KeyCache",
    "ScopeError",
    "create_key",
    "key_scopes",
    "list_keys",
    "revoke_key",
    "verify_key",
]

SCOPES: Final = ("admin", "write", "read")
_LETTERS: Final = {"admin": "a", "write": "w", "read": "r"}
_CREATE_HINT = "create one with `growthloop keys create --name NAME --scope {scope}`"


class AuthError(GrowthloopError):
    """No API key was given, or it is unknown or revoked."""


class ScopeError(AuthError):
    """The API key is valid but lacks the scope the operation needs."""


def utc_now() -> datetime:
    """The current time as naive UTC (how the operational store keeps times)."""
    return datetime.now(UTC).replace(tzinfo=None)


def hash_secret(secret: str) -> str:
    """The hex SHA-256 of a secret, as stored in ``api_keys.secret_hash``."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def key_scopes(key: ApiKey) -> tuple[str, ...]:
    """The scopes of ``key``, in the order of :data:`SCOPES`."""
    return tuple(scope for scope in SCOPES if scope in key.scopes.split())


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key. ``secret`` is not stored anywhere: this is the only time it is known."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    secret: str


def _check_scopes(scopes: Sequence[str]) -> tuple[str, ...]:
    if isinstance(scopes, str):
        scopes = [scopes]
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ConfigError(
            f"unknown scope {unknown[0]!r}; the scopes are {', '.join(SCOPES)}"
        )
    if not scopes:
        raise ConfigError(f"a key needs at least one scope: {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in scopes)


def _audit(*, at: datetime, actor: str, action: str, detail: dict[str, object]) -> AuditRecord:
    return AuditRecord(at=at, actor=actor, action=action, detail=orjson.dumps(detail).decode())


def create_key(
    *,
    store: OperationalStore,
    name: str,
    scopes: Sequence[str],
    clock: Callable[[], datetime] = utc_now,
    actor: str = "cli",
) -> CreatedKey:
    """Create a key named ``name`` with ``scopes``; return it with its secret (shown once)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ConfigError(f"a key name must be 1 to 200 characters, got {name!r}")
    ordered = _check_scopes(scopes)
    secret = f"gl_{_LETTERS[ordered[0]]}_{secrets.token_urlsafe(32)}"
    key_id = f"key_{secrets.token_hex(12)}"
    now = clock()
    with store.session() as session, session.begin():
        session.add(
            ApiKey(
                key_id=key_id,
                name=name,
                secret_hash=hash_secret(secret),
                scopes=" ".join(ordered),
                created_at=now,
                revoked_at=None,
            )
        )
        session.add(
            _audit(at=now, actor=actor, action="api_key.create",
                   detail={"key_id": key_id, "name": name, "scopes": list(ordered)})
        )
    return CreatedKey(key_id=key_id, name=name, scopes=ordered, created_at=now, secret=secret)


def list_keys(*, store: OperationalStore, include_revoked: bool = True) -> list[ApiKey]:
    """Every key, oldest first (secrets are never stored, so never listed)."""
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.key_id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    with store.session() as session:
        return list(session.scalars(query))


def revoke_key(
    *,
    store: OperationalStore,
    key_id: str,
    clock: Callable[[], datetime] = utc_now,
    actor: str = "cli",
) -> ApiKey:
    """Revoke ``key_id``; revoking a revoked key changes nothing. Returns the key.

    The API caches verified keys for a few seconds (:class:`KeyCache`), so a running server
    refuses the key within that time.
    """
    with store.session() as session, session.begin():
        key = session.get(ApiKey, key_id)
        if key is None:
            raise NotFoundError(
                f"no API key {key_id!r}; list the keys with `growthloop keys list`"
            )
        if key.revoked_at is None:
            key.revoked_at = clock()
            session.add(
                _audit(at=key.revoked_at, actor=actor, action="api_key.revoke",
                       detail={"key_id": key_id, "name": key.name})
            )
    return key


def _lookup(store: OperationalStore, secret_hash: str) -> ApiKey | None:
    with store.session() as session:
        return session.scalars(select(ApiKey).where(ApiKey.secret_hash == secret_hash)).first()


def _check(key: ApiKey | None, scope: str) -> ApiKey:
    if key is None:
        raise AuthError(f"unknown API key; check it, or {_CREATE_HINT.format(scope=scope)}")
    if key.revoked_at is not None:
        raise AuthError(
            f"API key {key.key_id} was revoked at {key.revoked_at.isoformat(timespec='seconds')}"
            f"Z; {_CREATE_HINT.format(scope=scope)}"
        )
    granted = key.scopes.split()
    if scope not in granted and "admin" not in granted:
        raise ScopeError(
            f"API key {key.key_id} lacks the {scope!r} scope (it has: {', '.join(granted)}); "
            f"{_CREATE_HINT.format(scope=scope)}"
        )
    return key


def _require_secret(secret: str, scope: str) -> None:
    if not secret:
        raise AuthError(f"no API key given; {_CREATE_HINT.format(scope=scope)}")
    if scope not in SCOPES:
        raise ConfigError(f"unknown scope {scope!r}; the scopes are {', '.join(SCOPES)}")


def verify_key(*, store: OperationalStore, secret: str, scope: str) -> ApiKey:
    """The key whose secret is ``secret``, if it is active and grants ``scope``.

    Raises :class:`AuthError` for a missing, unknown or revoked key and :class:`ScopeError`
    for a key without ``scope`` (``admin`` grants every scope).
    """
    _require_secret(secret, scope)
    return _check(_lookup(store, hash_secret(secret)), scope)


class KeyCache:
    """:func:`verify_key` with a short memory, so a busy API does not query for every request.

    A key that was found (active or revoked) is remembered for ``ttl_seconds``; so a revocation
    takes effect within that time. Unknown secrets are not remembered, so a new key works at
    once. At most ``max_entries`` keys are kept.
    """

    def __init__(
        self,
        store: OperationalStore,
        *,
        ttl_seconds: float = 5.0,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._monotonic = monotonic
        self._keys: dict[str, tuple[float, ApiKey]] = {}
        self._lock = threading.Lock()

    def verify_cached(self, secret: str, scope: str) -> ApiKey | None:
        """Like :meth:`verify`, from memory only: ``None`` when the key is not remembered."""
        _require_secret(secret, scope)
        entry = self._keys.get(hash_secret(secret))
        if entry is None or entry[0] < self._monotonic():
            return None
        return _check(entry[1], scope)

    def verify(self, secret: str, scope: str) -> ApiKey:
        """As :func:`verify_key`, answered from memory when the key was seen recently."""
        cached = self.verify_cached(secret, scope)
        if cached is not None:
            return cached
        secret_hash = hash_secret(secret)
        key = _lookup(self.store, secret_hash)
        if key is not None:
            with self._lock:
                if len(self._keys) >= self.max_entries:
                    self._keys.clear()
                self._keys[secret_hash] = (self._monotonic() + self.ttl_seconds, key)
        return _check(key, scope)

    def clear(self) -> None:
        """Forget every key."""
        with self._lock:
            self._keys.clear()
