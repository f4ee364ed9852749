"""Model registry: model versions with their metadata, and the promotion history.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("training_from", sa.DateTime(), nullable=True),
        sa.Column("training_to", sa.DateTime(), nullable=True),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("library_versions", sa.Text(), nullable=False),
        sa.Column("data_fingerprint", sa.String(100), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("artifact_path", sa.String(500), nullable=False),
        sa.Column("artifact_sha256", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
    )
    op.create_index("ix_model_versions_kind", "model_versions", ["kind"])
    op.create_table(
        "model_promotions",
        sa.Column("promotion_id", _id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("previous_version", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_model_promotions_name", "model_promotions", ["name", "promotion_id"])


def downgrade() -> None:
    op.drop_index("ix_model_promotions_name", table_name="model_promotions")
    op.drop_table("model_promotions")
    op.drop_index("ix_model_versions_kind", table_name="model_versions")
    op.drop_table("model_versions")
