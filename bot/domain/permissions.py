"""Who may do what: the permission model, as one value and a few pure rules.

* **Admins** (``SCANBOT_ADMIN_USERS``) may do everything.
* **Starting scans** (the command and the **Scan now** button): a user listed in
  ``SCANBOT_SCAN_USERS``, anyone in a channel listed in ``SCANBOT_SCAN_CHANNELS``, or an
  admin; when both lists are empty, everyone may.  Checked before any request reaches the
  console.
* **Subscriptions** (subscribe, unsubscribe, change a level, snooze): admins when admins are
  set, anyone when not; a subscription set at deploy time (``SCANBOT_NOTIFY_CHANNELS``) is
  changed only by an admin.
* **Stopping a watch**: whoever started it, anyone in its channel when its starter has left
  the workspace, or an admin.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Permissions:
    """The permission settings as a value (built by ``Settings.permissions``)."""

    admin_users: frozenset[str] = frozenset()
    scan_users: frozenset[str] = frozenset()
    scan_channels: frozenset[str] = frozenset()

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.admin_users


def may_start_scans(rules: Permissions, *, user_id: str, channel_id: str) -> bool:
    if rules.is_admin(user_id):
        return True
    users, channels = rules.scan_users, rules.scan_channels
    if not users and not channels:
        return True
    return user_id in users or channel_id in channels


def may_manage_subscriptions(rules: Permissions, *, user_id: str, from_setting: bool) -> bool:
    """Subscribe, unsubscribe, change a level or snooze; ``from_setting`` for a subscription
    set by ``SCANBOT_NOTIFY_CHANNELS``."""
    if rules.is_admin(user_id):
        return True
    return not from_setting and not rules.admin_users


def may_stop_watch(
    rules: Permissions, *, user_id: str, started_by: str, starter_gone: bool = False
) -> bool:
    """A watch is stopped by its starter, by anyone when the starter has left, or an admin."""
    return user_id == started_by or starter_gone or rules.is_admin(user_id)
