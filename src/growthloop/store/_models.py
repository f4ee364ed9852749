"""Tables of the operational store (SQLAlchemy 2 declarative models).

Schema changes go through Alembic migrations in ``growthloop/store/migrations``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ApiKey",
    "AuditRecord",
    "Base",
    "EventReject",
    "InboxEvent",
    "ModelPromotion",
    "ModelVersion",
    "SegmentVersion",
]


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    """An API key. Only a SHA-256 hash of the secret is stored."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))  # space-separated: write read admin
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class InboxEvent(Base):
    """An event accepted by the API, stored durably before the API answered.

    ``flushed_at`` is set once the event is copied into the analytical store.
    """

    __tablename__ = "event_inbox"
    __table_args__ = (Index("ix_event_inbox_unflushed", "flushed_at", "inbox_id"),)

    inbox_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    key_id: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(20))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    flushed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class AuditRecord(Base):
    """Who did what, when (key creation, revocation, merges, ...)."""

    __tablename__ = "audit_log"

    audit_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text)


class EventReject(Base):
    """A message the event API refused, kept with the reason so nothing is silently lost."""

    __tablename__ = "event_rejects"
    __table_args__ = (Index("ix_event_rejects_received_at", "received_at"),)

    reject_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    key_id: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(DateTime)
    message_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    field: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)


class SegmentVersion(Base):
    """One version of a segment document (JSON of :class:`SegmentDefinition`)."""

    __tablename__ = "segments"

    segment_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ModelVersion(Base):
    """One version of a trained model: its metadata here, its artifact in the models folder.

    JSON columns (``features``, ``metrics``, ``params``, ``library_versions``) hold documents
    written by :mod:`growthloop.predict.registry`. ``status`` is candidate, promoted or retired;
    at most one version of a name is promoted.
    """

    __tablename__ = "model_versions"
    __table_args__ = (Index("ix_model_versions_kind", "kind"),)

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    training_from: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    training_to: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    features: Mapped[str] = mapped_column(Text)
    metrics: Mapped[str] = mapped_column(Text)
    params: Mapped[str] = mapped_column(Text)
    library_versions: Mapped[str] = mapped_column(Text)
    data_fingerprint: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    artifact_path: Mapped[str] = mapped_column(String(500))
    artifact_sha256: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)


class ModelPromotion(Base):
    """The promotion history of a model name: each promotion and rollback, in order."""

    __tablename__ = "model_promotions"
    __table_args__ = (Index("ix_model_promotions_name", "name", "promotion_id"),)

    promotion_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    name: Mapped[str] = mapped_column(String(63))
    action: Mapped[str] = mapped_column(String(20))  # promote | rollback
    version: Mapped[int] = mapped_column(Integer)  # the version promoted by this action
    previous_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime)
