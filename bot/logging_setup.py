"""Process logging: one format, and a filter that masks anything that looks like a secret."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)"
)


def mask_secrets(text: str) -> str:
    """Replace Slack tokens, Authorization values and JWTs with ``***``."""
    return _SECRET.sub("***", text)


class SecretMaskingFilter(logging.Filter):
    """Defence in depth: scanbot never logs secrets, and this catches any that slip through."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretMaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party libraries log every request at INFO/DEBUG; scanbot logs its own summary.
    quiet = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for noisy in ("httpx", "httpcore", "slack_sdk", "slack_bolt", "apscheduler", "waitress"):
        logging.getLogger(noisy).setLevel(quiet)
