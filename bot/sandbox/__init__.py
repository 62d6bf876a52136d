"""Simulated Prisma console and Slack Web API stand-in: real HTTP servers on loopback."""
