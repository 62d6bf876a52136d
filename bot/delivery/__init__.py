"""Delivery: messages owed to Slack, stored in the outbox and sent once, in order.

:mod:`bot.store.codec` turns domain events into JSON for the outbox and back;
:mod:`bot.delivery.sender` delivers them through a :class:`~bot.watcher.services.Notifier`
(:mod:`~bot.delivery.dispatch` the call per kind of message, :mod:`~bot.delivery.coalesce`
what newer messages supersede), within :mod:`~bot.delivery.budget` — the bot's own budget of
Slack's rate limits — as :mod:`~bot.delivery.gate` lets it.
"""
