"""The embedded demo's and the tests' stand-ins for external services, on loopback HTTP.

* :mod:`bot.sandbox.console` — the simulated Prisma Cloud Compute console
  (``scanbot progress --sandbox``, ``scanbot sandbox-console``, ``scanbot demo``);
* :mod:`bot.sandbox.slack` — the Slack Web API stand-in and Slack request signing
  (the demo runs the real bot against it);
* :mod:`bot.sandbox.http` — the one "HTTP server on a background thread" both use.

Runtime code never imports this package: only the CLI's demo/sandbox commands (lazily,
inside the command) and the tests do.
"""
