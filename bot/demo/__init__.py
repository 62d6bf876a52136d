"""``scanbot demo``: the real bot against the loopback stand-ins.

``runner`` runs the demo (the bot in-process, the channel drawn live), ``render`` turns
Block Kit messages into terminal text.
Nothing is imported or started at import time.
"""
