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

A list set to ``none`` (:data:`NOBODY`) names nobody but counts as set: ``SCANBOT_SCAN_USERS=none``
lets nobody but admins start scans, ``SCANBOT_ADMIN_USERS=none`` lets nobody change
subscriptions from Slack.  No Slack id can equal it (ids are upper case).
"""

from __future__ import annotations

from dataclasses import dataclass

#: The value of a permission list that names nobody, yet counts as set.
NOBODY = "none"


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


def _count(ids: frozenset[str], noun: str) -> str:
    named = ids - {NOBODY}
    return f"{len(named)} {noun}{'s' if len(named) != 1 else ''}"


def rules_in_force(rules: Permissions) -> list[str]:
    """One sentence per rule, naming the settings that decide it (logged at start)."""
    users, channels, admins = rules.scan_users, rules.scan_channels, rules.admin_users
    named_admins = admins - {NOBODY}
    if not users and not channels:
        scans = "everyone may start scans: SCANBOT_SCAN_USERS and SCANBOT_SCAN_CHANNELS are empty"
    elif not (users | channels) - {NOBODY}:
        scans = (
            "nobody but admins may start scans: SCANBOT_SCAN_USERS / SCANBOT_SCAN_CHANNELS "
            "name nobody"
        )
    else:
        scans = (
            f"scans may be started by {_count(users, 'user')} (SCANBOT_SCAN_USERS), anyone in "
            f"{_count(channels, 'channel')} (SCANBOT_SCAN_CHANNELS) and admins"
        )
    if not admins:
        subscriptions = (
            "everyone may subscribe, unsubscribe, change levels and snooze: "
            "SCANBOT_ADMIN_USERS is empty (deploy-time subscriptions cannot be changed from Slack)"
        )
    elif not named_admins:
        subscriptions = (
            "nobody may subscribe, unsubscribe, change levels or snooze from Slack: "
            "SCANBOT_ADMIN_USERS is none"
        )
    else:
        subscriptions = (
            f"only the {_count(admins, 'admin')} in SCANBOT_ADMIN_USERS may subscribe, "
            "unsubscribe, change levels and snooze"
        )
    stopping = (
        "a watch is stopped by whoever started it, an admin, or anyone in its channel once "
        "its starter has left the workspace"
    )
    return [scans, subscriptions, stopping]
