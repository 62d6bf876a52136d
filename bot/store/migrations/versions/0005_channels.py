"""A completed watch that still waits for its scan's result; a subscription's level,
mention and snooze.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("watches") as batch:
        batch.add_column(sa.Column("result_wait_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("result_checked_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(
            batch.f("ix_watches_result_wait_until"), ["result_wait_until"], unique=False
        )
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(
            sa.Column("level", sa.String(length=16), nullable=False, server_default="normal")
        )
        batch.add_column(sa.Column("mention", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("snoozed_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("snoozed_by")
        batch.drop_column("snoozed_until")
        batch.drop_column("mention")
        batch.drop_column("level")
    with op.batch_alter_table("watches") as batch:
        batch.drop_index(batch.f("ix_watches_result_wait_until"))
        batch.drop_column("result_checked_at")
        batch.drop_column("result_wait_until")
