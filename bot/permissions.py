"""Who may start scans from Slack: ``SCANBOT_SCAN_USERS`` and ``SCANBOT_SCAN_CHANNELS``.

A user listed in ``SCANBOT_SCAN_USERS``, or anyone in a channel listed in
``SCANBOT_SCAN_CHANNELS``, may start scans; when both settings are empty, everyone may.
Checked on every path that starts a scan (the command and the **Scan now** button) before
any request reaches the console.
"""

from __future__ import annotations

from bot.settings import Settings


def may_start_scans(settings: Settings, *, user_id: str, channel_id: str) -> bool:
    users, channels = settings.scanbot_scan_users, settings.scanbot_scan_channels
    if not users and not channels:
        return True
    return user_id in users or channel_id in channels
