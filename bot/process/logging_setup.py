"""Process logging: text or JSON lines, secrets masked, third-party noise kept down.

``SCANBOT_LOG_FORMAT=text`` (default) writes ``time LEVEL logger: message``;
``SCANBOT_LOG_FORMAT=json`` writes one JSON object per line with ``time``, ``level``,
``logger``, ``message``, the fields of the enclosing :func:`bot.process.logcontext.log_context`
(``channel``, ``user``, ``image``, ``watch_id``, ``thread``…) and any ``extra=`` fields
(``outcome``, ``duration_ms``…).  Either way a filter masks anything shaped like a token and
every Slack ``response_url`` (a link that lets anyone post to the channel), and another writes
line breaks and other control characters in a message as escapes (``\\n``), so text from
outside (an image name, a console error) cannot forge a log line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bot.process.logcontext import RECORD_ATTRIBUTE, ContextFieldsFilter

_SECRET = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)"
)
# A response_url is a bearer credential for 30 minutes: the link itself, and any value given
# under that name (quoted JSON/Python repr, or key=value), whatever host it names.
_HOOK_URL = re.compile(r"https?://hooks\.slack(?:-gov)?\.com/[^\s'\"<>),]*", re.IGNORECASE)
_RESPONSE_URL_VALUE = re.compile(
    r"""(response_url['"]?\s*[:=]\s*)(?:(['"])[^'"]*\2|[^\s,&}]+)""", re.IGNORECASE
)
_URL_ENCODED_RESPONSE_URL = re.compile(r"(response_url=)[^&\s]+", re.IGNORECASE)

# The attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)
# bolt says this once at start when given both a client and a token; scanbot passes only a
# client carrying the token, so it is noise.
_BOLT_TOKEN_NOTICE = "As you gave `client` as well, `token` will be unused"  # noqa: S105
_NOISY_LOGGERS = ("httpx", "httpcore", "slack_sdk", "slack_bolt", "apscheduler", "waitress")
_ALEMBIC_LOGGERS = ("alembic", "alembic.runtime.migration", "alembic.runtime.plugins")


def mask_secrets(text: str) -> str:
    """Replace Slack tokens, Authorization values, JWTs and response_url links with ``***``."""
    text = _SECRET.sub("***", text)
    text = _URL_ENCODED_RESPONSE_URL.sub(r"\1***", text)
    text = _RESPONSE_URL_VALUE.sub(lambda m: f"{m.group(1)}{_quoted_mask(m)}", text)
    return _HOOK_URL.sub("https://hooks.slack.com/***", text)


def _quoted_mask(match: re.Match[str]) -> str:
    quote = match.group(2) or ""
    return f"{quote}***{quote}"


class SecretMaskingFilter(logging.Filter):
    """Defence in depth: scanbot never logs secrets, and this catches any that slip through.

    Masks the formatted message, the exception text and every ``extra=`` string field.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, mask_secrets(value))
        return True


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def escape_controls(text: str) -> str:
    """Line breaks and other control characters (not tab) as escapes: one line stays one."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class OneLineFilter(logging.Filter):
    """A message is one line: outside text with a line break cannot start a forged one."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = escape_controls(message)
        if escaped != message:
            record.msg, record.args = escaped, None
        return True


class BoltNoiseFilter(logging.Filter):
    """Drops bolt's start-up notice that ``token`` is unused when ``client`` is given."""

    def filter(self, record: logging.LogRecord) -> bool:
        return _BOLT_TOKEN_NOTICE not in record.getMessage()


class MaskingTextFormatter(logging.Formatter):
    """The text format, with tracebacks masked too (they may quote a request)."""

    def formatException(self, ei: logging._SysExcInfoType) -> str:  # noqa: N802 - stdlib name
        return mask_secrets(super().formatException(ei))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_secrets(record.getMessage()),
        }
        extras = {
            key: value
            for key, value in record.__dict__.items()
            if key not in _STANDARD_ATTRS and key != RECORD_ATTRIBUTE
        }
        context = getattr(record, RECORD_ATTRIBUTE, None) or {}
        for key, value in {**context, **extras}.items():  # ``extra=`` wins over the context
            if key not in payload:
                payload[key] = _jsonable(value)
        if record.exc_info:
            payload["exception"] = mask_secrets(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return mask_secrets(str(value))


class QueueDepthSummary(logging.Filter):
    """waitress says "Task queue depth is N" for every request that finds all its worker
    threads busy: a line a request through a burst of slash commands, and writing each
    costs the requests behind it.  This lets one through a minute at most, saying how
    often requests waited since the last one and how deep the queue got."""

    def __init__(self, *, every: float = 60.0, monotonic: Callable[[], float] = time.monotonic):
        super().__init__()
        self._every = every
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._waited = 0
        self._deepest = 0
        self._said_at: float | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        depth = next((a for a in record.args or () if isinstance(a, int)), 0)
        now = self._monotonic()
        with self._lock:
            self._waited += 1
            self._deepest = max(self._deepest, depth)
            if self._said_at is not None and now - self._said_at < self._every:
                return False
            waited, deepest = self._waited, self._deepest
            self._waited = self._deepest = 0
            self._said_at = now
        record.msg = (
            "%d HTTP request(s) waited for a free worker thread since the last notice; "
            "queue up to %d deep"
        )
        record.args = (waited, deepest)
        return True


def build_handler(log_format: str = "text") -> logging.Handler:
    """A stderr handler in ``log_format`` (``text`` or ``json``) with the filters attached."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            MaskingTextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    handler.addFilter(ContextFieldsFilter())
    handler.addFilter(SecretMaskingFilter())
    handler.addFilter(OneLineFilter())
    handler.addFilter(BoltNoiseFilter())
    return handler


def configure_logging(level: str, log_format: str = "text") -> None:
    """Route every log record to one stderr handler; quiet third-party loggers."""
    root = logging.getLogger()
    root.handlers[:] = [build_handler(log_format)]
    root.setLevel(level.upper())
    # Third-party libraries log every request at INFO/DEBUG; scanbot logs its own summary.
    quiet = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    for noisy in _NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(quiet)
    # "skipped: maximum number of running instances" every second of a long cycle: the
    # scheduler module says it once a minute instead (bot.watcher.scheduler.SkippedRuns).
    logging.getLogger("apscheduler.scheduler").setLevel(max(quiet, logging.ERROR))
    # Alembic prints "setup plugin …" and "Will assume transactional DDL" at every start.
    for name in _ALEMBIC_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    queue = logging.getLogger("waitress.queue")
    for old in [f for f in queue.filters if isinstance(f, QueueDepthSummary)]:
        queue.removeFilter(old)
    queue.addFilter(QueueDepthSummary())


def print_fatal(message: str, *, log_format: str = "text") -> None:
    """A failure that stops the process before or outside logging, on stderr: one
    ``scanbot: message`` line, or in the JSON format one JSON object (``level`` ``CRITICAL``,
    ``outcome`` ``failed``) a log collector parses like every other line.  Masked."""
    text = mask_secrets(message)
    if log_format.strip().lower() == "json":
        payload = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "CRITICAL",
            "logger": "scanbot",
            "message": text,
            "outcome": "failed",
        }
        print(json.dumps(payload, ensure_ascii=False), file=sys.stderr, flush=True)
    else:
        print(f"scanbot: {text}", file=sys.stderr, flush=True)
