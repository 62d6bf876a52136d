"""Who may start scans from Slack: ``SCANBOT_SCAN_USERS`` and ``SCANBOT_SCAN_CHANNELS``.

A user listed in ``SCANBOT_SCAN_USERS``, or anyone in a channel listed in
``SCANBOT_SCAN_CHANNELS``, may start scans; when both settings are empty, everyone may.
Checked on every path that starts a scan (the command and the **Scan now** button) before
any request reaches the console.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Permissions:
    """The permission settings as a value (built by :attr:`Settings.permissions`)."""

    scan_users: frozenset[str] = frozenset()
    scan_channels: frozenset[str] = frozenset()


def may_start_scans(rules: Permissions, *, user_id: str, channel_id: str) -> bool:
    users, channels = rules.scan_users, rules.scan_channels
    if not users and not channels:
        return True
    return user_id in users or channel_id in channels
