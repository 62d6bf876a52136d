"""Test helpers around the outbox's sender: deliver everything due, read what was sent."""

from __future__ import annotations

import sqlalchemy as sa

from bot.delivery.sender import Sender
from bot.store import Store
from bot.store.outbox import EntryState
from bot.store.tables import outbox


def drain(sender: Sender, *, rounds: int = 50) -> None:
    """Deliver until nothing is due now (at most ``rounds`` passes)."""
    for _ in range(rounds):
        if not sender.deliver_due():
            return


def sent_messages(store: Store, thread_key: str) -> list[tuple[str, str | None]]:
    """(key, ts) of the thread's delivered messages, oldest first."""
    query = (
        sa.select(outbox.c.key, outbox.c.sent_ts)
        .where(outbox.c.thread_key == thread_key, outbox.c.state == EntryState.SENT.value)
        .order_by(outbox.c.id)
    )
    with store._read() as connection:  # the store's own connection (in-memory SQLite too)
        return [(str(key), ts) for key, ts in connection.execute(query)]
