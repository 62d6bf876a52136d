"""``scanbot demo`` and ``scanbot bench``: the real bot against the loopback stand-ins.

``runner`` runs the demo (the bot in-process, the channel drawn live), ``render`` turns
Block Kit messages into terminal text, ``bench`` measures the bot run as a process.
Nothing is imported or started at import time.
"""
