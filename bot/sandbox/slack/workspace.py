"""The in-memory Slack workspace behind :class:`bot.sandbox.slack.api.SlackApiStandIn`.

It implements the semantics of the Web API methods scanbot uses — channel membership,
top-level messages, thread replies, edits, ephemeral messages, message metadata — on
plain dicts, with no HTTP and no locking (the stand-in serialises calls).  A method
failure raises :class:`SlackMethodError` carrying Slack's error string.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from typing import Any

Message = dict[str, Any]

#: Limits Slack enforces (https://docs.slack.dev/reference/block-kit/blocks).
MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_HOME_BLOCKS = 100  # a Home tab view holds up to 100 blocks
_SECTION_TEXT_MAX = 3000
_HEADER_TEXT_MAX = 150
_BUTTON_TEXT_MAX = 75
_BUTTON_VALUE_MAX = 2000


class SlackMethodError(Exception):
    """A method answered ``{"ok": false, "error": error}``."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def flag(params: dict[str, Any], name: str) -> bool:
    """A boolean parameter as Slack reads it from JSON (``true``) or a form (``"1"``/``"true"``)."""
    return params.get(name) in (True, 1, "1", "true", "True")


def _number(params: dict[str, Any], name: str, default: float) -> float:
    value = params.get(name)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SlackMethodError("invalid_arguments") from None


def _text_len(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, dict) else 0


def _one_block_problem(index: int, block: Any) -> str | None:
    kind = block.get("type") if isinstance(block, dict) else None
    if not isinstance(kind, str):
        return f"block {index} has no type"
    problems = {
        f"section block {index} has neither text nor fields": kind == "section"
        and "text" not in block
        and "fields" not in block,
        f"section block {index} text is longer than {_SECTION_TEXT_MAX}": kind == "section"
        and _text_len(block.get("text")) > _SECTION_TEXT_MAX,
        f"header block {index} text is longer than {_HEADER_TEXT_MAX}": kind == "header"
        and _text_len(block.get("text")) > _HEADER_TEXT_MAX,
    }
    buttons = [
        e
        for e in (block.get("elements", []) if kind == "actions" else [])
        if isinstance(e, dict) and e.get("type") == "button"
    ]
    for button in buttons:
        problems[f"button in block {index} has text longer than {_BUTTON_TEXT_MAX}"] = (
            _text_len(button.get("text")) > _BUTTON_TEXT_MAX
        )
        problems[f"button in block {index} has a value longer than {_BUTTON_VALUE_MAX}"] = (
            len(str(button.get("value", ""))) > _BUTTON_VALUE_MAX
        )
    return next((problem for problem, bad in problems.items() if bad), None)


def block_problem(blocks: Any) -> str | None:
    """Why Slack would answer ``invalid_blocks`` for ``blocks``, or ``None`` if it would not."""
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return f"blocks must be a list of at most {MAX_BLOCKS} blocks"
    return next(
        (p for i, b in enumerate(blocks) if (p := _one_block_problem(i, b)) is not None), None
    )


class SlackWorkspace:
    """Channels and messages of one workspace in which one bot posts."""

    def __init__(self, *, team_id: str, bot_user_id: str, bot_id: str, app_id: str) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.not_in_channel: set[str] = set()
        self.missing_channels: set[str] = set()
        self.archived_channels: set[str] = set()
        self.deleted_users: set[str] = set()
        self._top: dict[str, list[Message]] = {}
        self._replies: dict[tuple[str, str], list[Message]] = {}
        self._by_ts: dict[tuple[str, str], Message] = {}
        self._ephemeral: list[Message] = []
        self._last_us = 0
        self.methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "conversations.history": self._history,
            "conversations.replies": self._replies_of,
            "conversations.join": self._join,
            "conversations.info": self._info,
            "users.info": self._user_info,
            "views.publish": self._publish,
        }
        self._home: dict[str, list[dict[str, Any]]] = {}

    # --- state seen by tests ---------------------------------------------------------

    def messages(self, channel: str) -> list[Message]:
        """Top-level messages of ``channel`` as they are now, oldest first."""
        return copy.deepcopy(self._top.get(channel, []))

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Replies in the thread under ``ts`` in ``channel``, oldest first."""
        return copy.deepcopy(self._replies.get((channel, ts), []))

    def ephemeral(self, channel: str, user: str | None = None) -> list[Message]:
        """Ephemeral messages posted in ``channel`` (to ``user`` only, if given), oldest first."""
        return copy.deepcopy(
            [
                m
                for m in self._ephemeral
                if m["channel"] == channel and (user is None or m["to_user"] == user)
            ]
        )

    def home_views(self, user: str) -> list[dict[str, Any]]:
        """The Home tab views published for ``user`` with ``views.publish``, oldest first."""
        return copy.deepcopy(self._home.get(user, []))

    def clear(self) -> None:
        """Forget every message (channel configuration is kept)."""
        self._home.clear()
        self._top.clear()
        self._replies.clear()
        self._by_ts.clear()
        self._ephemeral.clear()

    # --- helpers ---------------------------------------------------------------------

    def _next_ts(self) -> str:
        """A unique, increasing message timestamp close to the wall clock."""
        self._last_us = max(int(time.time() * 1_000_000), self._last_us + 1)
        return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"

    def _channel(self, params: dict[str, Any], *, member: bool = True, post: bool = False) -> str:
        channel = params.get("channel")
        if not isinstance(channel, str) or not channel or channel in self.missing_channels:
            raise SlackMethodError("channel_not_found")
        if post and channel in self.archived_channels:
            raise SlackMethodError("is_archived")
        if member and channel in self.not_in_channel:
            raise SlackMethodError("not_in_channel")
        return channel

    def _content(self, params: dict[str, Any], *, required: bool) -> dict[str, Any]:
        """Validated ``text`` / ``blocks`` / ``metadata`` present in ``params``."""
        content: dict[str, Any] = {}
        if params.get("text") not in (None, ""):
            content["text"] = str(params["text"])
            if len(content["text"]) > MAX_TEXT:
                raise SlackMethodError("msg_too_long")
        if "blocks" in params:
            if block_problem(params["blocks"]) is not None:
                raise SlackMethodError("invalid_blocks")
            content["blocks"] = params["blocks"]
        if "metadata" in params:
            meta = params["metadata"]
            if not (
                isinstance(meta, dict)
                and isinstance(meta.get("event_type"), str)
                and isinstance(meta.get("event_payload"), dict)
            ):
                raise SlackMethodError("invalid_metadata_format")
            content["metadata"] = meta
        if required and not content.get("text") and not content.get("blocks"):
            raise SlackMethodError("no_text")
        return content

    def _bot_message(self, ts: str, content: dict[str, Any]) -> Message:
        message: Message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": "",
            "ts": ts,
        }
        message.update(copy.deepcopy(content))
        return message

    def _channel_info(self, channel: str) -> dict[str, Any]:
        return {
            "id": channel,
            "name": f"chan-{channel.lower()}",
            "is_channel": True,
            "is_private": False,
            "is_archived": channel in self.archived_channels,
            "is_member": channel not in self.not_in_channel,
            "created": 1_700_000_000,
        }

    @staticmethod
    def _page(
        items: list[Message], params: dict[str, Any], include_metadata: bool
    ) -> dict[str, Any]:
        """Filter by ``oldest``/``latest``/``inclusive``, paginate by ``limit``/``cursor``."""
        oldest = _number(params, "oldest", 0.0)
        latest = _number(params, "latest", float("inf"))
        inclusive = flag(params, "inclusive")
        selected = [
            m
            for m in items
            if (oldest <= float(m["ts"]) <= latest)
            and (inclusive or float(m["ts"]) not in (oldest, latest))
        ]
        limit = int(_number(params, "limit", 100)) or 100
        cursor = str(params.get("cursor") or "offset:0")
        if not cursor.startswith("offset:") or not cursor[7:].isdigit():
            raise SlackMethodError("invalid_cursor")
        start = int(cursor[7:])
        page = copy.deepcopy(selected[start : start + limit])
        if not include_metadata:
            for message in page:
                message.pop("metadata", None)
        more = start + limit < len(selected)
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": f"offset:{start + limit}" if more else ""},
        }

    # --- methods ---------------------------------------------------------------------

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        del params
        return {
            "ok": True,
            "url": "https://scanbot-test.slack.com/",
            "team": "Scanbot Test",
            "user": "scanbot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params, post=True)
        content = self._content(params, required=True)
        ts = self._next_ts()
        message = self._bot_message(ts, content)
        thread_ts = params.get("thread_ts")
        if thread_ts:
            thread_ts = str(thread_ts)
            message["thread_ts"] = thread_ts
            message["parent_user_id"] = self.bot_user_id
            replies = self._replies.setdefault((channel, thread_ts), [])
            replies.append(message)
            parent = self._by_ts.get((channel, thread_ts))
            if parent is not None:
                parent.update(
                    thread_ts=thread_ts,
                    reply_count=len(replies),
                    reply_users=[self.bot_user_id],
                    reply_users_count=1,
                    latest_reply=ts,
                )
        else:
            self._top.setdefault(channel, []).append(message)
        self._by_ts[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params, member=False, post=True)
        message = self._by_ts.get((channel, str(params.get("ts", ""))))
        if message is None:
            raise SlackMethodError("message_not_found")
        content = self._content(params, required=False)
        if not content:
            raise SlackMethodError("no_text")
        message.update(copy.deepcopy(content))
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": message["ts"],
            "text": message["text"],
            "message": copy.deepcopy(message),
        }

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params, post=True)
        if not params.get("user"):
            raise SlackMethodError("user_not_in_channel")
        ts = self._next_ts()
        message = self._bot_message(ts, self._content(params, required=True))
        message.update(channel=channel, to_user=str(params["user"]))
        self._ephemeral.append(message)
        return {"ok": True, "message_ts": ts}

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        newest_first = list(reversed(self._top.get(channel, [])))
        return self._page(newest_first, params, flag(params, "include_all_metadata"))

    def _replies_of(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        ts = str(params.get("ts", ""))
        message = self._by_ts.get((channel, ts))
        if message is None:
            raise SlackMethodError("thread_not_found")
        thread = [message]
        if message.get("thread_ts", ts) == ts:
            thread += self._replies.get((channel, ts), [])
        return self._page(thread, params, flag(params, "include_all_metadata"))

    def _join(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params, member=False)
        self.not_in_channel.discard(channel)
        return {"ok": True, "channel": self._channel_info(channel)}

    def _info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params, member=False)
        return {"ok": True, "channel": self._channel_info(channel)}

    def _user_info(self, params: dict[str, Any]) -> dict[str, Any]:
        """Every well-formed user id exists; those in ``deleted_users`` were deactivated."""
        user = str(params.get("user") or "")
        if not user.startswith(("U", "W")) or not user[1:].isalnum():
            raise SlackMethodError("user_not_found")
        return {
            "ok": True,
            "user": {
                "id": user,
                "team_id": self.team_id,
                "name": user.lower(),
                "deleted": user in self.deleted_users,
                "is_bot": user == self.bot_user_id,
            },
        }

    def _publish(self, params: dict[str, Any]) -> dict[str, Any]:
        """``views.publish``: a Home tab view (``type: home``, at most 100 blocks) for a user."""
        user = params.get("user_id")
        if not isinstance(user, str) or not user:
            raise SlackMethodError("invalid_arguments")
        view = params.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError:
                raise SlackMethodError("invalid_arguments") from None
        if not isinstance(view, dict) or view.get("type") != "home":
            raise SlackMethodError("invalid_arguments")
        blocks = view.get("blocks")
        if not isinstance(blocks, list) or len(blocks) > MAX_HOME_BLOCKS:
            raise SlackMethodError("invalid_blocks")
        if block_problem(blocks[:MAX_BLOCKS]) or block_problem(blocks[MAX_BLOCKS:]):
            raise SlackMethodError("invalid_blocks")
        self._home.setdefault(user, []).append(copy.deepcopy(view))
        return {"ok": True, "view": {"id": f"V{len(self._home[user]):08d}", **view}}
