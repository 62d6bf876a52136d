"""Everything that talks to the Prisma Cloud Compute console.

httpx is imported only inside this package: :mod:`~bot.console.transport` (the pooled
client, retries), :mod:`~bot.console.auth` (the ``httpx.Auth`` for bearer tokens),
:mod:`~bot.console.answers` (bounded reading) and :mod:`~bot.console.client`.  Callers use
:class:`~bot.console.client.ConsoleClient`, the models of :mod:`~bot.console.models` and
the errors of :mod:`~bot.console.errors`.
"""
