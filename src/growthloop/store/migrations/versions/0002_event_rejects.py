"""Quarantine for messages the event API rejected.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "event_rejects",
        sa.Column("reject_id", _id, primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("message_index", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
    )
    op.create_index("ix_event_rejects_received_at", "event_rejects", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_event_rejects_received_at", table_name="event_rejects")
    op.drop_table("event_rejects")
