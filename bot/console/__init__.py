"""Everything that talks to the Prisma Cloud Compute console.

:mod:`bot.console.client` is the only module in scanbot that imports httpx.
"""
