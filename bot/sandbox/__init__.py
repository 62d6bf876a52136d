"""Stand-ins for external services, served over real HTTP on loopback.

``bot.sandbox.console`` simulates the Prisma Cloud Compute console (scan simulation in
``console_state``, images and results in ``console_images``, HTTP plumbing in
``console_http``); ``bot.sandbox.slack_api`` stands in for the Slack
Web API.  Tests and the ``scanbot sandbox-console`` demo use them; production code never does.
"""
