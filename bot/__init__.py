"""scanbot: reports Prisma Cloud Compute registry scan progress in Slack until the scan is done."""

__version__ = "0.1.0"
