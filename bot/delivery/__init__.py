"""Delivery: messages owed to Slack, stored in the outbox and sent once, in order.

:mod:`bot.store.codec` turns domain events into JSON for the outbox and back;
:mod:`bot.delivery.sender` delivers them through a :class:`~bot.watcher.services.Notifier`.
"""
