"""The value every Block Kit builder returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """A message: ``text`` is the plain-text fallback (notifications, screen readers)."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``chat.postMessage`` / ``chat.update`` / ``respond``."""
        return {"text": self.text, "blocks": self.blocks}

    def plain_kwargs(self) -> dict[str, Any]:
        """The plain-text fallback alone: what is sent when Slack refuses the blocks."""
        return {"text": self.text}
