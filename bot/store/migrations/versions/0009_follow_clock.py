"""The follow clock: one reading of the time the bot has spent following, moved once a
poll cycle, instead of the time followed added to every open watch's row; and an index
that answers the poll cycle's light read of the open watches alone.

An open watch keeps the clock's reading when its following began (``followed_from``); its
time followed is the clock's reading less that.  A finished watch keeps its time followed
in ``watched_seconds`` as before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "follow_clock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("followed_seconds", sa.Float(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_clock")),
    )
    op.execute("INSERT INTO follow_clock (id, followed_seconds) VALUES (1, 0)")
    with op.batch_alter_table("watches") as batch:
        batch.add_column(sa.Column("followed_from", sa.Float(), nullable=False, server_default="0"))
    op.create_index("ix_watches_open_rows", "watches", ["state", "id", "revision", "followed_from"])
    # The clock starts at 0: an open watch began following that long before it.
    op.execute(
        "UPDATE watches SET followed_from = -watched_seconds"
        " WHERE state IN ('pending', 'active')"  # the open states
    )


def downgrade() -> None:
    op.execute(
        "UPDATE watches SET watched_seconds = "
        "(SELECT followed_seconds FROM follow_clock WHERE id = 1) - followed_from "
        "WHERE state IN ('pending', 'active')"
    )
    op.drop_index("ix_watches_open_rows", table_name="watches")
    with op.batch_alter_table("watches") as batch:
        batch.drop_column("followed_from")
    op.drop_table("follow_clock")
