"""Subscriptions to the regular scan, their runs, and ``watches.follow_state``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("watches") as batch:
        batch.add_column(sa.Column("follow_state", sa.Text(), nullable=True))
    op.create_table(
        "subscriptions",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_subscriptions")),
    )
    op.create_table(
        "regular_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scan_key", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("parent_ts", sa.String(length=64), nullable=True),
        sa.Column("last_snapshot", sa.Text(), nullable=True),
        sa.Column("follow_state", sa.Text(), nullable=True),
        sa.Column("last_thread_post_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regular_runs")),
        sa.UniqueConstraint("scan_key", "channel_id", name="uq_regular_runs_scan_channel"),
    )
    op.create_index(op.f("ix_regular_runs_state"), "regular_runs", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_regular_runs_state"), table_name="regular_runs")
    op.drop_table("regular_runs")
    op.drop_table("subscriptions")
    with op.batch_alter_table("watches") as batch:
        batch.drop_column("follow_state")
